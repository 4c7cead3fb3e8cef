/**
 * The images people actually push, through the real SDK against the ECR simulator: image indexes
 * (BuildKit's single-platform index with its attestation, multi-arch OCI indexes, Docker manifest
 * lists), unfinished scans, pull-through cache repositories not pulled yet, and tag mutability —
 * judged the same by the resolver, `check`, `/validate`, `/mutate` and the inventory's metrics.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import type { ImageFacts, Resolution } from '../src/ecr/types.ts';
import type { ImageJson } from '../src/output/json.ts';
import type { EcrScenario, SimRepository } from '../sim/ecr/index.ts';
import {
  ACCOUNT,
  buildkitImage,
  DAY,
  ecrFixture,
  HOST,
  image,
  multiArchImage,
  NOW,
  REGION,
  ref,
  scanned,
} from './helpers/ecr.ts';
import { decodePatch, reviewOf, startWebhookFixture } from './helpers/reviews.ts';
import { ecrRef, samples, scrape, startWarden, startWorld, value } from './helpers/world.ts';

const CLI = new URL('../src/cli.ts', import.meta.url).pathname;
const ENFORCE = { policy: { mode: 'enforce' } };

/** A repository of the test registry. */
const repo = (name: string, images: SimRepository['images'], extra: Partial<SimRepository> = {}) => ({
  name,
  images,
  ...extra,
});

function scenario(
  repositories: SimRepository[],
  extra: Partial<EcrScenario['registries'][number]> = {},
): EcrScenario {
  return { registries: [{ accountId: ACCOUNT, region: REGION, repositories, ...extra }] };
}

function resolved(r: Resolution): ImageFacts {
  assert.equal(r.status, 'resolved', r.status === 'unresolved' ? `${r.reason}: ${r.message}` : '');
  return (r as Extract<Resolution, { status: 'resolved' }>).facts;
}

/** What ECR itself calls the digest of a tag, and the digests an index lists. */
function digestsOf(
  sim: { image(r: object): { digest: string; children: readonly string[] } | undefined },
  repository: string,
  tag: string,
) {
  const view = sim.image({ registryId: ACCOUNT, region: REGION, repository, tag });
  assert.ok(view, `${repository}:${tag} exists in the simulator`);
  return view;
}

const INDEXES = scenario([
  repo('checkout', [buildkitImage({ tags: ['v1'], scan: scanned({ CRITICAL: 2 }) })]),
  repo('gateway', [
    multiArchImage({
      tags: ['oci'],
      platforms: { 'linux/amd64': scanned({ HIGH: 3 }), 'linux/arm64': scanned({ MEDIUM: 1 }) },
    }),
    multiArchImage({
      tags: ['docker'],
      format: 'docker',
      platforms: { 'linux/amd64': scanned({ HIGH: 3 }), 'linux/arm64/v8': scanned({ MEDIUM: 1 }) },
    }),
  ]),
]);

describe('an image index', () => {
  it('is judged by its platform image: a BuildKit index with 2 CRITICAL findings inside', async () => {
    const f = await ecrFixture(INDEXES, ENFORCE);
    try {
      const view = digestsOf(f.sim, 'checkout', 'v1');
      const facts = resolved(await f.core.resolver.resolveOne(ref(image('checkout', 'v1'))));
      assert.equal(facts.digest, view.digest, 'the facts carry the index digest, as the tag names it');
      assert.deepEqual(facts.scan?.findings, { CRITICAL: 2 });
      assert.equal(facts.scan?.status, 'COMPLETE');
      // One platform image: the provenance attestation manifest BuildKit adds is left out.
      assert.equal(view.children.length, 2);
      assert.deepEqual(
        facts.index?.platforms?.map((p) => p.platform),
        ['linux/amd64'],
      );
      assert.ok(view.children.includes(facts.index!.platforms![0]!.digest));
      const { evaluation } = await f.core.assessor.assess(image('checkout', 'v1'));
      assert.equal(evaluation.verdict, 'deny');
      assert.deepEqual(
        evaluation.violations.map((v) => `${v.check} ${v.action}: ${v.message}`),
        ['severity deny: 2 CRITICAL findings (max 0)'],
      );
    } finally {
      await f.close();
    }
  });

  for (const tag of ['oci', 'docker']) {
    it(`counts, per severity, the worst platform of a multi-arch image (${tag === 'oci' ? 'OCI index' : 'Docker manifest list'})`, async () => {
      const f = await ecrFixture(INDEXES, {
        policy: { mode: 'enforce', checks: { severity: { max: { HIGH: 0 } } } },
      });
      try {
        const facts = resolved(await f.core.resolver.resolveOne(ref(image('gateway', tag))));
        assert.deepEqual(facts.scan?.findings, { HIGH: 3, MEDIUM: 1 });
        assert.equal(facts.index?.platforms?.length, 2);
        const { evaluation } = await f.core.assessor.assess(image('gateway', tag));
        assert.deepEqual(
          evaluation.violations.map((v) => v.message),
          ['3 HIGH findings (max 0)'],
        );
      } finally {
        await f.close();
      }
    });
  }

  it('reads the index manifests of one repository in one BatchGetImage call, and never again', async () => {
    const f = await ecrFixture(INDEXES, { ecr: { tagTTL: '1m', detailTTL: '1m', negativeTTL: '1m' } });
    try {
      f.sim.resetCounts();
      await f.core.resolver.resolve([ref(image('gateway', 'oci')), ref(image('gateway', 'docker'))]);
      const reads = f.sim.calls().filter((c) => c.operation === 'BatchGetImage');
      assert.equal(reads.length, 1);
      assert.equal((reads[0]!.body as { imageIds: unknown[] }).imageIds.length, 2);
      assert.equal(f.sim.requests().byOperation.DescribeImageScanFindings, 4, 'one per platform image');
      // Every TTL expires: tags, details and scans are asked again; the content-addressed indexes are not.
      f.clock.now += 2 * 60_000;
      f.sim.resetCounts();
      const again = await f.core.resolver.resolve([
        ref(image('gateway', 'oci')),
        ref(image('gateway', 'docker')),
      ]);
      assert.ok(again.every((r) => r.status === 'resolved'));
      assert.equal(f.sim.requests().byOperation.BatchGetImage ?? 0, 0);
      assert.equal(f.sim.requests().byOperation.DescribeImageScanFindings, 4);
    } finally {
      await f.close();
    }
  });

  it('has unknown findings with ecr.followIndexes off, and says why', async () => {
    const f = await ecrFixture(INDEXES, {
      ecr: { followIndexes: false },
      policy: { onError: 'deny', mode: 'enforce' },
    });
    try {
      f.sim.resetCounts();
      const facts = resolved(await f.core.resolver.resolveOne(ref(image('checkout', 'v1'))));
      assert.equal(facts.scan, null);
      assert.deepEqual(facts.index, { platforms: null, error: null });
      assert.equal(f.sim.requests().byOperation.BatchGetImage ?? 0, 0, 'the index is not read');
      const { evaluation } = await f.core.assessor.assess(image('checkout', 'v1'));
      assert.equal(evaluation.verdict, 'deny');
      assert.deepEqual(
        evaluation.violations.map((v) => `${v.check} ${v.action}: ${v.message}`),
        [
          'scanComplete warn: could not check scanComplete: scan status unknown: the image is an index and ecr.followIndexes is off (policy.onError: deny)',
          'severity deny: could not check severity: findings unknown: the image is an index and ecr.followIndexes is off (policy.onError: deny)',
        ],
      );
    } finally {
      await f.close();
    }
  });

  it('is denied by `check` under enforce, with its one platform in the JSON', async () => {
    const f = await ecrFixture(INDEXES);
    try {
      const view = digestsOf(f.sim, 'checkout', 'v1');
      const run = await cli(
        ['check', '--mode', 'enforce', '-o', 'json', image('checkout', 'v1')],
        f.sim.endpoint,
      );
      assert.equal(run.code, 1, run.stderr);
      const [element] = JSON.parse(run.stdout) as ImageJson[];
      assert.equal(element?.digest, view.digest);
      assert.equal(element?.verdict, 'deny');
      assert.deepEqual(element?.scan?.findings, { CRITICAL: 2 });
      assert.equal(element?.platforms?.length, 1);
      assert.equal(element?.platforms?.[0]?.platform, 'linux/amd64');
      assert.deepEqual(element?.platforms?.[0]?.scan?.findings, { CRITICAL: 2 });
      assert.deepEqual(element?.violations, [
        { check: 'severity', action: 'deny', message: '2 CRITICAL findings (max 0)' },
      ]);
    } finally {
      await f.close();
    }
  });

  it('is denied at /validate', async () => {
    const f = await startWebhookFixture({ scenario: INDEXES, settings: ENFORCE });
    try {
      const { response } = await f.client.review('/validate', reviewOf('Pod', [image('checkout', 'v1')]));
      assert.equal(response.allowed, false);
      assert.equal(
        response.status?.message,
        `container "c0" image ${image('checkout', 'v1')}: 2 CRITICAL findings (max 0)`,
      );
    } finally {
      await f.close();
    }
  });

  it('counts as a violation in the inventory, with its findings and platforms under the index digest', async () => {
    const world = await startWorld({ repositories: INDEXES.registries[0]!.repositories });
    let warden: Awaited<ReturnType<typeof startWarden>> | undefined;
    try {
      world.kube.upsertPod(world.pod('shop', 'checkout-0', { app: ecrRef('checkout', 'v1') }));
      warden = await startWarden(world, ENFORCE);
      await warden.whenInventorySynced();
      await warden.inventory!.settled();
      const text = await scrape(warden);
      const digest = world.digest('checkout', 'v1');
      const labels = `registry_id="${ACCOUNT}",region="${REGION}",repository="checkout",digest="${digest}"`;
      assert.equal(value(text, `ecr_warden_image_scan_findings{${labels},severity="CRITICAL"}`), 2);
      assert.equal(value(text, `ecr_warden_image_platforms{${labels}}`), 1);
      assert.deepEqual(samples(text, 'ecr_warden_policy_violations'), [
        'ecr_warden_policy_violations{namespace="shop",check="severity",action="deny"} 1',
      ]);
    } finally {
      await warden?.stop();
      await world.close();
    }
  });
});

describe('an unfinished scan', () => {
  const RUNNING = scenario([
    repo('api', [
      {
        tags: ['v9'],
        pushedAt: new Date(NOW - 60_000),
        // Pushed a minute ago; ECR's scan runs ten minutes, then finds a CRITICAL vulnerability.
        scan: {
          kind: 'native-basic',
          status: 'COMPLETE',
          findings: { CRITICAL: 1 },
          durationMs: 10 * 60_000,
        },
      },
    ]),
  ]);

  for (const onError of ['deny', 'allow'] as const) {
    it(`is never "no findings": with onError ${onError} the image is ${onError === 'deny' ? 'denied' : 'allowed with a warning naming the status'}`, async () => {
      const f = await ecrFixture(RUNNING, {
        policy: { mode: 'enforce', onError, checks: { scanComplete: { action: 'off' } } },
      });
      try {
        const facts = resolved(await f.core.resolver.resolveOne(ref(image('api', 'v9'))));
        assert.equal(facts.scan?.status, 'IN_PROGRESS');
        const { evaluation } = await f.core.assessor.assess(image('api', 'v9'));
        assert.equal(evaluation.verdict, onError === 'deny' ? 'deny' : 'warn');
        assert.deepEqual(
          evaluation.violations.map((v) => v.message),
          [`could not check severity: findings unknown: scan IN_PROGRESS (policy.onError: ${onError})`],
        );
      } finally {
        await f.close();
      }
    });
  }

  it('is asked again within negativeTTL, so the findings arrive soon after the scan ends', async () => {
    const f = await ecrFixture(RUNNING, { policy: { mode: 'enforce' } });
    try {
      assert.equal(
        resolved(await f.core.resolver.resolveOne(ref(image('api', 'v9')))).scan?.status,
        'IN_PROGRESS',
      );
      // The scan ends; detailTTL (15m) has not passed, negativeTTL (1m) has.
      f.clock.now += 10 * 60_000;
      const facts = resolved(await f.core.resolver.resolveOne(ref(image('api', 'v9'))));
      assert.equal(facts.scan?.status, 'COMPLETE');
      assert.deepEqual(facts.scan?.findings, { CRITICAL: 1 });
      const { evaluation } = await f.core.assessor.assess(image('api', 'v9'));
      assert.equal(evaluation.verdict, 'deny');
    } finally {
      await f.close();
    }
  });

  it('has no findings series, only its status', async () => {
    const world = await startWorld({ repositories: RUNNING.registries[0]!.repositories });
    let warden: Awaited<ReturnType<typeof startWarden>> | undefined;
    try {
      world.kube.upsertPod(world.pod('shop', 'api-0', { app: ecrRef('api', 'v9') }));
      warden = await startWarden(world);
      await warden.whenInventorySynced();
      await warden.inventory!.settled();
      const text = await scrape(warden);
      assert.deepEqual(samples(text, 'ecr_warden_image_scan_findings'), []);
      assert.equal(samples(text, 'ecr_warden_image_scan_status')[0]?.includes('status="IN_PROGRESS"'), true);
    } finally {
      await warden?.stop();
      await world.close();
    }
  });
});

describe('a pull-through cache image not pulled yet', () => {
  const CACHE = scenario([repo('api', [buildkitImage({ tags: ['v1'], scan: scanned({}) })])], {
    pullThroughCacheRules: [
      {
        ecrRepositoryPrefix: 'docker-hub',
        upstreamRegistryUrl: 'registry-1.docker.io',
        upstream: { 'library/nginx': [{ tags: ['1.27'], pushedAt: new Date(NOW - 30 * DAY) }] },
      },
    ],
  });
  const NGINX = image('docker-hub/library/nginx', '1.27');

  it('reads not_cached, passes imageExists, and resolves after its first pull', async () => {
    const f = await ecrFixture(CACHE, { policy: { mode: 'enforce' } });
    try {
      const before = await f.core.resolver.resolveOne(ref(NGINX));
      assert.equal(before.status, 'unresolved');
      assert.equal(before.status === 'unresolved' && before.reason, 'not_cached');
      const { evaluation } = await f.core.assessor.assess(NGINX);
      assert.equal(evaluation.verdict, 'allow');
      // Outside the rule's prefix a missing repository is still missing.
      const other = await f.core.assessor.assess(image('nowhere/nginx', '1.27'));
      assert.equal(other.reason, 'repository_not_found');
      assert.equal(other.evaluation.verdict, 'deny');

      f.sim.pullThroughCache(
        { registryId: ACCOUNT, region: REGION, repository: 'docker-hub/library/nginx' },
        '1.27',
      );
      f.clock.now += 60_000 + 1; // negativeTTL
      assert.equal((await f.core.resolver.resolveOne(ref(NGINX))).status, 'resolved');
    } finally {
      await f.close();
    }
  });

  it('is left unpinned by /mutate, beside an image that is pinned', async () => {
    const f = await startWebhookFixture({ scenario: CACHE, settings: { webhook: { pinDigests: true } } });
    try {
      const { response } = await f.client.review('/mutate', reviewOf('Pod', [NGINX, image('api', 'v1')]));
      assert.equal(response.allowed, true);
      const patch = decodePatch(response.patch ?? '');
      assert.deepEqual(
        patch.map((p) => p.path),
        ['/spec/containers/1/image'],
        'only the image ECR holds is pinned',
      );
    } finally {
      await f.close();
    }
  });
});

describe('tag mutability', () => {
  const filters = [{ filterType: 'WILDCARD' as const, filter: 'dev-*' }];
  const MUTABILITY = scenario([
    repo('mutable', [buildkitImage({ tags: ['v1', 'dev-1'], scan: scanned({}) })], {
      imageTagMutability: 'MUTABLE',
    }),
    repo('immutable', [buildkitImage({ tags: ['v1', 'dev-1'], scan: scanned({}) })], {
      imageTagMutability: 'IMMUTABLE',
    }),
    repo('immutable-except', [buildkitImage({ tags: ['v1', 'dev-1'], scan: scanned({}) })], {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters,
    }),
    repo('mutable-except', [buildkitImage({ tags: ['v1', 'dev-1'], scan: scanned({}) })], {
      imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters,
    }),
  ]);
  const cases: [string, string, boolean][] = [
    ['mutable', 'v1', false],
    ['mutable', 'dev-1', false],
    ['immutable', 'v1', true],
    ['immutable', 'dev-1', true],
    ['immutable-except', 'v1', true],
    ['immutable-except', 'dev-1', false],
    ['mutable-except', 'v1', false],
    ['mutable-except', 'dev-1', true],
  ];

  it('is decided per tag, exclusion filters included, from DescribeRepositories batched per registry', async () => {
    const f = await ecrFixture(MUTABILITY);
    try {
      f.sim.resetCounts();
      const answers = await f.core.resolver.resolve(
        cases.map(([repository, tag]) => ref(image(repository, tag))),
        { tagMutability: true },
      );
      assert.deepEqual(
        answers.map((a, i) => [...cases[i]!.slice(0, 2), resolved(a).tagImmutable]),
        cases,
      );
      // So does ECR: the simulator's own answer agrees with every case.
      for (const [repository, tag, immutable] of cases) {
        assert.equal(
          f.sim.tagIsImmutable({ registryId: ACCOUNT, region: REGION, repository }, tag),
          immutable,
        );
      }
      assert.equal(f.sim.requests().byOperation.DescribeRepositories, 1);
    } finally {
      await f.close();
    }
  });

  it('lets an immutable tag count as pinned with digestRequired.acceptImmutableTags', async () => {
    const settings = (acceptImmutableTags: boolean) => ({
      policy: { mode: 'enforce', checks: { digestRequired: { action: 'deny', acceptImmutableTags } } },
    });
    const strict = await ecrFixture(MUTABILITY, settings(false));
    const lenient = await ecrFixture(MUTABILITY, settings(true));
    try {
      assert.equal((await strict.core.assessor.assess(image('immutable', 'v1'))).evaluation.verdict, 'deny');
      assert.equal(
        (await lenient.core.assessor.assess(image('immutable', 'v1'))).evaluation.verdict,
        'allow',
      );
      const moving = await lenient.core.assessor.assess(image('immutable-except', 'dev-1'));
      assert.deepEqual(
        moving.evaluation.violations.map((v) => v.message),
        ['not pinned to a digest, and the tag is mutable'],
      );
    } finally {
      await strict.close();
      await lenient.close();
    }
  });

  it('shows in `check -o json` as ecr.tagImmutable', async () => {
    const f = await ecrFixture(MUTABILITY);
    try {
      const run = await cli(
        [
          'check',
          '-o',
          'json',
          image('immutable', 'v1'),
          image('mutable-except', 'v1'),
          `${HOST}/mutable@sha256:${'0'.repeat(64)}`,
        ],
        f.sim.endpoint,
      );
      const out = JSON.parse(run.stdout) as ImageJson[];
      assert.deepEqual(
        out.map((e) => e.ecr?.tagImmutable),
        [true, false, null],
      );
    } finally {
      await f.close();
    }
  });
});

/** Runs the CLI against the ECR simulator; the child's clock is real, which these checks do not mind. */
function cli(
  args: string[],
  endpoint: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: '/nonexistent',
        AWS_ENDPOINT_URL_ECR: endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
