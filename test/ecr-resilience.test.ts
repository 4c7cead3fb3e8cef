/**
 * Deciding well while ECR is slow or down: the webhook's lookups never wait behind the inventory's
 * refresh, a known answer outlives an outage, and made-up regions cost nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EcrClients } from '../src/ecr/clients.ts';
import { parseImageReference } from '../src/images/reference.ts';
import type { EcrScenario, SimImage } from '../sim/ecr/index.ts';
import { ACCOUNT, DAY, ecrFixture, image, NOW, REGION, ref, scanned } from './helpers/ecr.ts';
import { ecrImage, ecrRef, samples, scrape, startWarden, startWorld } from './helpers/world.ts';

const tagged = (tags: string[], extra: Partial<SimImage> = {}): SimImage => ({
  tags,
  pushedAt: new Date(NOW - 10 * DAY),
  scan: scanned({ HIGH: 1 }),
  ...extra,
});

/** `repositories` repositories of `perRepository` tagged images each, plus one the refresh never asks for. */
function fleet(repositories: number, perRepository: number): EcrScenario {
  return {
    registries: [
      {
        accountId: ACCOUNT,
        region: REGION,
        repositories: [
          ...Array.from({ length: repositories }, (_, r) => ({
            name: `svc-${r}`,
            images: Array.from({ length: perRepository }, (_, i) => tagged([`v${i}`])),
          })),
          { name: 'urgent', images: [tagged(['v1'], { scan: scanned({ CRITICAL: 1 }) })] },
        ],
      },
    ],
  };
}

describe('admission first', () => {
  it('answers a review for an uncached image before the deadline while a refresh of 400 images runs', async () => {
    // 400 images in 40 repositories at 50 ms a call: 40 DescribeImages and 400 findings calls, over
    // 2.7 s of ECR work at eight calls at once through one FIFO queue, past a 2 s deadline.
    const f = await ecrFixture(fleet(40, 10), { policy: { mode: 'enforce' } }, { latencyMs: 50 });
    try {
      const refs = Array.from({ length: 40 }, (_, r) =>
        Array.from({ length: 10 }, (_, i) => ref(image(`svc-${r}`, `v${i}`))),
      ).flat();
      let refreshDone = false;
      const refresh = f.core.resolver.resolve(refs, { lane: 'bulk' }).then((all) => {
        refreshDone = true;
        return all;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      const review = await f.core.assessor.assess(image('urgent', 'v1'), { deadlineMs: 2_000 });
      const took = performance.now() - started;
      assert.equal(review.status, 'resolved', `answered ${review.reason ?? ''} after ${took.toFixed(0)} ms`);
      assert.equal(review.evaluation.verdict, 'deny', 'judged on its facts, not by policy.onError');
      assert.equal(refreshDone, false, 'the refresh was still running when the review was answered');
      assert.ok((await refresh).every((r) => r.status === 'resolved'));
    } finally {
      await f.close();
    }
  });

  it('gives the webhook an expired answer at once and refreshes it behind', async () => {
    const f = await ecrFixture(fleet(1, 1), { ecr: { tagTTL: '10s', detailTTL: '10s' } }, { latencyMs: 300 });
    try {
      const urgent = ref(image('urgent', 'v1'));
      assert.equal((await f.core.resolver.resolveOne(urgent)).status, 'resolved');
      f.clock.now += 11_000;
      f.sim.resetCounts();
      const started = performance.now();
      const answer = await f.core.resolver.resolveOne(urgent, { lane: 'admission' });
      assert.equal(answer.status, 'resolved');
      assert.ok(performance.now() - started < 300, 'served without waiting for ECR');
      // One refresh went out behind the answer, and lands in the cache.
      await f.sim.waitForCall();
      await new Promise((resolve) => setTimeout(resolve, 700));
      const calls = f.sim.requests().total;
      assert.ok(calls >= 1);
      f.sim.resetCounts();
      assert.equal((await f.core.resolver.resolveOne(urgent)).status, 'resolved');
      assert.equal(f.sim.requests().total, 0, 'the refreshed answer is fresh again');
    } finally {
      await f.close();
    }
  });
});

describe('through an outage', () => {
  it('keeps every fact series and admission decision for known images, and refreshes after it', async () => {
    const clock = { now: NOW };
    const world = await startWorld({
      repositories: [
        { name: 'api', images: [ecrImage(['v7'], { scan: scanned({ CRITICAL: 2 }) })] },
        { name: 'web', images: [ecrImage(['v1'], { scan: scanned({ LOW: 1 }) })] },
      ],
    });
    const warden = await startWarden(
      world,
      {
        ecr: { tagTTL: '10s', detailTTL: '10s', negativeTTL: '5s', staleIfError: '1h', maxAttempts: 1 },
        policy: { mode: 'enforce' },
      },
      { now: () => clock.now, ecrRequestTimeoutMs: 200 },
    );
    try {
      world.kube.upsertPod(
        world.pod('shop', 'api-0', { api: ecrRef('api', 'v7'), web: ecrRef('web', 'v1') }),
      );
      await warden.whenInventorySynced();
      await warden.inventory!.refresh();
      const facts = (text: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith('ecr_warden_image_') || l.startsWith('ecr_warden_policy_violations'))
          .join('\n');
      const before = facts(await scrape(warden));
      assert.match(
        before,
        /ecr_warden_image_scan_findings\{[^}]*repository="api"[^}]*severity="CRITICAL"\} 2/,
      );
      const verdict = async () =>
        (await warden.core.assessor.assess(ecrRef('api', 'v7'), { deadlineMs: 1_000 })).evaluation.verdict;
      assert.equal(await verdict(), 'deny');

      // A minute of ECR answering 500 to everything, refreshed every ten seconds, TTLs long past.
      world.ecr.failNext(100_000);
      for (let second = 10; second <= 60; second += 10) {
        clock.now = NOW + second * 1000;
        await warden.inventory!.refresh();
        assert.equal(facts(await scrape(warden)), before, `facts unchanged ${second}s into the outage`);
        assert.equal(await verdict(), 'deny', `the webhook still judges on facts ${second}s in`);
      }
      assert.deepEqual(samples(await scrape(warden), 'ecr_warden_image_unresolved'), []);
      assert.match(await scrape(warden), /ecr_warden_cache_requests_total\{result="stale"\} [1-9]/);

      // ECR recovers with news: the CRITICAL findings were fixed by a rescan.
      world.ecr.clearFaults();
      world.ecr.setScan({ registryId: ACCOUNT, region: REGION, repository: 'api', tag: 'v7' }, scanned({}));
      clock.now = NOW + 80_000;
      await warden.inventory!.refresh();
      assert.match(
        await scrape(warden),
        /ecr_warden_image_scan_findings\{[^}]*repository="api"[^}]*severity="CRITICAL"\} 0/,
      );
      assert.equal(await verdict(), 'allow');
    } finally {
      await warden.stop();
      await world.close();
    }
  });
});

describe('regions from pod specs', () => {
  it('2,000 pods naming made-up regions create no client, no ECR call and no series per region', async () => {
    const world = await startWorld({ repositories: [{ name: 'api', images: [ecrImage(['v7'])] }] });
    const warden = await startWarden(world);
    try {
      world.kube.bulkLoad(
        Array.from({ length: 2_000 }, (_, i) =>
          world.pod('shop', `p-${i}`, { app: `${ACCOUNT}.dkr.ecr.us-fake-${i}.amazonaws.com/api:v7` }),
        ),
      );
      await warden.whenInventorySynced();
      await warden.inventory!.settled();
      const text = await scrape(warden);
      assert.deepEqual(samples(text, 'ecr_warden_image_unresolved'), [
        'ecr_warden_image_unresolved{registry_id="",region="",repository="",reason="invalid_reference"} 2000',
      ]);
      assert.equal(warden.core.clients.size, 0);
      assert.equal(world.ecr.requests().total, 0);
      assert.doesNotMatch(text, /us-fake/);
      const parsed = parseImageReference(`${ACCOUNT}.dkr.ecr.us-fake-1.amazonaws.com/api:v7`);
      assert.equal(parsed.ok, false);
    } finally {
      await warden.stop();
      await world.close();
    }
  });

  it('keeps ECR clients in a bounded cache, least recently used out first', () => {
    const clients = new EcrClients({ maxAttempts: 1, assumeRoles: {} }, 2);
    try {
      const east = clients.clientFor(ACCOUNT, 'us-east-1');
      clients.clientFor(ACCOUNT, 'eu-west-1');
      assert.equal(clients.clientFor(ACCOUNT, 'us-east-1'), east, 'reused');
      clients.clientFor(ACCOUNT, 'ap-south-1');
      assert.equal(clients.size, 2);
      assert.equal(clients.clientFor(ACCOUNT, 'us-east-1'), east, 'the recently used client stayed');
      assert.notEqual(clients.clientFor(ACCOUNT, 'eu-west-1'), undefined);
      assert.equal(clients.size, 2);
    } finally {
      clients.destroy();
    }
  });
});
