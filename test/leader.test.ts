import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Controller, ControllerDeps } from '../src/commands/serve.ts';
import type { KubeSimulator } from '../sim/kube/index.ts';
import {
  ecrImage,
  ecrRef,
  eventually,
  get,
  NOW,
  type Relay,
  samples,
  scrape,
  startRelay,
  startWarden,
  startWorld,
  value,
  type World,
} from './helpers/world.ts';

/**
 * Short timings in client-go's proportions. Leases carry whole seconds, so the lease is 2 s; the
 * clocks below are injected and only move when a test moves them, so no assertion depends on timing.
 */
const TIMINGS = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100 };
const LEASE = { namespace: 'default', name: 'ecr-warden' };

/** Resolves after `count` more lease reads reach the API server: that many election rounds went by. */
function leaseReads(kube: KubeSimulator, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const listener = (info: { verb: string; resource: string }) => {
      if (info.verb !== 'get' || info.resource !== 'leases' || ++seen < count) return;
      kube.off('request', listener);
      resolve();
    };
    kube.on('request', listener);
  });
}

/** Whether a replica runs the inventory, as its /metrics tells. */
async function runsInventory(replica: Controller): Promise<{ leader: number; images: number; pods: number }> {
  const text = await scrape(replica);
  return {
    leader: value(text, 'ecr_warden_leader') ?? -1,
    images: samples(text, 'ecr_warden_image_info').length,
    pods: value(text, 'ecr_warden_pods_tracked') ?? -1,
  };
}

const LEADING = { leader: 1, images: 1, pods: 2 };
const FOLLOWING = { leader: 0, images: 0, pods: 0 };

describe('leader election', () => {
  let world: World;
  let replicas: Controller[];
  let relays: Relay[];

  const replica = async (name: string, deps: Partial<ControllerDeps> = {}): Promise<Controller> => {
    const c = await startWarden(
      world,
      { leaderElection: { enabled: true, namespace: LEASE.namespace } },
      { env: { POD_NAME: name }, leaderTimings: TIMINGS, ...deps },
    );
    replicas.push(c);
    return c;
  };
  const holder = () => world.kube.lease(LEASE.namespace, LEASE.name)?.spec?.holderIdentity;
  const identity = (name: string) => `${name}_${process.pid}`;

  beforeEach(async () => {
    replicas = [];
    relays = [];
    world = await startWorld({ repositories: [{ name: 'api', images: [ecrImage(['v7'])] }] });
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: ecrRef('api', 'v7') }));
    world.kube.upsertPod(world.pod('shop', 'api-1', { api: ecrRef('api', 'v7') }));
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all(relays.map((r) => r.close()));
    await world.close();
  });

  it('runs the inventory on one replica only, and hands over at once when the leader releases', async () => {
    const a = await replica('a');
    await eventually(async () => assert.deepEqual(await runsInventory(a), LEADING));
    const b = await replica('b');
    await leaseReads(world.kube, 6);

    assert.equal(b.isLeader(), false);
    assert.deepEqual(await runsInventory(b), FOLLOWING);
    assert.deepEqual(await runsInventory(a), LEADING);
    assert.equal(world.kube.requestCount('list', 'pods'), 1, 'only the leader lists pods');
    assert.equal(holder(), identity('a'));
    // A follower has nothing to wait for: it is ready.
    assert.equal((await get(b, '/readyz')).status, 200);

    // SIGTERM on the leader: it releases the lease. The clock has not moved, so the lease could
    // not have expired: only the release lets b take over.
    await a.stop();
    await eventually(async () => assert.deepEqual(await runsInventory(b), LEADING));
    assert.equal(holder(), identity('b'));
  });

  it('replaces a leader cut off from the API server once its lease expires, not before', async () => {
    const clock = { now: NOW };
    const relay = await startRelay(world.kube);
    relays.push(relay);
    const a = await replica('a', { kubeConfig: relay.kubeConfig(), now: () => clock.now });
    await eventually(async () => assert.deepEqual(await runsInventory(a), LEADING));
    const b = await replica('b', { now: () => clock.now });
    await leaseReads(world.kube, 4);
    assert.deepEqual(await runsInventory(b), FOLLOWING);

    assert.ok(world.kube.requestCount('update', 'leases') > 0, 'the leader renews');
    relay.cut();
    // Just short of the lease duration since the last renewal b saw: the lease is still a's.
    clock.now += TIMINGS.leaseDurationMs - 1;
    await leaseReads(world.kube, 1);
    const renewals = world.kube.requestCount('update', 'leases');
    // Every lease read reaching the server now is b's: several rounds without taking over.
    await leaseReads(world.kube, 5);
    assert.equal(world.kube.requestCount('update', 'leases'), renewals, 'a still renews through the cut');
    assert.deepEqual(await runsInventory(b), FOLLOWING);
    assert.equal(holder(), identity('a'));
    // a, past its renew deadline, has stepped down on its own: two leaders never overlap.
    await eventually(async () => assert.deepEqual(await runsInventory(a), FOLLOWING));

    clock.now += 2;
    await eventually(async () => assert.deepEqual(await runsInventory(b), LEADING));
    assert.equal(holder(), identity('b'));
  });

  it("does not let a follower whose clock runs ahead take over a live leader's lease", async () => {
    const a = await replica('a', { now: () => NOW });
    await eventually(async () => assert.deepEqual(await runsInventory(a), LEADING));
    // b's clock is a minute ahead of a's: the renew times a writes look long expired to it. Expiry
    // must be judged by b's own observation of the lease changing, as client-go does.
    const b = await replica('b', { now: () => NOW + 60_000 });
    await leaseReads(world.kube, 10);
    assert.deepEqual(await runsInventory(b), FOLLOWING);
    assert.deepEqual(await runsInventory(a), LEADING);
    assert.equal(holder(), identity('a'));
  });
});
