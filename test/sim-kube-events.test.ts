import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CoreV1Api,
  type CoreV1Event,
  EventsV1Api,
  type EventsV1Event,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { buildPod, type KubeObject, type KubeSimulator } from '../sim/kube/index.ts';
import {
  causeFields,
  eventBody,
  failure,
  raw,
  summary,
  T0,
  TABLE_ACCEPT,
  TestClock,
  WatchEvents,
  withSim,
} from './sim-kube-support.ts';

/**
 * Events in the simulator against the real @kubernetes/client-node: one storage served as core v1
 * and events.k8s.io/v1 with the documented field mapping, the API server's validation for each
 * API, field selectors, watches across both APIs, the event TTL, and the write log.
 */

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

function apis(sim: KubeSimulator) {
  const kc = sim.kubeConfig();
  return { events: kc.makeApiClient(EventsV1Api), core: kc.makeApiClient(CoreV1Api) };
}

/** A core v1 Event the old way (firstTimestamp, count, source), as kubelets long wrote them. */
function oldStyleEvent(name: string, pod: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: pod, uid: 'uid-0', apiVersion: 'v1' },
    reason: 'Pulled',
    message: 'Successfully pulled image',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2025-06-01T11:00:00Z',
    lastTimestamp: '2025-06-01T11:30:00Z',
    count: 3,
    type: 'Normal',
    ...extra,
  };
}

describe('Events: one storage, two APIs', () => {
  it('shows an events.k8s.io/v1 Event through core v1 with the documented field mapping', async () => {
    await withSim({}, async (sim) => {
      const { events, core } = apis(sim);
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ podUid: 'uid-0' }) });
      const [stored] = sim.events({ apiVersion: 'v1' });
      assert.deepEqual(
        { ...stored, metadata: undefined },
        {
          kind: 'Event',
          apiVersion: 'v1',
          metadata: undefined,
          involvedObject: {
            kind: 'Pod',
            namespace: 'default',
            name: 'api-0',
            uid: 'uid-0',
            apiVersion: 'v1',
          },
          reason: 'ImagePolicyViolation',
          message: 'container api: image api:v7 fails check critical-findings',
          // Time structs marshal as null when zero; reportingComponent/Instance are never omitted.
          source: {},
          firstTimestamp: null,
          lastTimestamp: null,
          type: 'Warning',
          eventTime: '2025-06-01T12:00:00.000000Z',
          action: 'Evaluate',
          reportingComponent: 'ecr-warden.io/controller',
          reportingInstance: 'ecr-warden-7d9f-abcde',
        },
      );
      const read = await core.readNamespacedEvent({ namespace: 'default', name: 'api-0.1' });
      assert.equal(read.message, 'container api: image api:v7 fails check critical-findings');
      assert.equal(read.involvedObject.name, 'api-0');
      assert.equal(read.reportingComponent, 'ecr-warden.io/controller');
      assert.equal(read.count, undefined);
    });
  });

  it('shows a core v1 Event through events.k8s.io/v1 with its deprecated fields', async () => {
    await withSim({}, async (sim) => {
      sim.upsertObject(oldStyleEvent('api-0.pulled', 'api-0'));
      const [event] = sim.events();
      assert.deepEqual(
        { ...event, metadata: undefined },
        {
          kind: 'Event',
          apiVersion: 'events.k8s.io/v1',
          metadata: undefined,
          eventTime: null,
          reason: 'Pulled',
          regarding: { kind: 'Pod', namespace: 'default', name: 'api-0', uid: 'uid-0', apiVersion: 'v1' },
          note: 'Successfully pulled image',
          type: 'Normal',
          deprecatedSource: { component: 'kubelet', host: 'node-1' },
          deprecatedFirstTimestamp: '2025-06-01T11:00:00Z',
          deprecatedLastTimestamp: '2025-06-01T11:30:00Z',
          deprecatedCount: 3,
        },
      );
    });
  });

  it('keeps a series written through events.k8s.io as series on core v1', async () => {
    await withSim({}, async (sim) => {
      const { events, core } = apis(sim);
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      const series = { count: 2, lastObservedTime: new V1MicroTime(T0 + 60_000) };
      const patched = await events.patchNamespacedEvent(
        { namespace: 'default', name: 'api-0.1', body: { series } },
        merge,
      );
      assert.equal(patched.series?.count, 2);
      const read = await core.readNamespacedEvent({ namespace: 'default', name: 'api-0.1' });
      assert.equal(read.series?.count, 2);
      assert.deepEqual(sim.events({ apiVersion: 'v1' })[0]?.series, {
        count: 2,
        lastObservedTime: '2025-06-01T12:01:00.000000Z',
      });
    });
  });

  it('takes strategic merge patches on Events, as on every built-in kind', async () => {
    await withSim({}, async (sim) => {
      const { events } = apis(sim);
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      const patched = await events.patchNamespacedEvent(
        { namespace: 'default', name: 'api-0.1', body: { metadata: { labels: { team: 'a' } } } },
        strategic,
      );
      assert.deepEqual(patched.metadata?.labels, { team: 'a' });
    });
  });

  it('normalises times to UTC as metav1.Time and MicroTime marshal them', async () => {
    await withSim({}, async (sim) => {
      sim.upsertObject(
        oldStyleEvent('api-0.pulled', 'api-0', {
          firstTimestamp: '2025-06-01T13:00:00.750+02:00',
          eventTime: '2025-06-01T14:00:00.123456+02:00',
          action: 'Pull',
          reportingComponent: 'kubelet',
          reportingInstance: 'node-1',
        }),
      );
      const [event] = sim.events({ apiVersion: 'v1' });
      assert.equal(event?.firstTimestamp, '2025-06-01T11:00:00Z');
      assert.equal(event?.eventTime, '2025-06-01T12:00:00.123456Z');
    });
  });
});

describe('Events: validation', () => {
  const NOTE_LIMIT = 1024;
  const INSTANCE_LIMIT = 128;

  /** events.k8s.io/v1 creates the API server refuses, and the fields its 422 names. */
  const refused: Array<{ name: string; change: (e: EventsV1Event) => void; fields: string[] }> = [
    {
      name: 'no eventTime',
      change: (e) => delete (e as { eventTime?: unknown }).eventTime,
      fields: ['eventTime'],
    },
    { name: 'a type other than Normal or Warning', change: (e) => (e.type = 'Bogus'), fields: ['type'] },
    {
      name: 'no reportingController',
      change: (e) => delete e.reportingController,
      // Required, and IsQualifiedName's "name part must be non-empty".
      fields: ['reportingController', 'reportingController'],
    },
    {
      name: 'a reportingController that is no qualified name',
      change: (e) => (e.reportingController = 'ecr warden'),
      fields: ['reportingController'],
    },
    {
      name: 'no reportingInstance',
      change: (e) => delete e.reportingInstance,
      fields: ['reportingInstance'],
    },
    {
      name: 'a reportingInstance over 128 characters',
      change: (e) => (e.reportingInstance = 'i'.repeat(INSTANCE_LIMIT + 1)),
      fields: ['reportingInstance'],
    },
    { name: 'no action', change: (e) => delete e.action, fields: ['action'] },
    { name: 'no reason', change: (e) => delete e.reason, fields: ['reason'] },
    {
      name: 'a note over 1024 characters (named by its internal name)',
      change: (e) => (e.note = 'n'.repeat(NOTE_LIMIT + 1)),
      fields: ['message'],
    },
    {
      name: 'a series of one',
      change: (e) => (e.series = { count: 1, lastObservedTime: new V1MicroTime(T0) }),
      fields: ['series.count'],
    },
    { name: 'a deprecatedCount', change: (e) => (e.deprecatedCount = 3), fields: ['count'] },
    {
      name: 'a deprecatedSource',
      change: (e) => (e.deprecatedSource = { component: 'kubelet' }),
      fields: ['source'],
    },
    {
      name: 'a regarding object without namespace outside default and kube-system',
      change: (e) => {
        e.metadata = { ...e.metadata, namespace: 'shop' };
        delete e.regarding?.namespace;
      },
      fields: ['involvedObject.namespace'],
    },
  ];

  for (const { name, change, fields } of refused) {
    it(`refuses an Event with ${name}`, async () => {
      await withSim({ namespaces: ['default', 'shop'] }, async (sim) => {
        const body = eventBody();
        change(body);
        const namespace = body.metadata?.namespace ?? 'default';
        const status = await failure(apis(sim).events.createNamespacedEvent({ namespace, body }));
        assert.equal(status.httpCode, 422);
        assert.equal(status.reason, 'Invalid');
        assert.deepEqual(causeFields(status), fields);
        assert.equal(sim.events().length, 0);
      });
    });
  }

  it('words the 422 as the API server does, with the group-qualified kind', async () => {
    await withSim({}, async (sim) => {
      const body = { ...eventBody(), type: 'Bogus' };
      const status = await failure(apis(sim).events.createNamespacedEvent({ namespace: 'default', body }));
      assert.equal(
        status.message,
        'Event.events.k8s.io "api-0.1" is invalid: type: Invalid value: "": has invalid value: Bogus',
      );
    });
  });

  it('accepts a note of exactly 1024 characters and an object without namespace in kube-system', async () => {
    await withSim({}, async (sim) => {
      const { events } = apis(sim);
      await events.createNamespacedEvent({
        namespace: 'default',
        body: eventBody({ note: 'n'.repeat(NOTE_LIMIT) }),
      });
      const body = eventBody({ name: 'node.1', namespace: 'kube-system' });
      body.regarding = { kind: 'Node', name: 'node-1', apiVersion: 'v1' };
      await events.createNamespacedEvent({ namespace: 'kube-system', body });
      assert.equal(sim.events().length, 2);
    });
  });

  it('refuses an eventTime in milliseconds, as a plain Date serialises, before validation', async () => {
    await withSim({}, async (sim) => {
      const body = { ...eventBody(), eventTime: new Date(T0) };
      const status = await failure(apis(sim).events.createNamespacedEvent({ namespace: 'default', body }));
      assert.equal(status.httpCode, 400);
      assert.equal(
        status.message,
        'Event in version "v1" cannot be handled as a Event: parsing time "2025-06-01T12:00:00.000Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".000Z" as ".000000"',
      );
    });
  });

  it('lets events.k8s.io/v1 updates change only series and metadata', async () => {
    await withSim({}, async (sim) => {
      const { events } = apis(sim);
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      const status = await failure(
        events.patchNamespacedEvent(
          { namespace: 'default', name: 'api-0.1', body: { note: 'changed', reason: 'Other' } },
          merge,
        ),
      );
      assert.equal(status.httpCode, 422);
      assert.deepEqual(causeFields(status), ['reason', 'message']);
      assert.match(status.message, /reason: Invalid value: "Other": field is immutable/);
      const series = await failure(
        events.patchNamespacedEvent(
          { namespace: 'default', name: 'api-0.1', body: { series: { count: 1 } } },
          merge,
        ),
      );
      assert.deepEqual(causeFields(series), ['series.count', 'series.lastObservedTime']);
    });
  });

  it('keeps the legacy rules only for core v1: old-style Events, counts that change', async () => {
    await withSim({}, async (sim) => {
      const { core } = apis(sim);
      const created = await core.createNamespacedEvent({
        namespace: 'default',
        body: oldStyleEvent('api-0.pulled', 'api-0') as unknown as CoreV1Event,
      });
      assert.equal(created.count, 3);
      const updated = await core.replaceNamespacedEvent({
        namespace: 'default',
        name: 'api-0.pulled',
        body: { ...created, count: 4, lastTimestamp: new Date('2025-06-01T11:45:00Z') },
      });
      assert.equal(updated.count, 4);
      const mismatch = await failure(
        core.createNamespacedEvent({
          namespace: 'default',
          body: oldStyleEvent('x.1', 'x', {
            involvedObject: { kind: 'Pod', namespace: 'shop', name: 'x' },
          }) as unknown as CoreV1Event,
        }),
      );
      assert.deepEqual(causeFields(mismatch), ['involvedObject.namespace']);
      // A new-style Event written through core v1 still needs its reporting fields (named internally).
      const newStyle = await failure(
        core.createNamespacedEvent({
          namespace: 'default',
          body: oldStyleEvent('y.1', 'y', {
            eventTime: '2025-06-01T12:00:00.000000Z',
            action: 'Pull',
          }) as unknown as CoreV1Event,
        }),
      );
      assert.deepEqual(causeFields(newStyle), [
        'reportingController',
        'reportingController',
        'reportingInstance',
      ]);
    });
  });

  it('creates on PUT and updates without a resourceVersion, as the event strategy allows', async () => {
    await withSim({}, async (sim) => {
      const { core } = apis(sim);
      await core.replaceNamespacedEvent({
        namespace: 'default',
        name: 'api-0.pulled',
        body: oldStyleEvent('api-0.pulled', 'api-0') as unknown as CoreV1Event,
      });
      await core.replaceNamespacedEvent({
        namespace: 'default',
        name: 'api-0.pulled',
        body: oldStyleEvent('api-0.pulled', 'api-0', { count: 5 }) as unknown as CoreV1Event,
      });
      assert.equal(sim.events({ apiVersion: 'v1' })[0]?.count, 5);
    });
  });
});

describe('Events: field selectors', () => {
  async function seeded(sim: KubeSimulator): Promise<void> {
    const { events } = apis(sim);
    await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ podUid: 'uid-0' }) });
    await events.createNamespacedEvent({
      namespace: 'default',
      body: eventBody({ pod: 'api-1', podUid: 'uid-1', reason: 'ImageDrift', note: 'drift' }),
    });
    sim.upsertObject(oldStyleEvent('api-0.pulled', 'api-0'));
  }

  const cases: Array<{ api: 'core' | 'events.k8s.io'; selector: string; names: string[] }> = [
    { api: 'core', selector: 'involvedObject.name=api-0', names: ['api-0.1', 'api-0.pulled'] },
    {
      api: 'core',
      selector: 'involvedObject.name=api-0,reason=ImagePolicyViolation',
      names: ['api-0.1'],
    },
    { api: 'core', selector: 'involvedObject.uid=uid-1', names: ['api-1.1'] },
    { api: 'core', selector: 'involvedObject.kind=Pod,type=Normal', names: ['api-0.pulled'] },
    { api: 'core', selector: 'source=kubelet', names: ['api-0.pulled'] },
    // `source` falls back to the reporting controller of a new-style Event.
    { api: 'core', selector: 'source=ecr-warden.io/controller', names: ['api-0.1', 'api-1.1'] },
    { api: 'core', selector: 'reportingComponent=ecr-warden.io/controller', names: ['api-0.1', 'api-1.1'] },
    { api: 'core', selector: 'reason!=ImageDrift', names: ['api-0.1', 'api-0.pulled'] },
    { api: 'events.k8s.io', selector: 'regarding.name=api-1', names: ['api-1.1'] },
    { api: 'events.k8s.io', selector: 'regarding.uid=uid-0,type=Warning', names: ['api-0.1'] },
    {
      api: 'events.k8s.io',
      selector: 'reportingController=ecr-warden.io/controller',
      names: ['api-0.1', 'api-1.1'],
    },
    { api: 'events.k8s.io', selector: 'metadata.name=api-0.pulled', names: ['api-0.pulled'] },
  ];

  it('filters lists on the field labels each API supports', async () => {
    await withSim({}, async (sim) => {
      await seeded(sim);
      const { events, core } = apis(sim);
      for (const { api, selector, names } of cases) {
        const list =
          api === 'core'
            ? await core.listNamespacedEvent({ namespace: 'default', fieldSelector: selector })
            : await events.listNamespacedEvent({ namespace: 'default', fieldSelector: selector });
        assert.deepEqual(
          list.items.map((e) => e.metadata?.name),
          names,
          `${api} ${selector}`,
        );
      }
    });
  });

  const unsupported: Array<{ path: string; selector: string }> = [
    { path: '/apis/events.k8s.io/v1/namespaces/default/events', selector: 'involvedObject.name=api-0' },
    { path: '/apis/events.k8s.io/v1/namespaces/default/events', selector: 'source=kubelet' },
    { path: '/api/v1/namespaces/default/events', selector: 'regarding.name=api-0' },
    { path: '/api/v1/namespaces/default/events', selector: 'note=x' },
  ];

  it('refuses the other API’s field labels with a 400', async () => {
    await withSim({}, async (sim) => {
      for (const { path, selector } of unsupported) {
        const res = await raw(sim, 'GET', `${path}?fieldSelector=${encodeURIComponent(selector)}`);
        assert.equal(res.status, 400, `${path} ${selector}`);
        const label = selector.split('=')[0];
        assert.equal(JSON.parse(res.body).message, `field label not supported: ${label}`);
      }
    });
  });
});

describe('Events: watches, deletion and expiry', () => {
  it('delivers an Event written through one API to watchers of the other, each in its own form', async () => {
    await withSim({}, async (sim) => {
      const { events, core } = apis(sim);
      const v1 = await WatchEvents.open(sim, '/apis/events.k8s.io/v1/namespaces/default/events');
      const legacy = await WatchEvents.open(sim, '/api/v1/events', {
        fieldSelector: 'involvedObject.name=api-0',
      });
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ pod: 'api-1' }) });
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      await events.patchNamespacedEvent(
        {
          namespace: 'default',
          name: 'api-0.1',
          body: { series: { count: 2, lastObservedTime: new V1MicroTime(T0 + 1000) } },
        },
        merge,
      );
      await core.deleteNamespacedEvent({ namespace: 'default', name: 'api-0.1' });
      const seenV1 = await v1.atLeast(4);
      assert.deepEqual(summary(seenV1), [
        'ADDED api-1.1',
        'ADDED api-0.1',
        'MODIFIED api-0.1',
        'DELETED api-0.1',
      ]);
      assert.equal(seenV1[1]?.object.note, 'container api: image api:v7 fails check critical-findings');
      const seenCore = await legacy.atLeast(3);
      assert.deepEqual(summary(seenCore), ['ADDED api-0.1', 'MODIFIED api-0.1', 'DELETED api-0.1']);
      assert.deepEqual((seenCore[1]?.object as { series?: unknown }).series, {
        count: 2,
        lastObservedTime: '2025-06-01T12:00:01.000000Z',
      });
      assert.equal(seenCore[0]?.object.message, 'container api: image api:v7 fails check critical-findings');
      v1.stop();
      legacy.stop();
    });
  });

  it('deletes a collection through events.k8s.io/v1 by field selector', async () => {
    await withSim({}, async (sim) => {
      const { events } = apis(sim);
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ pod: 'api-1' }) });
      await events.deleteCollectionNamespacedEvent({
        namespace: 'default',
        fieldSelector: 'regarding.name=api-0',
      });
      assert.deepEqual(
        sim.events().map((e) => e.metadata.name),
        ['api-1.1'],
      );
    });
  });

  it('goes with its namespace', async () => {
    await withSim({ namespaces: ['default', 'shop'] }, async (sim) => {
      await apis(sim).events.createNamespacedEvent({
        namespace: 'shop',
        body: eventBody({ namespace: 'shop' }),
      });
      sim.deleteNamespace('shop');
      assert.deepEqual(sim.events(), []);
    });
  });

  it('expires an Event an hour after its last write, as --event-ttl does, and tells watchers', async () => {
    const clock = new TestClock();
    await withSim({ clock: clock.now }, async (sim) => {
      const { events } = apis(sim);
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      const watch = await WatchEvents.open(sim, '/apis/events.k8s.io/v1/namespaces/default/events');
      clock.advance(30 * 60_000);
      await events.patchNamespacedEvent(
        {
          namespace: 'default',
          name: 'api-0.1',
          body: { series: { count: 2, lastObservedTime: new V1MicroTime(clock.ms) } },
        },
        merge,
      );
      clock.advance(40 * 60_000);
      assert.equal(sim.expireEvents(), 0, 'the update renewed the lease');
      clock.advance(20 * 60_000);
      assert.equal(sim.expireEvents(), 1);
      assert.deepEqual(summary(await watch.atLeast(2)), ['MODIFIED api-0.1', 'DELETED api-0.1']);
      assert.deepEqual(sim.events(), []);
      watch.stop();
    });
  });
});

describe('Events: printing', () => {
  it('prints the Table a 1.32 API server prints, wide, for both APIs', async () => {
    const clock = new TestClock(T0 + 90_000);
    await withSim({ clock: clock.now }, async (sim) => {
      await apis(sim).events.createNamespacedEvent({ namespace: 'default', body: eventBody() });
      sim.upsertObject(oldStyleEvent('api-0.pulled', 'api-0'));
      for (const path of [
        '/api/v1/namespaces/default/events',
        '/apis/events.k8s.io/v1/namespaces/default/events',
      ]) {
        const res = await raw(sim, 'GET', path, { Accept: TABLE_ACCEPT });
        const table = JSON.parse(res.body) as {
          columnDefinitions: Array<{ name: string; priority: number }>;
          rows: Array<{ cells: unknown[] }>;
        };
        assert.deepEqual(
          table.columnDefinitions.map((c) => `${c.name}${c.priority ? '*' : ''}`),
          [
            'Last Seen',
            'Type',
            'Reason',
            'Object',
            'Subobject*',
            'Source*',
            'Message',
            'First Seen*',
            'Count*',
            'Name*',
          ],
        );
        assert.deepEqual(
          table.rows.map((r) => r.cells),
          [
            [
              '90s',
              'Warning',
              'ImagePolicyViolation',
              'pod/api-0',
              '',
              'ecr-warden.io/controller, ecr-warden-7d9f-abcde',
              'container api: image api:v7 fails check critical-findings',
              '90s',
              1,
              'api-0.1',
            ],
            [
              '31m',
              'Normal',
              'Pulled',
              'pod/api-0',
              '',
              'kubelet, node-1',
              'Successfully pulled image',
              '61m',
              3,
              'api-0.pulled',
            ],
          ],
          path,
        );
      }
    });
  });
});

describe('Events: the write log', () => {
  it('records every write with its arrival time, group, resource and status', async () => {
    const clock = new TestClock();
    await withSim({ clock: clock.now }, async (sim) => {
      const { events } = apis(sim);
      const heard: string[] = [];
      sim.on('write', (w) => heard.push(`${w.verb} ${w.name} ${w.code}`));
      for (let i = 0; i < 3; i++) {
        await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ pod: `p${i}` }) });
        clock.advance(100);
      }
      clock.ms = T0 + 5000;
      await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ pod: 'p3' }) });
      await failure(
        events.createNamespacedEvent({
          namespace: 'default',
          body: { ...eventBody({ pod: 'p4' }), type: 'x' },
        }),
      );
      await apis(sim).core.listNamespacedEvent({ namespace: 'default' });

      const created = { group: 'events.k8s.io', resource: 'events', verb: 'create', succeeded: true };
      assert.deepEqual(
        sim.writes(created).map((w) => [w.at - T0, w.name, w.namespace, w.code]),
        [
          [0, 'p0.1', 'default', 201],
          [100, 'p1.1', 'default', 201],
          [200, 'p2.1', 'default', 201],
          [5000, 'p3.1', 'default', 201],
        ],
      );
      assert.deepEqual(
        sim.writes({ succeeded: false }).map((w) => [w.verb, w.code]),
        [['create', 422]],
      );
      assert.equal(sim.maxWritesInWindow(1000, created), 3);
      assert.equal(sim.maxWritesInWindow(100, created), 1);
      assert.deepEqual(
        sim.writesPerWindow(1000, created).map((w) => [w.start - T0, w.count]),
        [
          [0, 3],
          [1000, 0],
          [2000, 0],
          [3000, 0],
          [4000, 0],
          [5000, 1],
        ],
      );
      assert.equal(sim.requestCount('create', 'events'), 5);
      assert.equal(sim.writeCount({ verb: 'list' }), 0, 'reads are not writes');
      assert.deepEqual(heard, [
        'create p0.1 201',
        'create p1.1 201',
        'create p2.1 201',
        'create p3.1 201',
        'create  422',
      ]);
      sim.resetCounters();
      assert.equal(sim.writeCount(), 0);
    });
  });

  it('keeps only the newest records when full, and says how many it forgot', async () => {
    await withSim({ writeLogLimit: 2 }, async (sim) => {
      const { events } = apis(sim);
      for (let i = 0; i < 5; i++) {
        await events.createNamespacedEvent({ namespace: 'default', body: eventBody({ pod: `p${i}` }) });
      }
      assert.deepEqual(
        sim.writes().map((w) => w.name),
        ['p3.1', 'p4.1'],
      );
      assert.equal(sim.writesDropped(), 3);
    });
  });

  it('counts writes to pods by their subresource, apart from the pods themselves', async () => {
    await withSim({}, async (sim) => {
      sim.upsertPod(buildPod({ namespace: 'default', name: 'p', containers: [{ name: 'a', image: 'a:1' }] }));
      await apis(sim).core.patchNamespacedPodStatus(
        { namespace: 'default', name: 'p', body: { status: { phase: 'Running' } } },
        merge,
      );
      assert.deepEqual(
        sim.writes().map((w) => `${w.verb} ${w.resource} ${w.code}`),
        ['patch pods/status 200'],
      );
    });
  });
});
