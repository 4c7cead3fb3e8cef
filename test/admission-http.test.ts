import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../src/admission/index.ts';
import type { Assessor } from '../src/policy/assessor.ts';
import {
  container,
  IMAGES,
  pod,
  review,
  reviewOf,
  startWebhookFixture,
  TEMPLATE_KINDS,
  type WebhookFixture,
  workload,
} from './helpers/reviews.ts';

const ALL_KINDS = ['Pod', ...TEMPLATE_KINDS] as const;

function withRequest(
  body: Record<string, unknown>,
  change: (request: Record<string, unknown>) => void,
): Record<string, unknown> {
  const copy = structuredClone(body);
  change(copy.request as Record<string, unknown>);
  return copy;
}

describe('the HTTP layer', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({ settings: { webhook: { kinds: [...ALL_KINDS], pinDigests: true } } });
  });
  after(() => f.close());

  const valid = review({ uid: 'uid-1', object: pod([IMAGES.clean]) });
  const malformed: Array<{
    name: string;
    body: unknown;
    contentType?: string;
    status: number;
    uid: string;
    message: string | RegExp;
  }> = [
    { name: 'an empty body', body: '', status: 400, uid: '', message: 'request body is empty' },
    {
      name: 'a text/plain body',
      body: valid,
      contentType: 'text/plain',
      status: 415,
      uid: '',
      message: 'content type "text/plain": expected application/json',
    },
    {
      name: 'a body without content type',
      body: valid,
      contentType: '',
      status: 415,
      uid: '',
      message: 'content type none: expected application/json',
    },
    {
      name: 'malformed JSON',
      body: '{"apiVersion":',
      status: 400,
      uid: '',
      message: /^request body is not valid JSON: /,
    },
    {
      name: 'a JSON array',
      body: [valid],
      status: 400,
      uid: '',
      message: 'expected an AdmissionReview object, got an array',
    },
    {
      name: 'an admission.k8s.io/v1beta1 review',
      body: { ...valid, apiVersion: 'admission.k8s.io/v1beta1' },
      status: 400,
      uid: 'uid-1',
      message: 'apiVersion: expected admission.k8s.io/v1, got "admission.k8s.io/v1beta1"',
    },
    {
      name: 'another kind',
      body: { ...valid, kind: 'ConversionReview' },
      status: 400,
      uid: 'uid-1',
      message: 'kind: expected AdmissionReview, got "ConversionReview"',
    },
    {
      name: 'no request',
      body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      status: 400,
      uid: '',
      message: 'request: missing',
    },
    {
      name: 'no uid',
      body: withRequest(valid, (r) => delete r.uid),
      status: 400,
      uid: '',
      message: 'request.uid: missing',
    },
    {
      name: 'a numeric uid',
      body: withRequest(valid, (r) => (r.uid = 42)),
      status: 400,
      uid: '',
      message: 'request.uid: expected a string, got a number',
    },
    {
      name: 'an unknown operation',
      body: withRequest(valid, (r) => (r.operation = 'PATCH')),
      status: 400,
      uid: 'uid-1',
      message: 'request.operation: expected one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"',
    },
    {
      name: 'containers that are not a list',
      body: withRequest(
        valid,
        (r) => ((r.object as { spec: Record<string, unknown> }).spec.containers = { api: 'x' }),
      ),
      status: 400,
      uid: 'uid-1',
      message: 'request.object.spec.containers: expected an array, got an object',
    },
    {
      name: 'an image that is not a string',
      body: review({
        uid: 'uid-2',
        kind: 'CronJob',
        object: workload('CronJob', { containers: [{ name: 'a', image: 7 as never }] }),
      }),
      status: 400,
      uid: 'uid-2',
      message:
        'request.object.spec.jobTemplate.spec.template.spec.containers[0].image: expected a string, got a number',
    },
  ];

  for (const c of malformed) {
    test(`answers ${c.name} with ${c.status} and a reason`, async () => {
      const contentType = c.contentType ?? 'application/json';
      const reply = await f.client.send('/validate', c.body, { headers: { 'Content-Type': contentType } });
      assert.equal(reply.status, c.status);
      assert.match(String(reply.headers['content-type']), /^application\/json/);
      const body = JSON.parse(reply.text);
      assert.equal(body.apiVersion, 'admission.k8s.io/v1');
      assert.equal(body.kind, 'AdmissionReview');
      assert.equal(body.response.uid, c.uid);
      assert.equal(body.response.allowed, false);
      assert.equal(body.response.status.code, c.status);
      if (typeof c.message === 'string') assert.equal(body.response.status.message, c.message);
      else assert.match(body.response.status.message, c.message);
    });
  }

  test('counts malformed requests as errors of kind other', async () => {
    const counted = f.observer.reviews.length;
    await f.client.send('/mutate', '{');
    assert.deepEqual(
      f.observer.reviews.slice(counted).map(({ webhook, kind, decision }) => ({ webhook, kind, decision })),
      [{ webhook: 'mutate', kind: 'other', decision: 'error' }],
    );
  });

  test('accepts application/json with parameters, and the timeout query the apiserver appends', async () => {
    const reply = await f.client.send('/validate?timeout=10s', valid, {
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.text).response.allowed, true);
  });

  test('answers other paths with 404 and other methods with 405', async () => {
    const missing = await f.client.send('/healthz', valid);
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.text).reason, 'NotFound');
    const get = await f.client.send('/validate', '', { method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
  });

  test('refuses a body over 8 MiB with 413, declared or streamed, and keeps serving', async () => {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20);
    const declared = await f.client.send('/validate', big);
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.connection, 'close');
    assert.equal(
      JSON.parse(declared.text).response.status.message,
      `request body is larger than ${MAX_BODY_BYTES} bytes`,
    );
    const streamed = await f.client.send('/validate', big, { headers: { 'Transfer-Encoding': 'chunked' } });
    assert.equal(streamed.status, 413);
    const next = await f.client.review('/validate', reviewOf('Pod', [IMAGES.clean]));
    assert.equal(next.response.allowed, true);
  });

  test('refuses an oversized body announced with Expect: 100-continue before it is sent', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: f.server.address.port,
        path: '/validate',
        method: 'POST',
        ca: f.certs.ca.cert,
        servername: 'localhost',
        agent: false,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': MAX_BODY_BYTES * 2,
          Expect: '100-continue',
        },
      });
      req.on('continue', () => reject(new Error('the server asked for the body')));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.equal(status, 413);
  });

  test('a body over 8 MiB is not accepted however it is framed: a near-limit review still is', async () => {
    const padding = 'x'.repeat(MAX_BODY_BYTES - 4096);
    const object = {
      ...pod([IMAGES.clean]),
      metadata: { name: 'big', namespace: 'team-a', annotations: { padding } },
    };
    const reply = await f.client.review('/validate', review({ object }));
    assert.equal(reply.status, 200);
    assert.equal(reply.response.allowed, true);
  });
});

describe('a handler that throws', () => {
  test('answers 500 with the uid, counts an error, and the server goes on', async () => {
    const broken = {
      assess: () => Promise.reject(new Error('assessor exploded')),
    } as unknown as Assessor;
    const f = await startWebhookFixture({ assessor: broken, settings: { webhook: { pinDigests: true } } });
    try {
      // Two images: every failed assessment must be handled, not only the first one awaited.
      const sent = reviewOf('Pod', [IMAGES.clean, IMAGES.critical], { uid: 'uid-boom' });
      const reply = await f.client.send('/validate', sent);
      assert.equal(reply.status, 500);
      const { response } = JSON.parse(reply.text);
      assert.equal(response.uid, 'uid-boom');
      assert.equal(response.allowed, false);
      assert.equal(response.status.code, 500);
      assert.equal(
        response.status.message,
        `internal error judging the request; the webhook's log has the cause`,
      );
      const mutated = await f.client.send('/mutate', sent);
      assert.equal(mutated.status, 500);
      assert.equal(JSON.parse(mutated.text).response.uid, 'uid-boom');
      assert.deepEqual(
        f.observer.reviews.map((r) => `${r.webhook} ${r.kind} ${r.decision}`),
        ['validate Pod error', 'mutate Pod error'],
      );
      const exempt = await f.client.review(
        '/validate',
        reviewOf('Pod', [IMAGES.clean], { namespace: 'kube-system' }),
      );
      assert.equal(exempt.response.allowed, true);
    } finally {
      await f.close();
    }
  });
});

describe('fuzzing /validate and /mutate with malformed bodies', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({ settings: { webhook: { kinds: [...ALL_KINDS], pinDigests: true } } });
  });
  after(() => f.close());

  const EXPECTED_STATUSES = new Set([200, 400, 413, 415]);
  const RUNS = 1_000;

  /** The uid a reply must echo: the request's when it is a string, else ''. */
  function expectedUid(body: unknown): string {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return '';
    const req = (body as { request?: unknown }).request;
    if (typeof req !== 'object' || req === null || Array.isArray(req)) return '';
    const uid = (req as { uid?: unknown }).uid;
    return typeof uid === 'string' ? uid : '';
  }

  async function checkReply(
    path: string,
    payload: string | Buffer,
    parsed: unknown,
    contentType = 'application/json',
  ) {
    const reply = await f.client.send(path, payload, { headers: { 'Content-Type': contentType } });
    assert.ok(EXPECTED_STATUSES.has(reply.status), `status ${reply.status}: ${reply.text.slice(0, 200)}`);
    const body = JSON.parse(reply.text);
    assert.equal(body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(body.kind, 'AdmissionReview');
    assert.equal(typeof body.response.allowed, 'boolean');
    if (reply.status === 200) {
      assert.ok(body.response.allowed || body.response.status.code === 403);
    } else {
      assert.equal(body.response.allowed, false);
      assert.equal(body.response.status.code, reply.status);
      assert.equal(typeof body.response.status.message, 'string');
    }
    assert.equal(body.response.uid, expectedUid(parsed));
  }

  const paths = fc.constantFrom('/validate', '/mutate');

  test('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(paths, fc.uint8Array({ maxLength: 2048 }), async (path, bytes) => {
        const payload = Buffer.from(bytes);
        let parsed: unknown;
        try {
          parsed = JSON.parse(payload.toString('utf8'));
        } catch {
          parsed = undefined;
        }
        await checkReply(path, payload, parsed);
      }),
      { numRuns: RUNS },
    );
  });

  test('random JSON values and content types', async () => {
    await fc.assert(
      fc.asyncProperty(
        paths,
        fc.jsonValue(),
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'),
        async (path, value, contentType) => {
          await checkReply(path, JSON.stringify(value) ?? 'null', value, contentType);
        },
      ),
      { numRuns: RUNS },
    );
  });

  /** Every path to a value inside `node`, objects and arrays included. */
  function pathsIn(node: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
    if (typeof node !== 'object' || node === null) return [];
    const entries: Array<[string | number, unknown]> = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node as Record<string, unknown>);
    return entries.flatMap(([key, value]) => [[...prefix, key], ...pathsIn(value, [...prefix, key])]);
  }

  const nearValid = fc
    .record({
      kind: fc.constantFrom(...ALL_KINDS),
      operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
      images: fc.array(fc.constantFrom(...Object.values(IMAGES)), { minLength: 1, maxLength: 4 }),
      subResource: fc.constantFrom(undefined, 'ephemeralcontainers', 'status'),
    })
    .chain(({ kind, operation, images, subResource }) => {
      const base = review({
        kind,
        operation,
        ...(subResource ? { subResource } : {}),
        object: workload(kind, {
          containers: images.map((image, i) => container(`c${i}`, image)),
          initContainers: [],
        }),
        oldObject: operation === 'UPDATE' ? workload(kind, [IMAGES.clean]) : null,
      });
      const targets = pathsIn(base);
      const change = fc.record({
        path: fc.constantFrom(...targets),
        value: fc.oneof(
          fc.constant(undefined),
          fc.jsonValue({ maxDepth: 2 }),
          fc.string(),
          fc.integer(),
          fc.boolean(),
        ),
      });
      return fc.tuple(fc.constant(base), fc.array(change, { minLength: 1, maxLength: 4 }));
    })
    .map(([base, changes]) => {
      const body = structuredClone(base) as Record<string, unknown>;
      for (const { path, value } of changes) {
        let parent: unknown = body;
        for (const key of path.slice(0, -1)) {
          parent =
            typeof parent === 'object' && parent !== null
              ? (parent as Record<string | number, unknown>)[key]
              : undefined;
        }
        if (typeof parent !== 'object' || parent === null) continue;
        const last = path[path.length - 1]!;
        if (value === undefined) delete (parent as Record<string | number, unknown>)[last];
        else (parent as Record<string | number, unknown>)[last] = value;
      }
      return body;
    });

  test('near-valid reviews with wrong types everywhere', async () => {
    await fc.assert(
      fc.asyncProperty(paths, nearValid, async (path, body) => {
        await checkReply(path, JSON.stringify(body), body);
      }),
      { numRuns: RUNS },
    );
  });

  test('the server is still serving after the fuzzing', async () => {
    const { response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
    assert.equal(response.allowed, false);
    assert.ok(f.server.ready());
  });
});
