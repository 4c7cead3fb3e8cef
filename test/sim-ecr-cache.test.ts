/**
 * Pull through cache and tag mutability in the simulated ECR, through the real SDK: rules as
 * DescribePullThroughCacheRules gives them, repositories that appear on a node's first pull, and tags
 * that a repository's mutability setting and exclusion filters keep from being overwritten.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRepositoriesCommand,
  ImageNotFoundException,
  paginateDescribePullThroughCacheRules,
  PullThroughCacheRuleNotFoundException,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  type EcrScenario,
  ImageTagAlreadyExistsError,
  type SimPullThroughCacheRule,
  type SimRegistry,
  type SimRepository,
  StoreError,
  startEcrSimulator,
  type TagMutability,
} from '../sim/ecr/index.ts';
import { ACCOUNT, DAY, ecrFailure, multiArchImage, NOW, REGION, simFor } from './helpers/ecr.ts';

const MINUTE = 60_000;
const at = (ms: number): Date => new Date(NOW + ms);
const repo = (repository: string) => ({ registryId: ACCOUNT, region: REGION, repository });

function scenario(extra: Partial<SimRegistry>, repositories: SimRepository[] = []): EcrScenario {
  return {
    callerAccount: ACCOUNT,
    registries: [{ accountId: ACCOUNT, region: REGION, ...extra, repositories }],
  };
}

const dockerHub: SimPullThroughCacheRule = {
  ecrRepositoryPrefix: 'docker-hub',
  upstreamRegistryUrl: 'registry-1.docker.io',
  credentialArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf`,
  createdAt: at(-30 * DAY),
  updatedAt: at(-2 * DAY),
  upstream: {
    'library/nginx': [
      { tags: ['1.26'], pushedAt: at(-300 * DAY), vulnerabilities: { HIGH: 2 } },
      { tags: ['1.27', 'latest'], pushedAt: at(-20 * DAY), vulnerabilities: { MEDIUM: 1 } },
    ],
    'library/redis': [
      multiArchImage({ tags: ['7'], platforms: { 'linux/amd64': undefined, 'linux/arm64': undefined } }),
    ],
  },
};
const quay: SimPullThroughCacheRule = {
  ecrRepositoryPrefix: 'quay',
  upstreamRegistryUrl: 'quay.io',
  createdAt: at(-20 * DAY),
  upstream: { 'prometheus/node-exporter': [{ tags: ['v1.8.2'], pushedAt: at(-60 * DAY) }] },
};
const root: SimPullThroughCacheRule = {
  ecrRepositoryPrefix: 'ROOT',
  upstreamRegistryUrl: 'public.ecr.aws',
  createdAt: at(-10 * DAY),
  upstream: { 'eks-distro/kubernetes/pause': [{ tags: ['3.9'], pushedAt: at(-90 * DAY) }] },
};

describe('simulated ECR: DescribePullThroughCacheRules', () => {
  it('describes every rule of the registry with the whole PullThroughCacheRule shape', async (t) => {
    const { client } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub, quay, root] }));
    const out = await client().send(new DescribePullThroughCacheRulesCommand({}));
    assert.deepEqual(out.pullThroughCacheRules, [
      {
        ecrRepositoryPrefix: 'docker-hub',
        upstreamRegistryUrl: 'registry-1.docker.io',
        createdAt: at(-30 * DAY),
        registryId: ACCOUNT,
        credentialArn: dockerHub.credentialArn,
        upstreamRepositoryPrefix: 'ROOT',
        upstreamRegistry: 'docker-hub',
        updatedAt: at(-2 * DAY),
      },
      {
        ecrRepositoryPrefix: 'quay',
        upstreamRegistryUrl: 'quay.io',
        createdAt: at(-20 * DAY),
        registryId: ACCOUNT,
        upstreamRepositoryPrefix: 'ROOT',
        upstreamRegistry: 'quay',
      },
      {
        ecrRepositoryPrefix: 'ROOT',
        upstreamRegistryUrl: 'public.ecr.aws',
        createdAt: at(-10 * DAY),
        registryId: ACCOUNT,
        upstreamRepositoryPrefix: 'ROOT',
        upstreamRegistry: 'ecr-public',
      },
    ]);
    assert.equal(out.nextToken, undefined);
  });

  const filters: { name: string; prefixes: string[]; expected: string[] }[] = [
    { name: 'one prefix', prefixes: ['quay'], expected: ['quay'] },
    { name: 'a prefix written with its trailing slash', prefixes: ['docker-hub/'], expected: ['docker-hub'] },
    { name: 'ROOT', prefixes: ['ROOT'], expected: ['ROOT'] },
    { name: 'two prefixes', prefixes: ['ROOT', 'docker-hub'], expected: ['docker-hub', 'ROOT'] },
  ];
  for (const row of filters) {
    it(`narrows the answer to ${row.name}`, async (t) => {
      const { client } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub, quay, root] }));
      const out = await client().send(
        new DescribePullThroughCacheRulesCommand({ ecrRepositoryPrefixes: row.prefixes }),
      );
      assert.deepEqual(
        out.pullThroughCacheRules?.map((r) => r.ecrRepositoryPrefix),
        row.expected,
      );
    });
  }

  it('pages through the rules with maxResults', async (t) => {
    const { client } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub, quay, root] }));
    const pages: string[][] = [];
    for await (const page of paginateDescribePullThroughCacheRules({ client: client(), pageSize: 2 }, {})) {
      pages.push((page.pullThroughCacheRules ?? []).map((r) => r.ecrRepositoryPrefix!));
    }
    assert.deepEqual(pages, [['docker-hub', 'quay'], ['ROOT']]);
  });

  const errors: { name: string; input: object; type: string; registries?: Partial<SimRegistry> }[] = [
    {
      name: 'a prefix with no rule',
      input: { ecrRepositoryPrefixes: ['ghcr'] },
      type: 'PullThroughCacheRuleNotFoundException',
    },
    {
      name: 'a prefix ECR would refuse',
      input: { ecrRepositoryPrefixes: ['Not_A_Prefix!'] },
      type: 'InvalidParameterException',
    },
    { name: 'maxResults above 1000', input: { maxResults: 1001 }, type: 'InvalidParameterException' },
    {
      name: 'a registry the caller may not read',
      input: {},
      type: 'AccessDeniedException',
      registries: { accessDenied: true },
    },
  ];
  for (const row of errors) {
    it(`answers ${row.name} with ${row.type}`, async (t) => {
      const { client } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub], ...row.registries }));
      const err = await ecrFailure(client().send(new DescribePullThroughCacheRulesCommand(row.input)));
      assert.equal(err.name, row.type);
      if (row.type === 'PullThroughCacheRuleNotFoundException') {
        assert.ok(err instanceof PullThroughCacheRuleNotFoundException);
      }
    });
  }

  it('answers an empty list for a registry without rules', async (t) => {
    const { client } = await simFor(t, scenario({}));
    const out = await client('eu-west-1').send(new DescribePullThroughCacheRulesCommand({}));
    assert.deepEqual(out.pullThroughCacheRules, []);
  });

  const refused: { name: string; rule: SimPullThroughCacheRule }[] = [
    { name: 'an upstream prefix under ROOT', rule: { ...root, upstreamRepositoryPrefix: 'eks' } },
    { name: 'a prefix longer than 30 characters', rule: { ...quay, ecrRepositoryPrefix: 'a'.repeat(31) } },
    {
      name: 'an upstream ECR does not support',
      rule: { ...quay, upstreamRegistryUrl: 'registry.example.com' },
    },
  ];
  for (const row of refused) {
    it(`refuses a scenario rule with ${row.name}`, async () => {
      await assert.rejects(
        startEcrSimulator({ scenario: scenario({ pullThroughCacheRules: [row.rule] }) }),
        StoreError,
      );
    });
  }
});

describe('simulated ECR: a pull through cache repository appears on the first pull', () => {
  it('has no repository before the first pull, then the pulled tag, scanned by the registry', async (t) => {
    const { sim, client, clock } = await simFor(
      t,
      scenario({
        pullThroughCacheRules: [dockerHub],
        scanning: { kind: 'native-basic', scanDurationMs: 2 * MINUTE },
      }),
    );
    const api = client();
    const describe = (tag: string) =>
      api.send(
        new DescribeImagesCommand({
          repositoryName: 'docker-hub/library/nginx',
          imageIds: [{ imageTag: tag }],
        }),
      );
    assert.ok((await ecrFailure(describe('1.27'))) instanceof RepositoryNotFoundException);

    clock.now = at(MINUTE);
    const pulled = sim.pullThroughCache(repo('docker-hub/library/nginx'), '1.27');
    assert.deepEqual(pulled.tags, ['1.27'], 'only the tag pulled is cached, not every upstream tag');
    const detail = (await describe('1.27')).imageDetails![0]!;
    assert.equal(detail.imageDigest, pulled.digest);
    assert.deepEqual(detail.imagePushedAt, at(MINUTE));
    assert.deepEqual(detail.lastRecordedPullTime, at(MINUTE));
    const repositories = await api.send(
      new DescribeRepositoriesCommand({ repositoryNames: ['docker-hub/library/nginx'] }),
    );
    assert.deepEqual(repositories.repositories?.[0]?.createdAt, at(MINUTE));
    assert.equal(repositories.repositories?.[0]?.imageTagMutability, 'MUTABLE');

    const scan = () =>
      api.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: 'docker-hub/library/nginx',
          imageId: { imageTag: '1.27' },
        }),
      );
    assert.equal((await scan()).imageScanStatus?.status, 'IN_PROGRESS');
    clock.now = at(3 * MINUTE);
    assert.deepEqual((await scan()).imageScanFindings?.findingSeverityCounts, { MEDIUM: 1 });

    assert.ok((await ecrFailure(describe('1.26'))) instanceof ImageNotFoundException, 'a tag not pulled yet');
    sim.pullThroughCache(repo('docker-hub/library/nginx'), '1.26');
    assert.equal((await describe('1.26')).imageDetails?.length, 1);
  });

  it('caches the digest the upstream has, and an index with its platform images', async (t) => {
    const first = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub] }));
    const second = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub] }), at(DAY));
    const a = first.sim.pullThroughCache(repo('docker-hub/library/redis'), '7');
    const b = second.sim.pullThroughCache(repo('docker-hub/library/redis'), '7');
    assert.equal(a.digest, b.digest, 'a pull through cache keeps upstream digests');
    assert.equal(a.kind, 'index');
    for (const digest of a.children) {
      assert.ok(first.sim.image({ ...repo('docker-hub/library/redis'), digest }), `${digest} is cached too`);
    }
  });

  const mappings: { name: string; rule: SimPullThroughCacheRule; repository: string; tag: string }[] = [
    { name: 'ROOT maps a name to itself', rule: root, repository: 'eks-distro/kubernetes/pause', tag: '3.9' },
    {
      name: 'an upstream prefix replaces the cache prefix',
      rule: {
        ecrRepositoryPrefix: 'team-a',
        upstreamRepositoryPrefix: 'upstream-team',
        upstreamRegistryUrl: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
        customRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-pull-through`,
        upstream: { 'upstream-team/app': [{ tags: ['v1'], pushedAt: at(-DAY) }] },
      },
      repository: 'team-a/app',
      tag: 'v1',
    },
  ];
  for (const row of mappings) {
    it(`finds the upstream image where the rule points: ${row.name}`, async (t) => {
      const { sim } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub, row.rule] }));
      assert.deepEqual(sim.pullThroughCache(repo(row.repository), row.tag).tags, [row.tag]);
    });
  }

  it('prefers the rule with the longest prefix, and ROOT only where no other rule covers the name', async (t) => {
    const { sim } = await simFor(t, scenario({ pullThroughCacheRules: [root, dockerHub] }));
    assert.throws(
      () => sim.pullThroughCache(repo('docker-hub/eks-distro/kubernetes/pause'), '3.9'),
      StoreError,
    );
    assert.equal(
      sim.pullThroughCache(repo('docker-hub/library/nginx'), 'latest').repository,
      'docker-hub/library/nginx',
    );
  });

  it('fetches through BatchGetImage by tag, not by digest', async (t) => {
    const { sim, client } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub] }));
    const api = client();
    const byDigest = await ecrFailure(
      api.send(
        new BatchGetImageCommand({
          repositoryName: 'docker-hub/library/nginx',
          imageIds: [{ imageDigest: `sha256:${'0'.repeat(64)}` }],
        }),
      ),
    );
    assert.ok(byDigest instanceof RepositoryNotFoundException);
    const out = await api.send(
      new BatchGetImageCommand({
        repositoryName: 'docker-hub/library/nginx',
        imageIds: [{ imageTag: 'latest' }],
      }),
    );
    assert.deepEqual(out.failures, []);
    assert.equal(
      out.images?.[0]?.imageId?.imageDigest,
      sim.image({ ...repo('docker-hub/library/nginx'), tag: 'latest' })?.digest,
    );
  });

  const failures: { name: string; repository: string; tag: string }[] = [
    { name: 'a name no rule covers', repository: 'library/nginx', tag: '1.27' },
    { name: 'a tag the upstream does not have', repository: 'docker-hub/library/nginx', tag: '0.1' },
    { name: 'a repository the upstream does not have', repository: 'docker-hub/library/nope', tag: '1' },
  ];
  for (const row of failures) {
    it(`fails a first pull of ${row.name}`, async (t) => {
      const { sim } = await simFor(t, scenario({ pullThroughCacheRules: [dockerHub] }));
      assert.throws(() => sim.pullThroughCache(repo(row.repository), row.tag), StoreError);
      assert.equal(sim.image({ ...repo(row.repository), tag: row.tag }), undefined);
    });
  }
});

describe('simulated ECR: tag mutability', () => {
  const wildcard = (...filters: string[]) =>
    filters.map((filter) => ({ filterType: 'WILDCARD' as const, filter }));
  const repositories: SimRepository[] = [
    { name: 'mutable', images: [] },
    { name: 'immutable', imageTagMutability: 'IMMUTABLE', images: [] },
    {
      name: 'immutable-but-dev',
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: wildcard('dev-*', 'latest'),
      images: [],
    },
    {
      name: 'mutable-but-releases',
      imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: wildcard('v*.*.*', '*-stable'),
      images: [],
    },
  ];

  it('describes all four settings, with exclusion filters where they apply', async (t) => {
    const { client } = await simFor(t, scenario({}, repositories));
    const out = await client().send(
      new DescribeRepositoriesCommand({ repositoryNames: repositories.map((r) => r.name) }),
    );
    assert.deepEqual(
      out.repositories?.map((r) => [
        r.repositoryName,
        r.imageTagMutability,
        r.imageTagMutabilityExclusionFilters,
      ]),
      [
        ['mutable', 'MUTABLE', undefined],
        ['immutable', 'IMMUTABLE', undefined],
        ['immutable-but-dev', 'IMMUTABLE_WITH_EXCLUSION', wildcard('dev-*', 'latest')],
        ['mutable-but-releases', 'MUTABLE_WITH_EXCLUSION', wildcard('v*.*.*', '*-stable')],
      ],
    );
  });

  const tags: { repository: string; tag: string; immutable: boolean }[] = [
    { repository: 'mutable', tag: 'v1.2.3', immutable: false },
    { repository: 'immutable', tag: 'latest', immutable: true },
    { repository: 'immutable-but-dev', tag: 'dev-42', immutable: false },
    { repository: 'immutable-but-dev', tag: 'dev-', immutable: false },
    { repository: 'immutable-but-dev', tag: 'latest', immutable: false },
    { repository: 'immutable-but-dev', tag: 'latest-1', immutable: true },
    { repository: 'immutable-but-dev', tag: 'mydev-1', immutable: true },
    { repository: 'immutable-but-dev', tag: 'v1.2.3', immutable: true },
    { repository: 'mutable-but-releases', tag: 'v1.2.3', immutable: true },
    { repository: 'mutable-but-releases', tag: 'v1.2', immutable: false },
    { repository: 'mutable-but-releases', tag: 'main-stable', immutable: true },
    { repository: 'mutable-but-releases', tag: 'stable', immutable: false },
    { repository: 'mutable-but-releases', tag: 'latest', immutable: false },
  ];
  for (const row of tags) {
    it(`${row.immutable ? 'refuses to move' : 'moves'} tag ${row.tag} in ${row.repository} on a push`, async (t) => {
      const { sim } = await simFor(t, scenario({}, repositories));
      const first = sim.pushImage(repo(row.repository), { tags: [row.tag], pushedAt: at(-DAY) });
      assert.equal(sim.tagIsImmutable(repo(row.repository), row.tag), row.immutable);
      const again = () => sim.pushImage(repo(row.repository), { tags: [row.tag, 'extra'], pushedAt: at(0) });
      if (row.immutable) {
        assert.throws(again, (err: Error) => {
          assert.ok(err instanceof ImageTagAlreadyExistsError);
          assert.equal(err.code, 'ImageTagAlreadyExistsException');
          assert.equal(
            err.message,
            `The image tag '${row.tag}' already exists in the '${row.repository}' repository and cannot be overwritten because the repository is immutable.`,
          );
          return true;
        });
        assert.equal(sim.image({ ...repo(row.repository), tag: row.tag })?.digest, first.digest);
        assert.equal(
          sim.image({ ...repo(row.repository), tag: 'extra' }),
          undefined,
          'a refused push pushes nothing',
        );
      } else {
        assert.notEqual(again().digest, first.digest);
        assert.notEqual(sim.image({ ...repo(row.repository), tag: row.tag })?.digest, first.digest);
      }
    });
  }

  it('lets an immutable tag be pushed again on the image it already names, and moveTag obeys the setting', async (t) => {
    const { sim } = await simFor(t, scenario({}, repositories));
    const v1 = sim.pushImage(repo('immutable'), { tags: ['v1'], pushedAt: at(-DAY) });
    assert.equal(
      sim.pushImage(repo('immutable'), { manifest: v1.manifest, tags: ['v1'], pushedAt: at(0) }).digest,
      v1.digest,
    );
    const other = sim.pushImage(repo('immutable'), { tags: ['v2'], pushedAt: at(0) });
    assert.throws(() => sim.moveTag(repo('immutable'), 'v1', other.digest), ImageTagAlreadyExistsError);
  });

  const refused: { name: string; mutability: TagMutability; filters?: string[] }[] = [
    { name: 'filters on MUTABLE', mutability: 'MUTABLE', filters: ['dev-*'] },
    { name: 'no filters on IMMUTABLE_WITH_EXCLUSION', mutability: 'IMMUTABLE_WITH_EXCLUSION' },
    { name: 'six filters', mutability: 'MUTABLE_WITH_EXCLUSION', filters: ['a', 'b', 'c', 'd', 'e', 'f'] },
    { name: 'a filter with a slash', mutability: 'IMMUTABLE_WITH_EXCLUSION', filters: ['feature/*'] },
  ];
  for (const row of refused) {
    it(`refuses a scenario with ${row.name}`, async () => {
      const bad: SimRepository = {
        name: 'bad',
        imageTagMutability: row.mutability,
        ...(row.filters ? { imageTagMutabilityExclusionFilters: wildcard(...row.filters) } : {}),
        images: [],
      };
      await assert.rejects(startEcrSimulator({ scenario: scenario({}, [bad]) }), StoreError);
    });
  }
});
