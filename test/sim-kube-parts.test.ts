import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildPod } from '../sim/kube/builders.ts';
import { decodeContinue, encodeContinue } from '../sim/kube/continue-token.ts';
import { jsonPathValue } from '../sim/kube/crd.ts';
import { qualifiedNameErrors } from '../sim/kube/event-strategy.ts';
import { EventLog } from '../sim/kube/event-log.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from '../sim/kube/patch.ts';
import { podFields, podPatchSchema } from '../sim/kube/pod-strategy.ts';
import { PODS } from '../sim/kube/resources.ts';
import { applyDefaults, type JsonSchema, prune, validate } from '../sim/kube/schema.ts';
import { parseFieldSelector, parseLabelSelector } from '../sim/kube/selectors.ts';
import { SortedKeys } from '../sim/kube/sorted-keys.ts';
import { StatusError } from '../sim/kube/status.ts';
import { toStored } from '../sim/kube/stored.ts';
import { humanDuration } from '../sim/kube/printing.ts';
import { toTable } from '../sim/kube/table.ts';
import type { PodJson } from '../sim/kube/types.ts';
import { type WriteRecord, WriteLog } from '../sim/kube/write-log.ts';

function statusOf(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError);
    return { code: err.code, reason: err.reason, message: err.message };
  }
  assert.fail('expected a StatusError');
}

describe('label selectors', () => {
  const labels = { app: 'api', tier: 'back', version: '3' };
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['app=api', true],
    ['app==api', true],
    ['app=web', false],
    ['app!=web', true],
    ['missing!=x', true],
    ['app in (web,api)', true],
    ['app in (web)', false],
    ['app notin (web)', true],
    ['missing notin (web)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['version>2', true],
    ['version<2', false],
    ['app=api,tier=back', true],
    ['app=api,tier=front', false],
    [' app = api , tier in ( back ) ', true],
    ['app=', false],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), expected);
    });
  }

  for (const bad of ['app in (a', 'app in a', '=x', 'app=a b', 'Bad Key=x', 'v>x']) {
    it(`rejects "${bad}" with 400`, () => {
      assert.equal(statusOf(() => parseLabelSelector(bad)).code, 400);
    });
  }
});

describe('field selectors', () => {
  const pod = buildPod({
    namespace: 'shop',
    name: 'a,b',
    containers: [{ name: 'c', image: 'x' }],
    nodeName: 'n1',
  });
  const cases: Array<[string, boolean]> = [
    ['metadata.namespace=shop', true],
    ['metadata.namespace!=shop', false],
    ['metadata.name=a\\,b', true],
    ['spec.nodeName=n1,status.phase=Running', true],
    ['spec.nodeName=', false],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseFieldSelector(selector, podFields).matches(pod), expected);
    });
  }

  it('rejects a field the resource does not index with 400, as the API server does', () => {
    assert.deepEqual(
      statusOf(() => parseFieldSelector('spec.containers=x', podFields)),
      {
        code: 400,
        reason: 'BadRequest',
        message: 'field label not supported: spec.containers',
      },
    );
  });
});

describe('merge patch (RFC 7386)', () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      assert.deepEqual(mergePatch(target, patch), expected);
    });
  }
});

describe('JSON patch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, list: [1, 2, 3] };
  const cases: Array<[string, unknown[], unknown]> = [
    [
      'add to an object',
      [{ op: 'add', path: '/metadata/labels/b', value: '2' }],
      { metadata: { labels: { a: '1', b: '2' } }, list: [1, 2, 3] },
    ],
    [
      'add to the end of a list',
      [{ op: 'add', path: '/list/-', value: 4 }],
      { metadata: { labels: { a: '1' } }, list: [1, 2, 3, 4] },
    ],
    [
      'insert into a list',
      [{ op: 'add', path: '/list/0', value: 0 }],
      { metadata: { labels: { a: '1' } }, list: [0, 1, 2, 3] },
    ],
    ['remove', [{ op: 'remove', path: '/list/1' }], { metadata: { labels: { a: '1' } }, list: [1, 3] }],
    [
      'replace',
      [{ op: 'replace', path: '/metadata/labels/a', value: 'x' }],
      { metadata: { labels: { a: 'x' } }, list: [1, 2, 3] },
    ],
    [
      'move',
      [{ op: 'move', from: '/metadata/labels/a', path: '/a' }],
      { metadata: { labels: {} }, list: [1, 2, 3], a: '1' },
    ],
    [
      'copy',
      [{ op: 'copy', from: '/list/0', path: '/first' }],
      { metadata: { labels: { a: '1' } }, list: [1, 2, 3], first: 1 },
    ],
    ['a passing test', [{ op: 'test', path: '/list/2', value: 3 }], doc],
  ];
  for (const [name, ops, expected] of cases) {
    it(name, () => {
      assert.deepEqual(jsonPatch(doc, ops), expected);
      assert.deepEqual(doc, { metadata: { labels: { a: '1' } }, list: [1, 2, 3] }, 'the input is untouched');
    });
  }

  for (const [name, ops] of [
    ['a failing test', [{ op: 'test', path: '/list/0', value: 9 }]],
    ['a missing path', [{ op: 'replace', path: '/nope', value: 1 }]],
    ['an index out of range', [{ op: 'remove', path: '/list/7' }]],
  ] as const) {
    it(`answers ${name} with 422`, () => {
      assert.equal(statusOf(() => jsonPatch(doc, ops)).code, 422);
    });
  }
});

describe('strategic merge patch', () => {
  const pod = {
    metadata: { finalizers: ['a'], labels: { x: '1' } },
    spec: {
      containers: [
        { name: 'app', image: 'v1', env: [{ name: 'A', value: '1' }] },
        { name: 'side', image: 's1' },
      ],
      tolerations: [{ key: 'k1' }],
    },
  };
  const cases: Array<[string, unknown, unknown]> = [
    [
      'merges containers by name and their env by name',
      { spec: { containers: [{ name: 'app', image: 'v2', env: [{ name: 'B', value: '2' }] }] } },
      {
        ...pod,
        spec: {
          ...pod.spec,
          containers: [
            {
              name: 'app',
              image: 'v2',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'side', image: 's1' },
          ],
        },
      },
    ],
    [
      'deletes a list element with $patch: delete',
      { spec: { containers: [{ name: 'side', $patch: 'delete' }] } },
      { ...pod, spec: { ...pod.spec, containers: [pod.spec.containers[0]] } },
    ],
    [
      'replaces a whole list with a $patch: replace element',
      { spec: { containers: [{ name: 'only', image: 'o' }, { $patch: 'replace' }] } },
      { ...pod, spec: { ...pod.spec, containers: [{ name: 'only', image: 'o' }] } },
    ],
    [
      'replaces a list without a merge key',
      { spec: { tolerations: [{ key: 'k2' }] } },
      { ...pod, spec: { ...pod.spec, tolerations: [{ key: 'k2' }] } },
    ],
    [
      'merges finalizers as a set',
      { metadata: { finalizers: ['b', 'a'] } },
      { ...pod, metadata: { ...pod.metadata, finalizers: ['a', 'b'] } },
    ],
    [
      'removes from a primitive list with $deleteFromPrimitiveList',
      { metadata: { $deleteFromPrimitiveList$finalizers: ['a'] } },
      { ...pod, metadata: { ...pod.metadata, finalizers: [] } },
    ],
    [
      'replaces a map with $patch: replace',
      { metadata: { labels: { y: '2', $patch: 'replace' } } },
      { ...pod, metadata: { ...pod.metadata, labels: { y: '2' } } },
    ],
    [
      'orders a merged list as $setElementOrder says',
      { spec: { $setElementOrder$containers: [{ name: 'side' }, { name: 'app' }] } },
      { ...pod, spec: { ...pod.spec, containers: [pod.spec.containers[1], pod.spec.containers[0]] } },
    ],
  ];
  for (const [name, rawPatch, expected] of cases) {
    it(name, () => {
      // `$` directives with a slash cannot be object keys in a literal test table comfortably.
      const patch = JSON.parse(
        JSON.stringify(rawPatch)
          .replaceAll('$deleteFromPrimitiveList$', '$deleteFromPrimitiveList/')
          .replaceAll('$setElementOrder$', '$setElementOrder/'),
      );
      assert.deepEqual(strategicMergePatch(pod, patch, podPatchSchema), expected);
    });
  }
});

describe('sorted key index', () => {
  it('iterates in order from any point, whatever the sequence of inserts and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { maxLength: 2500 }),
        fc.integer({ min: 0, max: 3000 }),
        (ops, from) => {
          const index = new SortedKeys();
          const model = new Set<string>();
          const key = (n: number) => `ns/${String(n).padStart(5, '0')}`;
          for (const [add, n] of ops) {
            if (add) assert.equal(index.add(key(n)), !model.has(key(n)));
            else assert.equal(index.delete(key(n)), model.has(key(n)));
            if (add) model.add(key(n));
            else model.delete(key(n));
          }
          const expected = [...model].sort().filter((k) => k >= key(from));
          assert.deepEqual([...index.range(key(from))], expected);
          assert.equal(index.size, model.size);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('bulk-adds thousands of keys with one sort and stops at the end bound', () => {
    const index = new SortedKeys();
    index.add('b/0');
    index.addMany(Array.from({ length: 5000 }, (_, i) => `a/${String(i).padStart(4, '0')}`));
    assert.equal(index.size, 5001);
    assert.deepEqual([...index.range('a/4998', 'b')], ['a/4998', 'a/4999']);
  });
});

describe('continue tokens', () => {
  it('round-trips in the API server format', () => {
    const token = encodeContinue({ rv: 42, start: 'pod-a\u0000' });
    assert.deepEqual(JSON.parse(Buffer.from(token, 'base64url').toString()), {
      v: 'meta.k8s.io/v1',
      rv: 42,
      start: 'pod-a\u0000',
    });
    assert.deepEqual(decodeContinue(token), { rv: 42, start: 'pod-a\u0000' });
  });

  for (const [name, payload] of [
    ['garbage', 'not-base64-json'],
    ['a path escape', encodeContinue({ rv: 1, start: '../secrets/x' })],
    ['a foreign version', Buffer.from(JSON.stringify({ v: 'x', rv: 1, start: 'a' })).toString('base64url')],
  ] as const) {
    it(`rejects ${name} with 400`, () => {
      assert.equal(statusOf(() => decodeContinue(payload)).code, 400);
    });
  }
});

describe('event history', () => {
  it('keeps the newest events and moves its start past what it evicts', () => {
    const log = new EventLog(3, 0);
    const stored = toStored({ metadata: { name: 'x' } }, 1);
    for (let rv = 1; rv <= 5; rv++) {
      log.append({ rv, type: 'ADDED', key: 'x', namespace: '', object: stored, prev: undefined });
    }
    assert.equal(log.startRv, 2);
    assert.deepEqual(
      log.since(3).map((e) => e.rv),
      [4, 5],
    );
    log.truncate(4);
    assert.equal(log.startRv, 4);
    assert.deepEqual(
      log.since(4).map((e) => e.rv),
      [5],
    );
  });
});

describe('server-side printing', () => {
  const cases: Array<[string, number, string]> = [
    ['0s', 0, '0s'],
    ['seconds', 119_000, '119s'],
    ['minutes and seconds', 150_000, '2m30s'],
    ['minutes', 30 * 60_000, '30m'],
    ['hours and minutes', 3.5 * 3_600_000, '3h30m'],
    ['hours', 20 * 3_600_000, '20h'],
    ['days and hours', 50 * 3_600_000, '2d2h'],
    ['days', 30 * 86_400_000, '30d'],
    ['years and days', 800 * 86_400_000, '2y70d'],
  ];
  for (const [name, ms, text] of cases) {
    it(`prints an age of ${name} as ${text}`, () => {
      assert.equal(humanDuration(ms), text);
    });
  }

  const now = Date.parse('2026-01-01T00:10:00Z');
  const created = '2026-01-01T00:00:00Z';
  function statusColumn(pod: PodJson): unknown {
    const table = toTable(
      PODS,
      [toStored(pod, 1)],
      { rv: 1 },
      { version: 'v1', query: new URLSearchParams(), now },
    ) as {
      rows: Array<{ cells: unknown[] }>;
    };
    return table.rows[0]?.cells.slice(1, 5);
  }
  const base = (extra: Partial<Parameters<typeof buildPod>[0]> = {}) =>
    buildPod({
      namespace: 'ns',
      name: 'p',
      containers: [{ name: 'c', image: 'x:1' }],
      nodeName: 'n',
      creationTimestamp: created,
      ...extra,
    });

  it('prints a running pod', () => {
    assert.deepEqual(statusColumn(base()), ['1/1', 'Running', '0', '10m']);
  });

  it('prints a pod waiting in init', () => {
    const pod = base({ initContainers: [{ name: 'i', image: 'x:1' }], phase: 'Pending' });
    assert.deepEqual(statusColumn(pod), ['0/1', 'Init:0/1', '0', '10m']);
  });

  it('prints a crash-looping container with its restarts', () => {
    const pod = base();
    const crashing = structuredClone(pod);
    const status = crashing.status?.containerStatuses?.[0];
    assert.ok(status);
    status.ready = false;
    status.restartCount = 4;
    status.state = { waiting: { reason: 'CrashLoopBackOff' } };
    status.lastState = { terminated: { exitCode: 1, finishedAt: '2026-01-01T00:09:00Z' } };
    assert.deepEqual(statusColumn(crashing), ['0/1', 'CrashLoopBackOff', '4 (60s ago)', '10m']);
  });

  it('prints a pod being deleted as Terminating', () => {
    const pod = base();
    pod.metadata.deletionTimestamp = '2026-01-01T00:09:00Z';
    assert.equal((statusColumn(pod) as unknown[])[1], 'Terminating');
  });

  it('prints a completed pod', () => {
    assert.deepEqual(statusColumn(base({ phase: 'Succeeded' })), ['0/1', 'Completed', '0', '10m']);
  });
});

describe('write log', () => {
  const record = (at: number, verb = 'create'): WriteRecord => ({
    at,
    verb,
    group: 'events.k8s.io',
    version: 'v1',
    resource: 'events',
    namespace: 'default',
    name: `e${at}`,
    code: 201,
  });

  const bursts: Array<[string, number[], number, number]> = [
    ['no writes', [], 1000, 0],
    ['writes at one instant', [5, 5, 5], 1, 3],
    ['a window that excludes its end', [0, 1000], 1000, 1],
    ['a burst in the middle of a steady rate', [0, 500, 1000, 1100, 1200, 1300, 2000], 1000, 5],
    ['writes logged out of arrival order', [1300, 0, 1100, 1200], 300, 3],
  ];
  for (const [name, times, windowMs, max] of bursts) {
    it(`finds the largest burst of ${name}`, () => {
      const log = new WriteLog(100);
      for (const at of times) log.add(record(at));
      assert.equal(log.maxInWindow(windowMs), max);
    });
  }

  it('counts per window from the first write, empty windows included', () => {
    const log = new WriteLog(100);
    for (const at of [10, 20, 2500, 2600]) log.add(record(at));
    log.add(record(30, 'patch'));
    assert.deepEqual(log.perWindow(1000, { verb: 'create' }), [
      { start: 10, count: 2 },
      { start: 1010, count: 0 },
      { start: 2010, count: 2 },
    ]);
    assert.deepEqual(log.perWindow(1000, {}, 0), [
      { start: 0, count: 3 },
      { start: 1000, count: 0 },
      { start: 2000, count: 2 },
    ]);
  });

  it('forgets the oldest records past its limit and counts them', () => {
    const log = new WriteLog(3);
    for (let at = 0; at < 10; at++) log.add(record(at));
    assert.deepEqual(
      log.list().map((r) => r.at),
      [7, 8, 9],
    );
    assert.equal(log.dropped, 7);
  });
});

describe('custom resource schemas', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['size'],
        properties: {
          size: { type: 'integer', minimum: 1, maximum: 5 },
          ratio: { type: 'number' },
          mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
          name: { type: 'string', maxLength: 3, pattern: '^[a-z]+$' },
          tags: { type: 'array', maxItems: 2, items: { type: 'string' } },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          port: { 'x-kubernetes-int-or-string': true },
        },
      },
    },
  };

  const cases: Array<[string, unknown, string[]]> = [
    ['a valid object', { size: 2, ratio: 1, name: 'ab', port: 'http' }, []],
    ['a missing required field', {}, ['spec.size']],
    ['a fraction where an integer goes', { size: 1.5 }, ['spec.size']],
    ['a number under its minimum', { size: 0 }, ['spec.size']],
    ['a string too long and off its pattern', { size: 1, name: 'ABCD' }, ['spec.name', 'spec.name']],
    ['too many items', { size: 1, tags: ['a', 'b', 'c'] }, ['spec.tags']],
    ['a map value of the wrong type', { size: 1, labels: { a: 1 } }, ['spec.labels.a']],
    ['a null where null is not allowed', { size: 1, name: null }, ['spec.name']],
    ['a boolean for an int-or-string', { size: 1, port: true }, ['spec.port']],
  ];
  for (const [name, spec, fields] of cases) {
    it(`names the fields of ${name}`, () => {
      const errors = validate({ spec }, schema);
      assert.deepEqual(
        errors.map((e) => e.field),
        fields,
      );
    });
  }

  it('prunes undeclared fields except where the schema keeps them, and reports their paths', () => {
    const obj = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'x' },
      extra: 1,
      spec: { size: 1, bogus: true, free: { anything: [1] }, labels: { a: 'b' }, tags: ['t'] },
    };
    const unknown: string[] = [];
    prune(obj, schema, '', unknown);
    assert.deepEqual(unknown, ['extra', 'spec.bogus']);
    assert.deepEqual(obj, {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'x' },
      spec: { size: 1, free: { anything: [1] }, labels: { a: 'b' }, tags: ['t'] },
    });
    applyDefaults(obj, schema);
    assert.equal((obj.spec as { mode?: string }).mode, 'a');
  });

  it('reads printer-column paths, missing ones as undefined', () => {
    const obj = { status: { conditions: [{ type: 'Ready' }] }, 'a.b': 1, m: { 'k.x': 2 } };
    assert.equal(jsonPathValue(obj, '.status.conditions[0].type'), 'Ready');
    assert.equal(jsonPathValue(obj, ".m['k.x']"), 2);
    assert.equal(jsonPathValue(obj, '.status.missing'), undefined);
    assert.equal(jsonPathValue(obj, '.status.conditions[?(@.type=="Ready")]'), undefined);
  });
});

describe('event reporting names', () => {
  const cases: Array<[string, number]> = [
    ['ecr-warden.io/controller', 0],
    ['kubelet', 0],
    ['ecr warden', 1],
    ['a/b/c', 1],
    ['/controller', 1],
    ['Example.COM/controller', 1],
    [`${'x'.repeat(64)}`, 1],
  ];
  for (const [value, count] of cases) {
    it(`finds ${count} problem(s) in "${value.slice(0, 30)}" as IsQualifiedName does`, () => {
      assert.equal(qualifiedNameErrors(value).length, count);
    });
  }
});
