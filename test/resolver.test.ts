import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resolution } from '../src/ecr/types.ts';
import type { EcrScenario, SimImage } from '../sim/ecr/index.ts';
import { ACCOUNT, DAY, ecrFixture, HOST, image, NOW, REGION, ref } from './helpers/ecr.ts';

const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY);

function tagged(tags: string[], extra: Partial<SimImage> = {}): SimImage {
  return { tags, pushedAt: at(10), lastRecordedPullTime: at(1), ...extra };
}

/** `count` images tagged t0…t{count-1} in one repository, with legacy-basic scans (facts inline). */
function manyImages(count: number): SimImage[] {
  return Array.from({ length: count }, (_, i) =>
    tagged([`t${i}`], { scan: { kind: 'legacy-basic', status: 'COMPLETE', findings: { HIGH: 1 } } }),
  );
}

function scenario(): EcrScenario {
  return {
    registries: [
      {
        accountId: ACCOUNT,
        region: REGION,
        repositories: [
          { name: 'big', images: manyImages(250) },
          {
            name: 'api',
            images: [
              tagged(['v7'], {
                scan: { kind: 'native-basic', status: 'COMPLETE', findings: { CRITICAL: 3, HIGH: 1 } },
              }),
              tagged(['old'], { imageStatus: 'ARCHIVED' }),
              tagged(['enh'], {
                scan: {
                  kind: 'enhanced',
                  status: 'ACTIVE',
                  findings: { HIGH: 2, UNTRIAGED: 4 },
                  includeCounts: false,
                },
              }),
              tagged(['unscanned']),
            ],
          },
          { name: 'locked', accessDenied: true, images: [tagged(['v1'])] },
        ],
      },
      { accountId: ACCOUNT, region: 'eu-west-1', repositories: [{ name: 'api', images: [tagged(['v7'])] }] },
    ],
  };
}

function resolved(r: Resolution) {
  assert.equal(r.status, 'resolved', r.status === 'unresolved' ? `${r.reason}: ${r.message}` : '');
  return (r as Extract<Resolution, { status: 'resolved' }>).facts;
}

describe('resolver against the ECR simulator', () => {
  let f: Awaited<ReturnType<typeof ecrFixture>>;
  before(async () => {
    f = await ecrFixture(scenario());
  });
  after(() => f.close());

  it('batches tags per repository, at most 100 image IDs a call, and never moves pull times', async () => {
    f.sim.resetCounts();
    const refs = Array.from({ length: 250 }, (_, i) => ref(image('big', `t${i}`)));
    const before = f.sim.lastRecordedPullTime({
      registryId: ACCOUNT,
      region: REGION,
      repository: 'big',
      tag: 't0',
    });
    const results = await f.core.resolver.resolve(refs);
    assert.equal(results.filter((r) => r.status === 'resolved').length, 250);
    const calls = f.sim.calls().filter((c) => c.operation === 'DescribeImages');
    assert.equal(calls.length, 3);
    assert.deepEqual(
      calls.map((c) => (c.body as { imageIds: unknown[] }).imageIds.length).sort(),
      [100, 100, 50],
    );
    for (const c of calls) {
      const body = c.body as { registryId?: string; filter?: { imageStatus?: string } };
      assert.equal(body.registryId, ACCOUNT);
      assert.equal(body.filter?.imageStatus, 'ANY');
    }
    assert.equal(f.sim.requests().byOperation.BatchGetImage ?? 0, 0);
    assert.equal(
      f.sim
        .lastRecordedPullTime({ registryId: ACCOUNT, region: REGION, repository: 'big', tag: 't0' })
        ?.getTime(),
      before?.getTime(),
    );
  });

  it('answers from cache within tagTTL and asks again after it', async () => {
    f.core.resolver.clear();
    const r = ref(image('big', 't1'));
    await f.core.resolver.resolveOne(r);
    f.sim.resetCounts();
    await f.core.resolver.resolveOne(r);
    assert.equal(f.sim.requests().total, 0);
    f.clock.now += 5 * 60_000 + 1; // past the default tagTTL of 5m
    await f.core.resolver.resolveOne(r);
    assert.equal(f.sim.requests().byOperation.DescribeImages, 1);
    f.clock.now = NOW;
  });

  it('finds missing images by splitting the batch, not by asking one at a time', async () => {
    f.core.resolver.clear();
    f.sim.resetCounts();
    const refs = Array.from({ length: 100 }, (_, i) => ref(image('big', i === 37 ? 'nope' : `t${i}`)));
    const results = await f.core.resolver.resolve(refs);
    assert.equal(results[37]?.status, 'unresolved');
    assert.equal((results[37] as { reason: string }).reason, 'not_found');
    assert.equal(results.filter((r) => r.status === 'resolved').length, 99);
    const calls = f.sim.requests().byOperation.DescribeImages ?? 0;
    // One failed call of 100, then two halves per level down to the single missing tag: 1 + 2·7.
    assert.ok(calls <= 15, `expected at most 15 DescribeImages calls, got ${calls}`);
  });

  it('reads scan facts from DescribeImageScanFindings under native basic and enhanced scanning', async () => {
    f.core.resolver.clear();
    f.sim.resetCounts();
    const [native, enhanced, legacy] = await f.core.resolver.resolve([
      ref(image('api', 'v7')),
      ref(image('api', 'enh')),
      ref(image('big', 't3')),
    ]);
    assert.deepEqual(resolved(native!).scan?.findings, { CRITICAL: 3, HIGH: 1 });
    assert.equal(resolved(native!).scan?.status, 'COMPLETE');
    // Inspector's UNTRIAGED counts as UNDEFINED; no counts were given, so the findings were counted.
    assert.deepEqual(resolved(enhanced!).scan?.findings, { HIGH: 2, UNDEFINED: 4 });
    assert.equal(resolved(enhanced!).scan?.status, 'ACTIVE');
    assert.deepEqual(resolved(legacy!).scan?.findings, { HIGH: 1 });
    // Legacy basic scanning puts its facts in DescribeImages: one findings call per other digest only.
    assert.equal(f.sim.requests().byOperation.DescribeImageScanFindings, 2);
  });

  it('reports an image with no scan as NOT_SCANNED', async () => {
    const facts = resolved(await f.core.resolver.resolveOne(ref(image('api', 'unscanned'))));
    assert.equal(facts.scan?.status, 'NOT_SCANNED');
  });

  it('reads an archived image as archived, not missing', async () => {
    const facts = resolved(await f.core.resolver.resolveOne(ref(image('api', 'old'))));
    assert.equal(facts.imageStatus, 'ARCHIVED');
  });

  it('coalesces 100 concurrent asks for one image into one request', async () => {
    f.core.resolver.clear();
    f.sim.resetCounts();
    const r = ref(image('big', 't42'));
    const results = await Promise.all(Array.from({ length: 100 }, () => f.core.resolver.resolveOne(r)));
    assert.ok(results.every((x) => x.status === 'resolved'));
    assert.equal(f.sim.requests().total, 1);
  });

  it('keeps failure reasons', async () => {
    const cases: [string, string][] = [
      [image('api', 'nope'), 'not_found'],
      [image('missing-repo', 'v1'), 'repository_not_found'],
      [image('locked', 'v1'), 'access_denied'],
      [`999999999999.dkr.ecr.${REGION}.amazonaws.com/api:v1`, 'repository_not_found'],
    ];
    for (const [text, reason] of cases) {
      const r = await f.core.resolver.resolveOne(ref(text));
      assert.equal(r.status, 'unresolved', text);
      assert.equal((r as { reason: string }).reason, reason, text);
    }
  });

  it('caches not-found answers for negativeTTL', async () => {
    f.core.resolver.clear();
    const r = ref(image('api', 'ghost'));
    await f.core.resolver.resolveOne(r);
    f.sim.resetCounts();
    await f.core.resolver.resolveOne(r);
    assert.equal(f.sim.requests().total, 0);
    f.clock.now += 60_000 + 1;
    await f.core.resolver.resolveOne(r);
    assert.equal(f.sim.requests().byOperation.DescribeImages, 1);
    f.clock.now = NOW;
  });

  it('uses one client per region, and the region of the registry host', async () => {
    f.core.resolver.clear();
    f.sim.resetCounts();
    const eu = resolved(
      await f.core.resolver.resolveOne(ref(`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api:v7`)),
    );
    assert.equal(eu.region, 'eu-west-1');
    assert.ok((f.sim.requests().byRegion['eu-west-1'] ?? 0) >= 1);
    assert.equal(f.sim.requests().byRegion[REGION] ?? 0, 0);
    assert.equal(f.core.clients.size, 2);
  });

  it('resolves a digest reference by digest', async () => {
    const tagFacts = resolved(await f.core.resolver.resolveOne(ref(image('big', 't5'))));
    const byDigest = resolved(await f.core.resolver.resolveOne(ref(`${HOST}/big@${tagFacts.digest}`)));
    assert.equal(byDigest.digest, tagFacts.digest);
    assert.deepEqual(byDigest.tags, ['t5']);
  });
});

describe('resolver under ECR faults', () => {
  it('retries throttling and 5xx with the SDK standard retry mode', async () => {
    const f = await ecrFixture(scenario(), { ecr: { maxAttempts: 3 } });
    try {
      f.sim.throttleNext(2);
      assert.equal((await f.core.resolver.resolveOne(ref(image('big', 't1')))).status, 'resolved');
      f.sim.failNext(2);
      assert.equal((await f.core.resolver.resolveOne(ref(image('big', 't2')))).status, 'resolved');
      f.sim.throttleNext(3);
      const throttled = await f.core.resolver.resolveOne(ref(image('big', 't3')));
      assert.equal((throttled as { reason: string }).reason, 'throttled');
      f.sim.failNext(3);
      const failed = await f.core.resolver.resolveOne(ref(image('big', 't4')));
      assert.equal((failed as { reason: string }).reason, 'error');
      // Transient failures are not cached: the next ask succeeds.
      assert.equal((await f.core.resolver.resolveOne(ref(image('big', 't3')))).status, 'resolved');
    } finally {
      await f.close();
    }
  });

  it('turns malformed answers into `error` and silence into `timeout`', async () => {
    const f = await ecrFixture(scenario(), { ecr: { maxAttempts: 1 } }, { requestTimeoutMs: 300 });
    try {
      f.sim.malformedNext(1);
      const malformed = await f.core.resolver.resolveOne(ref(image('big', 't1')));
      assert.equal((malformed as { reason: string }).reason, 'error');
      f.sim.hangNext(1);
      const hung = await f.core.resolver.resolveOne(ref(image('big', 't2')));
      assert.equal((hung as { reason: string }).reason, 'timeout');
    } finally {
      await f.close();
    }
  });

  it('resolves tags with BatchGetImage when asked to, which ECR counts as a pull', async () => {
    const f = await ecrFixture(scenario(), { ecr: { resolveWith: 'BatchGetImage' } });
    try {
      const refImage = { registryId: ACCOUNT, region: REGION, repository: 'big', tag: 't9' };
      const before = f.sim.lastRecordedPullTime(refImage);
      const [found, missing] = await f.core.resolver.resolve([
        ref(image('big', 't9')),
        ref(image('big', 'nope')),
      ]);
      assert.equal(found?.status, 'resolved');
      assert.equal((missing as { reason: string }).reason, 'not_found');
      assert.equal(f.sim.requests().byOperation.BatchGetImage, 1);
      assert.notEqual(f.sim.lastRecordedPullTime(refImage)?.getTime(), before?.getTime());
    } finally {
      await f.close();
    }
  });
});

describe('resolver finding many missing images', () => {
  it('lists the repository instead of bisecting when several IDs of a batch are missing', async () => {
    const f = await ecrFixture(scenario());
    try {
      const refs = [
        ref(image('big', 't1')),
        ...Array.from({ length: 99 }, (_, i) => ref(image('big', `gone-${i}`))),
      ];
      const results = await f.core.resolver.resolve(refs);
      assert.equal(results[0]?.status, 'resolved');
      assert.ok(results.slice(1).every((r) => r.status === 'unresolved' && r.reason === 'not_found'));
      // The batch, its two halves, then one listing page of the 250-image repository.
      assert.equal(f.sim.requests().byOperation.DescribeImages, 4);
    } finally {
      await f.close();
    }
  });

  it('reads an archived image as archived under BatchGetImage too (ECR fails it as ImageInaccessible)', async () => {
    const f = await ecrFixture(scenario(), { ecr: { resolveWith: 'BatchGetImage' } });
    try {
      const facts = resolved(await f.core.resolver.resolveOne(ref(image('api', 'old'))));
      assert.equal(facts.imageStatus, 'ARCHIVED');
    } finally {
      await f.close();
    }
  });
});
