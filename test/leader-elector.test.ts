import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaderElector } from '../src/kube/leader.ts';
import { type KubeSimulator, startKubeSimulator } from '../sim/kube/index.ts';

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
