import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRecorder, type EventRecorderOptions, eventName, ResultWriters } from '../src/reports/index.ts';
import { type KubeObject, type KubeSimulator, startKubeSimulator } from '../sim/kube/index.ts';
import {
  drift,
  FakeFindingsSource,
  finding,
  ManualClock,
  podFindings,
  REGISTRY,
} from './helpers/findings.ts';

/**
 * Events on pods, written by the real recorder through its Kubernetes client (KubeRest) to the
 * Kubernetes simulator, with the findings set by hand and time moved by a manual clock (the
 * simulator reads the same clock, so its write log is in the recorder's time).
 */

const MINUTE = 60_000;
const SERIES = 30 * MINUTE;
const INSTANCE = 'ecr-warden-7d9f-abcde';

type Event = KubeObject & {
  reason?: string;
  note?: string;
  type?: string;
  action?: string;
  eventTime?: string;
  reportingController?: string;
  reportingInstance?: string;
  regarding?: Record<string, string>;
  series?: { count: number; lastObservedTime: string };
};

interface Setup {
  sim: KubeSimulator;
  clock: ManualClock;
  source: FakeFindingsSource;
  recorder: EventRecorder;
  /** Runs the recorder for `ms` of clock time. */
  run(ms: number, stepMs?: number): Promise<void>;
  events(): Event[];
  /** Event writes the simulator answered (any outcome), optionally of one verb. */
  writes(verb?: string): number;
}

async function withRecorder(
  options: Partial<EventRecorderOptions>,
  fn: (setup: Setup) => Promise<void>,
  simOptions: { eventTtlMs?: number; namespaces?: string[] } = {},
): Promise<void> {
  const clock = new ManualClock();
  // The simulator forgets Events only when a test says so (its expiry runs on a real timer).
  const sim = await startKubeSimulator({
    clock: clock.now,
    namespaces: ['default', 'shop'],
    eventTtlMs: 0,
    compactionIntervalMs: 0,
    ...simOptions,
  });
  const source = new FakeFindingsSource();
  const recorder = new EventRecorder({
    kubeConfig: sim.kubeConfig(),
    source,
    clock,
    instance: INSTANCE,
    ...options,
  });
  try {
    await fn({
      sim,
      clock,
      source,
      recorder,
      run: (ms, stepMs) => clock.run([recorder], ms, stepMs),
      events: () => sim.events() as Event[],
      writes: (verb) => sim.writeCount({ resource: 'events', ...(verb ? { verb } : {}) }),
    });
  } finally {
    await recorder.stop();
    await sim.close();
  }
}

const criticalPod = podFindings('shop', 'api-0', [finding()]);

describe('Events: one per finding, kept as a series', () => {
  it('gives a pod running an image with CRITICAL findings one ImagePolicyViolation Event naming container, image and check', async () => {
    await withRecorder({}, async ({ clock, source, recorder, run, events }) => {
      source.set([criticalPod]);
      const t0 = clock.now();
      recorder.start();
      await clock.settle([recorder]);
      await run(5000);
      const [event, ...more] = events();
      assert.equal(more.length, 0);
      assert.ok(event);
      assert.deepEqual(
        {
          name: event.metadata.name,
          namespace: event.metadata.namespace,
          type: event.type,
          reason: event.reason,
          action: event.action,
          reportingController: event.reportingController,
          reportingInstance: event.reportingInstance,
          regarding: event.regarding,
          note: event.note,
          eventTime: event.eventTime,
          series: event.series,
        },
        {
          name: eventName(criticalPod, criticalPod.findings[0]!),
          namespace: 'shop',
          type: 'Warning',
          reason: 'ImagePolicyViolation',
          action: 'Audit',
          reportingController: 'ecr-warden.io/controller',
          reportingInstance: INSTANCE,
          regarding: {
            apiVersion: 'v1',
            kind: 'Pod',
            namespace: 'shop',
            name: 'api-0',
            uid: 'uid-shop-api-0',
          },
          note: `container "api" image ${REGISTRY}/api:v7: 3 CRITICAL findings (max 0)`,
          // MicroTime: six fractional digits, as the apiserver requires.
          eventTime: new Date(t0).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
          series: undefined,
        },
      );
      assert.match(event.metadata.name!, /^api-0\.[0-9a-f]{16}$/);
    });
  });

  it('keeps one Event over several refreshes, its series written once per series interval', async () => {
    await withRecorder({}, async ({ clock, source, recorder, run, events, writes }) => {
      source.set([criticalPod]);
      recorder.start();
      await clock.settle([recorder]);
      const t0 = clock.now();
      // Refreshes every minute for 95 minutes: the finding holds throughout.
      for (let minute = 0; minute < 95; minute++) {
        await run(MINUTE, 10_000);
        source.touch();
      }
      const all = events();
      assert.equal(all.length, 1);
      assert.deepEqual(all[0]!.series, {
        count: 4,
        lastObservedTime: new Date(t0 + 3 * SERIES).toISOString().replace(/Z$/, '000Z'),
      });
      assert.deepEqual([writes('create'), writes('patch'), writes()], [1, 3, 4]);
    });
  });

  it('reports drift as ImageDrift', async () => {
    await withRecorder({}, async ({ source, recorder, run, events }) => {
      source.set([podFindings('default', 'web-0', [drift('web')])]);
      recorder.start();
      await run(1000);
      assert.deepEqual(
        events().map((e) => [e.reason, e.regarding?.name, e.note]),
        [['ImageDrift', 'web-0', drift('web').message]],
      );
    });
  });

  it('gives each finding of a pod its own Event, and a recreated pod (new uid) new ones', async () => {
    await withRecorder({}, async ({ source, recorder, run, events }) => {
      const findings = [finding(), finding({ container: 'sidecar' }), drift()];
      source.set([podFindings('shop', 'api-0', findings)]);
      recorder.start();
      await run(1000);
      source.set([podFindings('shop', 'api-0', findings, 'uid-recreated')]);
      await run(1000);
      const seen = events().map((e) => `${e.regarding?.uid} ${e.reason}`);
      assert.deepEqual(seen.sort(), [
        'uid-recreated ImageDrift',
        'uid-recreated ImagePolicyViolation',
        'uid-recreated ImagePolicyViolation',
        'uid-shop-api-0 ImageDrift',
        'uid-shop-api-0 ImagePolicyViolation',
        'uid-shop-api-0 ImagePolicyViolation',
      ]);
    });
  });

  it('writes nothing when a finding comes back after a watch restart', async () => {
    await withRecorder({}, async ({ source, recorder, run, writes }) => {
      source.set([criticalPod]);
      recorder.start();
      await run(1000);
      // A relist: for a moment the pod is not there, then it is again with the same finding.
      source.set([]);
      await run(1000);
      source.set([criticalPod]);
      await run(MINUTE);
      assert.equal(writes(), 1);
    });
  });

  it('continues the series of a finding that returns after its Event went quiet', async () => {
    await withRecorder({}, async ({ source, recorder, run, events, writes }) => {
      source.set([criticalPod]);
      recorder.start();
      await run(1000);
      source.set([]);
      await run(40 * MINUTE, 10_000);
      source.set([criticalPod]);
      await run(1000);
      assert.equal(events().length, 1);
      assert.equal(events()[0]!.series?.count, 2);
      assert.deepEqual([writes('create'), writes('patch')], [1, 1]);
    });
  });

  it('bounds the note to the API’s 1 KiB, on a character boundary', async () => {
    await withRecorder({}, async ({ source, recorder, run, events }) => {
      const message = `container "api" image ${REGISTRY}/api:v7: ${'é'.repeat(1500)}`;
      source.set([podFindings('shop', 'api-0', [finding({ message })])]);
      recorder.start();
      await run(1000);
      const note = events()[0]?.note ?? '';
      assert.ok(Buffer.byteLength(note) <= 1024, `${Buffer.byteLength(note)} bytes`);
      assert.ok(note.endsWith('é…'));
      assert.ok(message.startsWith(note.slice(0, -1)));
    });
  });
});

describe('Events across restarts', () => {
  it('a new recorder (a restart, another leader) reads the Event back and continues its series', async () => {
    await withRecorder({}, async ({ sim, clock, source, recorder, run, events, writes }) => {
      source.set([criticalPod]);
      recorder.start();
      await run(1000);
      await recorder.stop();
      const next = new EventRecorder({
        kubeConfig: sim.kubeConfig(),
        source,
        clock,
        instance: 'ecr-warden-other',
      });
      try {
        next.start();
        await clock.run([next], SERIES + 2000);
        assert.equal(events().length, 1);
        assert.equal(events()[0]!.series?.count, 2);
        assert.deepEqual([writes('create'), writes('patch')], [1, 1]);
        assert.equal(next.stats().adopted, 1);
      } finally {
        await next.stop();
      }
    });
  });

  it('when the read-back fails, the create’s AlreadyExists leads to a read instead of a duplicate', async () => {
    await withRecorder({}, async ({ sim, clock, source, recorder, run, events, writes }) => {
      source.set([criticalPod]);
      recorder.start();
      await run(1000);
      await recorder.stop();
      sim.failNext(1, { code: 500, match: { verb: 'list', resource: 'events' } });
      const next = new EventRecorder({ kubeConfig: sim.kubeConfig(), source, clock, instance: INSTANCE });
      try {
        next.start();
        await clock.run([next], 5000);
        assert.equal(events().length, 1);
        assert.deepEqual(
          sim.writes({ resource: 'events' }).map((w) => [w.verb, w.code]),
          [
            ['create', 201],
            ['create', 409],
          ],
        );
        assert.equal(writes(), 2);
        assert.equal(next.stats().adopted, 1);
      } finally {
        await next.stop();
      }
    });
  });

  it('creates an Event the apiserver forgot (an --event-ttl below the series interval) again, with its series', async () => {
    await withRecorder(
      {},
      async ({ sim, source, recorder, run, events }) => {
        source.set([criticalPod]);
        recorder.start();
        await run(25 * MINUTE, 10_000);
        sim.expireEvents();
        assert.equal(events().length, 0);
        await run(10 * MINUTE, 10_000);
        assert.equal(events().length, 1);
        assert.equal(events()[0]?.series?.count, 2, 'the series went on');
        assert.deepEqual(
          sim.writes({ resource: 'events' }).map((w) => `${w.verb} ${w.code}`),
          ['create 201', 'patch 404', 'create 201'],
        );
      },
      { eventTtlMs: 20 * MINUTE },
    );
  });
});

describe('Events: on only when started and enabled', () => {
  it('writes none with reports.events: false', async () => {
    const clock = new ManualClock();
    const sim = await startKubeSimulator({ clock: clock.now, namespaces: ['shop'] });
    const source = new FakeFindingsSource();
    source.set([criticalPod]);
    const writers = new ResultWriters({
      reports: { events: false, openReports: false },
      kubeConfig: sim.kubeConfig(),
      source,
      clock,
    });
    try {
      assert.equal(writers.events, null);
      writers.start();
      await clock.run([writers], 10_000);
      assert.equal(sim.writeCount(), 0);
      assert.equal(sim.events().length, 0);
    } finally {
      await writers.stop();
      await sim.close();
    }
  });

  it('writes nothing before start or after stop, and starts again cleanly', async () => {
    await withRecorder({}, async ({ source, recorder, run, clock, writes, events }) => {
      source.set([criticalPod]);
      await run(5000);
      assert.equal(writes(), 0, 'not started');
      recorder.start();
      await clock.settle([recorder]);
      assert.equal(writes(), 1);
      await recorder.stop();
      source.set([criticalPod, podFindings('shop', 'api-1', [finding()])]);
      await run(5000);
      assert.equal(writes(), 1, 'stopped');
      recorder.start();
      await run(1000);
      assert.equal(writes(), 2, 'started again: the new finding only');
      assert.equal(events().length, 2);
    });
  });
});

describe('Events under failure', () => {
  it('retries a create that failed with 500 after a backoff, never in a tight loop', async () => {
    await withRecorder({}, async ({ sim, source, recorder, run, events }) => {
      sim.failNext(3, { code: 500, match: { verb: 'create', resource: 'events' } });
      source.set([criticalPod]);
      recorder.start();
      await run(MINUTE, 500);
      assert.equal(events().length, 1);
      const attempts = sim.writes({ resource: 'events', verb: 'create' });
      assert.deepEqual(
        attempts.map((w) => w.code),
        [500, 500, 500, 201],
      );
      // 1 s, 2 s and 4 s backoffs, each halved at worst by jitter.
      const gaps = attempts.slice(1).map((w, i) => w.at - attempts[i]!.at);
      gaps.forEach((gap, i) => assert.ok(gap >= 500 * 2 ** i, `gap ${i}: ${gap} ms`));
    });
  });

  it('holds every write back for the Retry-After of a 429', async () => {
    await withRecorder({}, async ({ sim, clock, source, recorder, run }) => {
      sim.failNext(1, { code: 429, retryAfterSeconds: 30, match: { verb: 'create', resource: 'events' } });
      source.set([criticalPod]);
      recorder.start();
      const t0 = clock.now();
      await run(1000);
      source.set([criticalPod, podFindings('shop', 'api-1', [finding()])]);
      await run(20_000);
      assert.deepEqual(
        sim.writes({ resource: 'events' }).map((w) => w.code),
        [429],
      );
      await run(20_000);
      const after = sim.writes({ resource: 'events', succeeded: true });
      assert.equal(after.length, 2);
      assert.ok(after.every((w) => w.at >= t0 + 30_000));
    });
  });
});

describe('Events: memory', () => {
  it('holds at most maxTracked findings, making room by forgetting ended ones first', async () => {
    await withRecorder({ maxTracked: 3 }, async ({ source, recorder, run, events }) => {
      const pods = Array.from({ length: 5 }, (_, i) => podFindings('shop', `api-${i}`, [finding()]));
      source.set(pods);
      recorder.start();
      await run(1000);
      assert.equal(events().length, 3);
      assert.deepEqual([recorder.stats().tracked, recorder.stats().dropped], [3, 2]);
      // Two findings end; their Events are remembered until room is needed.
      source.set(pods.slice(2));
      await run(2000);
      assert.equal(events().length, 5);
      assert.deepEqual([recorder.stats().tracked, recorder.stats().dropped], [3, 0]);
    });
  });
});

describe('Events: rate limits', () => {
  /** 5,000 pods in 50 namespaces turn violating at once: a rescan of an image they all run. */
  const NAMESPACES = Array.from({ length: 50 }, (_, i) => `ns-${i}`);
  const rescan = Array.from({ length: 5000 }, (_, i) =>
    podFindings(NAMESPACES[i % 50]!, `pod-${i}`, [finding({ image: `${REGISTRY}/base:v1` })]),
  );

  const cases = [
    { name: 'the defaults (25 burst, 5 per second)', overall: undefined, burst: 25, perSecond: 5 },
    {
      name: 'a configured 100 burst, 50 per second',
      overall: { burst: 100, perSecond: 50 },
      burst: 100,
      perSecond: 50,
    },
  ];

  for (const c of cases) {
    it(`5,000 pods turning violating at once get Events no faster than ${c.name}`, async () => {
      await withRecorder(
        c.overall ? { overall: c.overall } : {},
        async ({ sim, clock, source, recorder, run }) => {
          source.set(rescan);
          const t0 = clock.now();
          recorder.start();
          await run(MINUTE);
          const firstMinute = sim.writeCount({ resource: 'events', since: t0, until: t0 + MINUTE });
          assert.ok(firstMinute <= c.perSecond * 60 + c.burst, `${firstMinute} writes in the first minute`);
          assert.ok(firstMinute >= c.perSecond * 59, `${firstMinute}: the rate is used, not wasted`);
          for (const windowMs of [1000, 10_000, MINUTE]) {
            const worst = sim.maxWritesInWindow(windowMs, { resource: 'events' });
            assert.ok(
              worst <= c.burst + (c.perSecond * windowMs) / 1000,
              `${worst} writes within ${windowMs} ms`,
            );
          }
          // The pass at 60 s exactly is the next minute's: count every write made so far.
          const stats = recorder.stats();
          const written = sim.writeCount({ resource: 'events' });
          assert.equal(stats.created, written);
          assert.equal(stats.waiting, 5000 - written);
          if (c.perSecond >= 50) {
            await run(2 * MINUTE);
            assert.equal(sim.events().length, 5000, 'every pod has its Event once the rate allowed');
            assert.equal(recorder.stats().waiting, 0);
          }
        },
        { namespaces: NAMESPACES },
      );
    });
  }

  it('gives one pod at most 25 Events at once, then one per 5 minutes', async () => {
    await withRecorder({}, async ({ source, recorder, run, writes }) => {
      const many = Array.from({ length: 30 }, (_, i) => finding({ container: `c${i}` }));
      source.set([podFindings('shop', 'api-0', many)]);
      recorder.start();
      await run(MINUTE);
      assert.equal(writes(), 25);
      await run(10 * MINUTE, 10_000);
      assert.equal(writes(), 27);
      assert.ok(recorder.stats().deferred > 0);
    });
  });
});
