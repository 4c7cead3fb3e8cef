import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaderElector } from '../src/kube/leader.ts';
import { type KubeSimulator, type RequestInfo, startKubeSimulator } from '../sim/kube/index.ts';

/** Resolves once `check` holds, polling every 20 ms; fails after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('LeaderElector against a slow apiserver', () => {
  let kube: KubeSimulator;
  before(async () => {
    kube = await startKubeSimulator();
  });
  after(() => kube.close());

  it('steps down within the renew deadline when renewals hang, and a late answer never makes it leader again', async () => {
    const events: string[] = [];
    const elector = new LeaderElector({
      kubeConfig: kube.kubeConfig(),
      namespace: 'default',
      leaseName: 'slow-apiserver',
      identity: 'replica-a',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 500,
      retryPeriodMs: 100,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: () => events.push('stopped'),
    });
    elector.start();
    await until(() => elector.isLeader, 5_000, 'it leads');
    // Every lease update now takes 1.5 s: longer than the renew deadline.
    kube.addLatency(1_500, { verb: 'update', resource: 'leases' });
    await until(() => !elector.isLeader, 5_000, 'it steps down');
    await elector.stop();
    // The updates in flight answer after stop(): none of them may restart leadership.
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    kube.clearFaults();
    assert.equal(elector.isLeader, false);
    assert.deepEqual(events, ['started', 'stopped']);
  });
});

describe('LeaderElector timing, as client-go renews', () => {
  let kube: KubeSimulator;
  before(async () => {
    kube = await startKubeSimulator();
  });
  after(() => kube.close());

  it('stops leading before its lease expires when fast 500s are followed by a silent apiserver', async () => {
    const TIMINGS = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 10 };
    // The elector's clock is the real one plus 120 ms for every lease request answered with a 500:
    // the burst spends more than half the renew deadline without the test waiting for it.
    let skipped = 0;
    const now = () => Date.now() + skipped;
    const stopped: number[] = [];
    const elector = new LeaderElector({
      kubeConfig: kube.kubeConfig(),
      namespace: 'default',
      leaseName: 'burst-then-silence',
      identity: 'replica-a',
      ...TIMINGS,
      now,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => stopped.push(now()),
    });
    // When the last renewal reached the apiserver: no follower can have seen it earlier, so the
    // lease cannot expire before this plus the lease duration.
    let lastRenewal = 0;
    let failing = false;
    let requests = 0;
    const BURST = 10;
    const onRequest = (info: RequestInfo) => {
      if (info.resource !== 'leases') return;
      if (!failing) {
        if (info.verb === 'update') lastRenewal = now();
        return;
      }
      requests++;
      if (requests <= BURST) skipped += 120;
      // Then silence: every lease request waits far longer than any lease lasts.
      else if (requests === BURST + 1) kube.addLatency(600_000, { resource: 'leases' });
    };
    kube.on('request', onRequest);
    try {
      elector.start();
      await until(() => elector.isLeader, 5_000, 'it leads');
      await until(() => lastRenewal > 0, 5_000, 'it renews');
      failing = true;
      kube.failNext(BURST, { match: { resource: 'leases' } });
      await until(() => !elector.isLeader, 10_000, 'it steps down');
      assert.ok(requests > BURST, 'the apiserver went silent before the leader stepped down');
      assert.equal(stopped.length, 1);
      const margin = lastRenewal + TIMINGS.leaseDurationMs - stopped[0]!;
      assert.ok(margin > 0, `it led ${-margin} ms past the lease`);
    } finally {
      await elector.stop();
      kube.off('request', onRequest);
      kube.clearFaults();
    }
  });

  it('renews over the kept-alive connection it has, not a new TLS connection per request', async () => {
    const elector = new LeaderElector({
      kubeConfig: kube.kubeConfig(),
      namespace: 'default',
      leaseName: 'one-connection',
      identity: 'replica-a',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 20,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    elector.start();
    try {
      await until(() => elector.isLeader, 5_000, 'it leads');
      kube.resetCounters();
      await until(() => kube.requestCount('update', 'leases') >= 10, 10_000, 'ten renewals');
      assert.equal(kube.connectionCount(), 0, 'renewals opened connections of their own');
    } finally {
      await elector.stop();
    }
  });
});
