import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateScenario } from '../sim/ecr/index.ts';
import { DAY, ecrFixture, NOW, ref } from './helpers/ecr.ts';

/**
 * The warm path (Resolver.resolveCached, and the assessor's judging at once from it) must give what
 * the full path gives: its second opinion is resolveOne itself, over a scenario with every scan
 * engine, image indexes, archived images and tags that do not exist.
 */
describe('answers from the cache alone', () => {
  const scenario = generateScenario({
    repositories: 12,
    imagesPerRepository: 3,
    now: new Date(NOW - DAY),
    indexShare: 0.5,
    archivedEvery: 5,
  });
  const images = scenario.registries.flatMap((registry) =>
    registry.repositories.flatMap((repository) =>
      repository.images.flatMap((image) => {
        const host = `${registry.accountId}.dkr.ecr.${registry.region}.amazonaws.com`;
        const byTag = (image.tags ?? []).map((tag) => `${host}/${repository.name}:${tag}`);
        return [...byTag, `${host}/${repository.name}:no-such-tag`];
      }),
    ),
  );

  it('equal resolveOne’s answers for every image once resolved, and nothing before', async () => {
    const f = await ecrFixture(scenario);
    try {
      const { resolver } = f.core;
      for (const image of images) assert.equal(resolver.resolveCached(ref(image)), undefined, image);
      let compared = 0;
      const queue = [...images];
      for (const image of queue) {
        const full = await resolver.resolveOne(ref(image), { tagMutability: true });
        const cached = resolver.resolveCached(ref(image), { tagMutability: true });
        if (full.status !== 'resolved') {
          // Failures take the full path (a pull-through check, a retry): never answered from here.
          assert.equal(cached, undefined, image);
          continue;
        }
        assert.deepEqual(cached, full, image);
        compared++;
        // The same image by digest (stage 1 skipped), once per tag-named image.
        if (!image.includes('@'))
          queue.push(`${image.slice(0, image.lastIndexOf(':'))}@${full.facts.digest}`);
      }
      assert.ok(compared > images.length / 2, `${compared} of ${images.length} compared`);
    } finally {
      await f.close();
    }
  });

  it('answer nothing once an answer is past its TTL, so the full path (and its stale rules) decides', async () => {
    const f = await ecrFixture(scenario);
    try {
      const image = images[0]!;
      await f.core.resolver.resolveOne(ref(image));
      assert.notEqual(f.core.resolver.resolveCached(ref(image)), undefined);
      f.clock.now += 24 * 3_600_000;
      assert.equal(f.core.resolver.resolveCached(ref(image)), undefined);
    } finally {
      await f.close();
    }
  });

  it('give the assessor the same verdict, lifecycle forecast included, as asking ECR', async () => {
    // Lifecycle forecasts (on by default) and tag mutability both asked for.
    const overrides = {
      policy: { mode: 'enforce', checks: { digestRequired: { action: 'warn', acceptImmutableTags: true } } },
    };
    const f = await ecrFixture(scenario, overrides);
    try {
      const { assessor } = f.core;
      const first = await Promise.all(images.map((image) => assessor.assess(image, { deadlineMs: 5_000 })));
      const calls = f.sim.requests().total;
      const second = await Promise.all(images.map((image) => assessor.assess(image, { deadlineMs: 5_000 })));
      assert.deepEqual(second, first);
      assert.equal(f.sim.requests().total, calls, 'the warm pass asked ECR nothing');
    } finally {
      await f.close();
    }
  });

  it('reuse a webhook verdict for a second of the clock at most, and never across a cleared cache', async () => {
    const f = await ecrFixture(scenario);
    try {
      const { assessor, resolver } = f.core;
      const image = images[0]!;
      const webhook = { namespace: 'shop', deadlineMs: 2_000 };
      await assessor.assess(image, webhook); // fills the cache
      const judged = await assessor.assess(image, webhook); // judged from the cache
      assert.equal(await assessor.assess(image, webhook), judged, 'reused within the second');
      assert.notEqual(await assessor.assess(image, { ...webhook, namespace: 'other' }), judged);
      assert.notEqual(await assessor.assess(image), judged, 'only the webhook’s lookups reuse verdicts');
      f.clock.now += 1_001;
      const later = await assessor.assess(image, webhook);
      assert.notEqual(later, judged, 'judged again after the second');
      assert.deepEqual(later.evaluation.verdict, judged.evaluation.verdict);
      resolver.clear();
      const calls = f.sim.requests().total;
      assert.notEqual(await assessor.assess(image, webhook), later, 'a cleared cache voids the verdict');
      assert.ok(f.sim.requests().total > calls, 'and ECR is asked again');
    } finally {
      await f.close();
    }
  });
});
