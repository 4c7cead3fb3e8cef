/**
 * Results where Kubernetes users look (SPEC section 11), from the running controller: the
 * inventory's findings reach the apiserver as Events on the pods and a Report per namespace, from
 * the replica that runs the inventory only, and not at all with reports.events off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildPod, openReportsCrds } from '../sim/kube/index.ts';
import { scanned } from './helpers/ecr.ts';
import type { Controller } from '../src/commands/serve.ts';
import { ecrImage, ecrRef, eventually, HOST, startWarden, startWorld, type World } from './helpers/world.ts';

const FAST = { events: { tickMs: 50 }, openReports: { tickMs: 50, minIntervalMs: 100 } };
const REPORTS_ON = { reports: { events: true, openReports: true }, policy: { mode: 'enforce' } };

function repositories() {
  return [
    { name: 'ledger', images: [ecrImage(['v1'], { scan: scanned({ CRITICAL: 3 }) })] },
    {
      name: 'web',
      images: [ecrImage(['stable'], { scan: scanned({}) }), ecrImage(['old'], { scan: scanned({}) })],
    },
  ];
}

describe('Events and Reports from the controller', () => {
  let world: World;
  let warden: Controller;

  before(async () => {
    world = await startWorld({ repositories: repositories(), kube: { crds: openReportsCrds() } });
    world.kube.upsertPod(world.pod('shop', 'ledger-0', { ledger: ecrRef('ledger', 'v1') }));
    // The node still runs the old digest: the tag moved after the pod started.
    world.kube.upsertPod(
      world.pod(
        'shop',
        'web-0',
        { web: ecrRef('web', 'stable') },
        { running: { web: world.digest('web', 'old') } },
      ),
    );
    warden = await startWarden(world, REPORTS_ON, { writers: FAST });
    await warden.whenInventorySynced();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('puts one ImagePolicyViolation Event on the violating pod, naming container, image and check', async () => {
    const events = await eventually(() => {
      const found = world.kube.events({ regarding: { kind: 'Pod', name: 'ledger-0' } });
      assert.equal(found.length, 1);
      return found;
    });
    const event = events[0] as unknown as {
      reason: string;
      note: string;
      type: string;
      reportingController: string;
    };
    assert.equal(event.reason, 'ImagePolicyViolation');
    assert.equal(event.type, 'Warning');
    assert.equal(event.reportingController, 'ecr-warden.io/controller');
    assert.equal(event.note, `container "ledger" image ${HOST}/ledger:v1: 3 CRITICAL findings (max 0)`);
  });

  it('puts ImageDrift on the drifted pod', async () => {
    await eventually(() => {
      const reasons = world.kube
        .events({ regarding: { kind: 'Pod', name: 'web-0' } })
        .map((e) => (e as unknown as { reason: string }).reason);
      assert.deepEqual(reasons, ['ImageDrift']);
    });
  });

  it("writes the namespace's Report with exactly its failing and warning results", async () => {
    const report = await eventually(() => {
      const r = world.kube.report('shop', 'ecr-warden') as
        | {
            summary: Record<string, number>;
            results: { rule: string; result: string; properties: Record<string, string> }[];
          }
        | undefined;
      assert.ok(r);
      assert.equal(r.results.length, 2);
      return r;
    });
    assert.deepEqual(report.results.map((r) => `${r.rule}:${r.result}:${r.properties.container}`).sort(), [
      'drift:warn:web',
      'severity:fail:ledger',
    ]);
    assert.equal(report.summary.fail, 1);
    assert.equal(report.summary.warn, 1);
  });

  it('removes the results of a deleted pod, and the Report when nothing is left', async () => {
    world.kube.deletePod('shop', 'ledger-0');
    await eventually(() => {
      const r = world.kube.report('shop', 'ecr-warden') as { results: unknown[] } | undefined;
      assert.equal(r?.results.length, 1);
    });
    world.kube.deletePod('shop', 'web-0');
    await eventually(() => assert.equal(world.kube.report('shop', 'ecr-warden'), undefined));
  });
});

describe('with reports.events off', () => {
  it('writes no Event', async () => {
    const world = await startWorld({ repositories: repositories(), kube: { crds: openReportsCrds() } });
    const warden = await startWarden(
      world,
      { reports: { events: false }, policy: { mode: 'enforce' } },
      { writers: FAST },
    );
    try {
      world.kube.upsertPod(world.pod('shop', 'ledger-0', { ledger: ecrRef('ledger', 'v1') }));
      await warden.whenInventorySynced();
      await eventually(async () => {
        await warden.inventory!.settled();
        assert.equal([...warden.inventory!.podFindings()].length, 1);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(world.kube.writeCount({ resource: 'events' }), 0);
    } finally {
      await warden.stop();
      await world.close();
    }
  });
});

describe('with two replicas', () => {
  it('only the leader writes Events', async () => {
    const world = await startWorld({ repositories: repositories(), kube: { crds: openReportsCrds() } });
    world.kube.upsertPod(
      buildPod({
        namespace: 'shop',
        name: 'ledger-0',
        containers: [{ name: 'ledger', image: ecrRef('ledger', 'v1') }],
      }),
    );
    const election = {
      ...REPORTS_ON,
      leaderElection: { enabled: true, namespace: 'kube-system' },
      metrics: { address: '127.0.0.1', port: 0 },
    };
    const timings = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };
    const a = await startWarden(world, election, {
      writers: FAST,
      leaderTimings: timings,
      env: { POD_NAME: 'replica-a' },
    });
    const b = await startWarden(world, election, {
      writers: FAST,
      leaderTimings: timings,
      env: { POD_NAME: 'replica-b' },
    });
    try {
      const leader = await eventually(() => {
        const leaders = [a, b].filter((w) => w.isLeader());
        assert.equal(leaders.length, 1);
        return leaders[0]!;
      });
      const instance = leader === a ? 'replica-a' : 'replica-b';
      await eventually(() => assert.equal(world.kube.events({ regarding: { name: 'ledger-0' } }).length, 1));
      const writers = new Set(
        world.kube.events().map((e) => (e as unknown as { reportingInstance: string }).reportingInstance),
      );
      assert.deepEqual([...writers], [instance]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await world.close();
    }
  });
});
