import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type DescribeImagesFilter,
  DescribeRepositoriesCommand,
  type ECRClient,
  type ECRClientConfig,
  ECRServiceException,
  ImageNotFoundException,
  InvalidParameterException,
  paginateDescribeImageScanFindings,
  paginateDescribeImages,
  paginateDescribeRepositories,
  RepositoryNotFoundException,
  ScanNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  type EcrScenario,
  type EcrSimulator,
  type EcrSimulatorOptions,
  ecrClientFor,
  generateScenario,
  MEDIA_TYPES,
  SIMULATOR_CREDENTIALS,
  type SimImage,
  StoreError,
  startEcrSimulator,
} from '../sim/ecr/index.ts';

const ME = '111122223333';
const PARTNER = '444455556666';
const T0 = new Date('2026-03-01T12:00:00.000Z');
const DAY_MS = 86_400_000;
const daysAgo = (days: number): Date => new Date(T0.getTime() - days * DAY_MS);
const digestOf = (text: string): string => 'sha256:' + createHash('sha256').update(text).digest('hex');

/** 250 images in shop/bulk: every 5th untagged, every 4th (from 1) archived; explicit manifests. */
const BULK = 250;
const bulkUntagged = (i: number): boolean => i % 5 === 0;
const bulkArchived = (i: number): boolean => i % 4 === 1;
const bulkManifest = (i: number): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerV2,
    layers: [],
    annotations: { n: String(i) },
  });
const bulkDigest = (i: number): string => digestOf(bulkManifest(i));
function bulkImages(): SimImage[] {
  return Array.from({ length: BULK }, (_, i) => ({
    manifest: bulkManifest(i),
    tags: bulkUntagged(i) ? [] : [`b${i}`],
    pushedAt: daysAgo(BULK - i),
    imageStatus: bulkArchived(i) ? ('ARCHIVED' as const) : undefined,
  }));
}

/** 250 Inspector findings: three pages at Inspector's 100-per-page cap. */
const ENHANCED = { CRITICAL: 5, HIGH: 40, MEDIUM: 100, LOW: 80, UNTRIAGED: 25 };

function fixture(): EcrScenario {
  return {
    callerAccount: ME,
    registries: [
      {
        accountId: ME,
        region: 'us-east-1',
        repositories: [
          {
            name: 'shop/api',
            images: [
              {
                tags: ['v1'],
                pushedAt: daysAgo(30),
                lastRecordedPullTime: daysAgo(20),
                sizeBytes: 52_000_000,
                scan: {
                  kind: 'legacy-basic',
                  status: 'COMPLETE',
                  findings: { CRITICAL: 2, HIGH: 1, LOW: 12 },
                },
              },
              {
                tags: ['v2', 'latest'],
                pushedAt: daysAgo(2),
                mediaType: MEDIA_TYPES.ociManifest,
                scan: { kind: 'native-basic', status: 'COMPLETE', findings: { HIGH: 4, MEDIUM: 3 } },
              },
              { pushedAt: daysAgo(60) },
              { tags: ['old'], pushedAt: daysAgo(400), imageStatus: 'ARCHIVED', lastArchivedAt: daysAgo(10) },
              { tags: ['scanning'], pushedAt: T0, scan: { kind: 'legacy-basic', status: 'IN_PROGRESS' } },
            ],
          },
          {
            name: 'shop/web',
            images: [
              {
                tags: ['counted'],
                pushedAt: daysAgo(5),
                scan: { kind: 'enhanced', status: 'ACTIVE', findings: ENHANCED },
              },
              {
                tags: ['uncounted'],
                pushedAt: daysAgo(5),
                scan: { kind: 'enhanced', status: 'ACTIVE', findings: ENHANCED, includeCounts: false },
              },
            ],
          },
          { name: 'shop/bulk', images: bulkImages() },
          { name: 'shop/secret', accessDenied: true, images: [{ tags: ['v1'], pushedAt: daysAgo(1) }] },
        ],
      },
      {
        accountId: ME,
        region: 'eu-west-1',
        repositories: [{ name: 'shop/api', images: [{ tags: ['v1'], pushedAt: daysAgo(3) }] }],
      },
      {
        accountId: PARTNER,
        region: 'us-east-1',
        accessDenied: true,
        repositories: [{ name: 'base/node', images: [{ tags: ['22'], pushedAt: daysAgo(9) }] }],
      },
    ],
  };
}

interface Harness {
  sim: EcrSimulator;
  /** A real SDK client for `region`; no retries unless overridden, so each call is one request. */
  client(region?: string, overrides?: ECRClientConfig): ECRClient;
  clock: { now: Date };
}

async function startHarness(
  options: Partial<EcrSimulatorOptions> = {},
): Promise<Harness & { stop(): Promise<void> }> {
  const clock = { now: T0 };
  const sim = await startEcrSimulator({ scenario: fixture(), clock: () => clock.now, ...options });
  const clients: ECRClient[] = [];
  return {
    sim,
    clock,
    client(region = 'us-east-1', overrides = {}) {
      const client = ecrClientFor(sim, region, { maxAttempts: 1, ...overrides });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      await sim.close();
    },
  };
}

/** A simulator of its own for one test, closed when the test ends. */
async function harnessFor(t: TestContext, options?: Partial<EcrSimulatorOptions>): Promise<Harness> {
  const harness = await startHarness(options);
  t.after(() => harness.stop());
  return harness;
}

/** The SDK error a call rejected with. */
async function failureOf(promise: Promise<unknown>): Promise<ECRServiceException> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ECRServiceException, `expected a service exception, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('simulated ECR: reading state through the real SDK', () => {
  let h: Harness & { stop(): Promise<void> };
  let api: ECRClient;
  before(async () => {
    h = await startHarness();
    api = h.client();
  });
  after(() => h.stop());

  const v2Digest = (): string =>
    h.sim.image({ registryId: ME, region: 'us-east-1', repository: 'shop/api', tag: 'v2' })!.digest;

  const lookups: { name: string; imageIds: () => { imageTag?: string; imageDigest?: string }[] }[] = [
    { name: 'by tag', imageIds: () => [{ imageTag: 'latest' }] },
    { name: 'by digest', imageIds: () => [{ imageDigest: v2Digest() }] },
    { name: 'by tag and digest together', imageIds: () => [{ imageTag: 'v2', imageDigest: v2Digest() }] },
    {
      name: 'by two tags of the same image (one detail)',
      imageIds: () => [{ imageTag: 'v2' }, { imageTag: 'latest' }],
    },
  ];
  for (const lookup of lookups) {
    it(`describes an image ${lookup.name}`, async () => {
      const out = await api.send(
        new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: lookup.imageIds() }),
      );
      assert.equal(out.imageDetails?.length, 1);
      const detail = out.imageDetails[0]!;
      assert.equal(detail.registryId, ME);
      assert.equal(detail.repositoryName, 'shop/api');
      assert.equal(detail.imageDigest, v2Digest());
      assert.deepEqual(detail.imageTags, ['v2', 'latest']);
      assert.deepEqual(detail.imagePushedAt, daysAgo(2));
      assert.equal(detail.imageManifestMediaType, MEDIA_TYPES.ociManifest);
      assert.equal(detail.artifactMediaType, 'application/vnd.oci.image.config.v1+json');
      assert.equal(detail.imageStatus, 'ACTIVE');
      assert.equal(typeof detail.imageSizeInBytes, 'number');
      assert.equal(detail.lastRecordedPullTime, undefined, 'never pulled');
    });
  }

  it('reports size, pull time and the digest of the stored manifest', async () => {
    const out = await api.send(
      new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }),
    );
    const detail = out.imageDetails![0]!;
    assert.equal(detail.imageSizeInBytes, 52_000_000);
    assert.deepEqual(detail.lastRecordedPullTime, daysAgo(20));
    const view = h.sim.image({ registryId: ME, region: 'us-east-1', repository: 'shop/api', tag: 'v1' })!;
    assert.equal(detail.imageDigest, digestOf(view.manifest));
  });

  it('fails the whole DescribeImages call when any one image ID is missing', async () => {
    const err = await failureOf(
      api.send(
        new DescribeImagesCommand({
          repositoryName: 'shop/api',
          imageIds: [{ imageTag: 'v1' }, { imageTag: 'nope' }],
        }),
      ),
    );
    assert.ok(err instanceof ImageNotFoundException);
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(
      err.message,
      "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'shop/api' in the registry with id '111122223333'",
    );
  });

  it('treats a tag and digest that name different images as missing', async () => {
    const err = await failureOf(
      api.send(
        new DescribeImagesCommand({
          repositoryName: 'shop/api',
          imageIds: [{ imageTag: 'v1', imageDigest: v2Digest() }],
        }),
      ),
    );
    assert.ok(err instanceof ImageNotFoundException);
  });

  it('answers 100 image IDs in one call and records what the call carried', async () => {
    const ids = Array.from({ length: BULK }, (_, i) => i)
      .filter((i) => !bulkArchived(i))
      .slice(0, 100)
      .map((i) => ({ imageDigest: bulkDigest(i) }));
    const out = await api.send(new DescribeImagesCommand({ repositoryName: 'shop/bulk', imageIds: ids }));
    assert.equal(out.imageDetails?.length, 100);
    const call = h.sim.calls().at(-1)!;
    assert.equal(call.operation, 'DescribeImages');
    assert.equal((call.body?.imageIds as unknown[] | undefined)?.length, 100);
  });

  const listings: {
    name: string;
    filter?: DescribeImagesFilter;
    pageSize: number;
    keep: (i: number) => boolean;
  }[] = [
    { name: 'active images by default', pageSize: 100, keep: (i) => !bulkArchived(i) },
    {
      name: 'tagged images',
      filter: { tagStatus: 'TAGGED' },
      pageSize: 40,
      keep: (i) => !bulkArchived(i) && !bulkUntagged(i),
    },
    {
      name: 'untagged images',
      filter: { tagStatus: 'UNTAGGED' },
      pageSize: 7,
      keep: (i) => !bulkArchived(i) && bulkUntagged(i),
    },
    { name: 'archived images', filter: { imageStatus: 'ARCHIVED' }, pageSize: 25, keep: bulkArchived },
    {
      name: 'archived untagged images',
      filter: { imageStatus: 'ARCHIVED', tagStatus: 'UNTAGGED' },
      pageSize: 3,
      keep: (i) => bulkArchived(i) && bulkUntagged(i),
    },
    { name: 'images of any status', filter: { imageStatus: 'ANY' }, pageSize: 1000, keep: () => true },
  ];
  for (const listing of listings) {
    it(`lists ${listing.name} page by page with maxResults ${listing.pageSize}`, async () => {
      const digests: string[] = [];
      let pages = 0;
      for await (const page of paginateDescribeImages(
        { client: api, pageSize: listing.pageSize },
        { repositoryName: 'shop/bulk', filter: listing.filter },
      )) {
        pages += 1;
        assert.ok((page.imageDetails?.length ?? 0) <= listing.pageSize);
        for (const detail of page.imageDetails ?? []) digests.push(detail.imageDigest!);
      }
      const expected = Array.from({ length: BULK }, (_, i) => i)
        .filter(listing.keep)
        .map(bulkDigest);
      assert.deepEqual(digests, expected);
      assert.equal(pages, Math.max(1, Math.ceil(expected.length / listing.pageSize)));
    });
  }

  it('pages 100 images at a time when maxResults is absent', async () => {
    const out = await api.send(new DescribeImagesCommand({ repositoryName: 'shop/bulk' }));
    assert.equal(out.imageDetails?.length, 100);
    assert.equal(typeof out.nextToken, 'string');
  });

  it('hides an archived image from lookups unless imageStatus asks for it', async () => {
    const hidden = await failureOf(
      api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'old' }] })),
    );
    assert.ok(hidden instanceof ImageNotFoundException);
    const out = await api.send(
      new DescribeImagesCommand({
        repositoryName: 'shop/api',
        imageIds: [{ imageTag: 'old' }],
        filter: { imageStatus: 'ANY' },
      }),
    );
    assert.equal(out.imageDetails?.[0]?.imageStatus, 'ARCHIVED');
    assert.deepEqual(out.imageDetails?.[0]?.lastArchivedAt, daysAgo(10));
  });

  it('tells the regions apart by the signature alone', async () => {
    h.sim.resetCounts();
    const ask = (region: string) =>
      h
        .client(region)
        .send(new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }));
    const [east, west] = await Promise.all([ask('us-east-1'), ask('eu-west-1')]);
    assert.notEqual(east.imageDetails?.[0]?.imageDigest, west.imageDetails?.[0]?.imageDigest);
    assert.deepEqual(west.imageDetails?.[0]?.imagePushedAt, daysAgo(3));
    const regions = h.sim
      .calls()
      .slice(-2)
      .map((call) => call.region);
    assert.deepEqual(regions.sort(), ['eu-west-1', 'us-east-1']);
  });

  it('lists repositories per region and leaves out the ones the caller may not read', async () => {
    const names = async (region: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const page of paginateDescribeRepositories({ client: h.client(region), pageSize: 2 }, {})) {
        for (const repository of page.repositories ?? []) out.push(repository.repositoryName!);
      }
      return out;
    };
    assert.deepEqual(await names('us-east-1'), ['shop/api', 'shop/web', 'shop/bulk']);
    assert.deepEqual(await names('eu-west-1'), ['shop/api']);
    assert.deepEqual(await names('ap-south-1'), []);
    const one = await h
      .client('eu-west-1')
      .send(new DescribeRepositoriesCommand({ repositoryNames: ['shop/api'] }));
    assert.equal(one.repositories?.[0]?.repositoryArn, `arn:aws:ecr:eu-west-1:${ME}:repository/shop/api`);
    assert.equal(one.repositories?.[0]?.repositoryUri, `${ME}.dkr.ecr.eu-west-1.amazonaws.com/shop/api`);
  });

  const tooMany = Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }));
  const errors: {
    name: string;
    send: () => Promise<unknown>;
    type: string;
    ctor?: new (...args: never[]) => ECRServiceException;
    message?: string;
  }[] = [
    {
      name: 'an unknown repository',
      send: () => api.send(new DescribeImagesCommand({ repositoryName: 'shop/nope' })),
      type: 'RepositoryNotFoundException',
      ctor: RepositoryNotFoundException,
      message: "The repository with name 'shop/nope' does not exist in the registry with id '111122223333'",
    },
    {
      name: 'a repository that exists only in another region',
      send: () => h.client('ap-south-1').send(new DescribeImagesCommand({ repositoryName: 'shop/api' })),
      type: 'RepositoryNotFoundException',
    },
    {
      name: 'an unknown registry',
      send: () =>
        api.send(new DescribeImagesCommand({ registryId: '999999999999', repositoryName: 'shop/api' })),
      type: 'RepositoryNotFoundException',
    },
    {
      name: 'a repository the caller may not read',
      send: () => api.send(new DescribeImagesCommand({ repositoryName: 'shop/secret' })),
      type: 'AccessDeniedException',
      message: `User: arn:aws:sts::${ME}:assumed-role/ecr-warden/simulated is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:us-east-1:${ME}:repository/shop/secret because no resource-based policy allows the ecr:DescribeImages action`,
    },
    {
      name: 'a registry the caller may not read',
      send: () =>
        api.send(
          new BatchGetImageCommand({
            registryId: PARTNER,
            repositoryName: 'base/node',
            imageIds: [{ imageTag: '22' }],
          }),
        ),
      type: 'AccessDeniedException',
    },
    {
      name: 'more than 100 image IDs',
      send: () => api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: tooMany })),
      type: 'InvalidParameterException',
      ctor: InvalidParameterException,
      message:
        "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'",
    },
    {
      name: 'more than 100 image IDs to BatchGetImage',
      send: () => api.send(new BatchGetImageCommand({ repositoryName: 'shop/api', imageIds: tooMany })),
      type: 'InvalidParameterException',
    },
    {
      name: 'no image IDs to BatchGetImage',
      send: () => api.send(new BatchGetImageCommand({ repositoryName: 'shop/api', imageIds: [] })),
      type: 'InvalidParameterException',
      message:
        "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'",
    },
    {
      name: 'maxResults above 1000',
      send: () => api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', maxResults: 1001 })),
      type: 'InvalidParameterException',
      message:
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'",
    },
    {
      name: 'maxResults below 1',
      send: () => api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', maxResults: 0 })),
      type: 'InvalidParameterException',
    },
    {
      name: 'maxResults together with imageIds',
      send: () =>
        api.send(
          new DescribeImagesCommand({
            repositoryName: 'shop/api',
            maxResults: 5,
            imageIds: [{ imageTag: 'v1' }],
          }),
        ),
      type: 'InvalidParameterException',
    },
    {
      name: 'a registryId that is not 12 digits',
      send: () => api.send(new DescribeImagesCommand({ registryId: 'mine', repositoryName: 'shop/api' })),
      type: 'InvalidParameterException',
    },
    {
      name: 'a nextToken issued for another repository',
      send: async () => {
        const first = await api.send(
          new DescribeImagesCommand({ repositoryName: 'shop/bulk', maxResults: 1 }),
        );
        return api.send(
          new DescribeImagesCommand({ repositoryName: 'shop/api', nextToken: first.nextToken }),
        );
      },
      type: 'InvalidParameterException',
    },
    {
      name: 'scan findings of a missing image',
      send: () =>
        api.send(
          new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'nope' } }),
        ),
      type: 'ImageNotFoundException',
      ctor: ImageNotFoundException,
    },
    {
      name: 'scan findings of an image never scanned',
      send: () =>
        api.send(
          new DescribeImageScanFindingsCommand({
            repositoryName: 'shop/bulk',
            imageId: { imageDigest: bulkDigest(2) },
          }),
        ),
      type: 'ScanNotFoundException',
      ctor: ScanNotFoundException,
      message: `Image scan does not exist for the image with '{imageDigest:'${bulkDigest(2)}', imageTag:'null'}' in the repository with name 'shop/bulk' in the registry with id '${ME}'`,
    },
    {
      name: 'DescribeRepositories naming a missing repository',
      send: () => api.send(new DescribeRepositoriesCommand({ repositoryNames: ['shop/api', 'shop/nope'] })),
      type: 'RepositoryNotFoundException',
      ctor: RepositoryNotFoundException,
    },
    {
      name: 'DescribeRepositories naming a repository the caller may not read',
      send: () => api.send(new DescribeRepositoriesCommand({ repositoryNames: ['shop/secret'] })),
      type: 'AccessDeniedException',
    },
  ];
  for (const error of errors) {
    it(`answers ${error.name} with ${error.type} (HTTP 400)`, async () => {
      const err = await failureOf(error.send());
      assert.equal(err.name, error.type);
      assert.equal(err.$metadata.httpStatusCode, 400);
      if (error.ctor) assert.ok(err instanceof error.ctor, `expected an instance of ${error.ctor.name}`);
      if (error.message) assert.equal(err.message, error.message);
    });
  }

  const shapes: {
    name: string;
    repositoryName: string;
    imageTag: string;
    list: 'findings' | 'enhancedFindings';
    status: string;
    counts: Record<string, number>;
    withCounts: boolean;
    inDescribeImages: boolean;
  }[] = [
    {
      name: 'legacy basic scanning',
      repositoryName: 'shop/api',
      imageTag: 'v1',
      list: 'findings',
      status: 'COMPLETE',
      counts: { CRITICAL: 2, HIGH: 1, LOW: 12 },
      withCounts: true,
      inDescribeImages: true,
    },
    {
      name: 'AWS-native basic scanning',
      repositoryName: 'shop/api',
      imageTag: 'v2',
      list: 'enhancedFindings',
      status: 'COMPLETE',
      counts: { HIGH: 4, MEDIUM: 3 },
      withCounts: true,
      inDescribeImages: false,
    },
    {
      name: 'enhanced scanning with severity counts',
      repositoryName: 'shop/web',
      imageTag: 'counted',
      list: 'enhancedFindings',
      status: 'ACTIVE',
      counts: ENHANCED,
      withCounts: true,
      inDescribeImages: false,
    },
    {
      name: 'enhanced scanning without severity counts',
      repositoryName: 'shop/web',
      imageTag: 'uncounted',
      list: 'enhancedFindings',
      status: 'ACTIVE',
      counts: ENHANCED,
      withCounts: false,
      inDescribeImages: false,
    },
  ];
  for (const shape of shapes) {
    it(`reports findings of ${shape.name} in ${shape.list}, page by page`, async () => {
      const tally: Record<string, number> = {};
      const pages: DescribeImageScanFindingsCommandOutput[] = [];
      for await (const page of paginateDescribeImageScanFindings(
        { client: api, pageSize: 1000 },
        { repositoryName: shape.repositoryName, imageId: { imageTag: shape.imageTag } },
      )) {
        pages.push(page);
        const findings = page.imageScanFindings!;
        const other = shape.list === 'findings' ? 'enhancedFindings' : 'findings';
        assert.equal(findings[other], undefined);
        assert.ok(findings[shape.list]!.length <= 100, 'Inspector-backed pages hold at most 100 findings');
        for (const finding of findings[shape.list] ?? [])
          tally[finding.severity!] = (tally[finding.severity!] ?? 0) + 1;
        assert.deepEqual(findings.findingSeverityCounts, shape.withCounts ? shape.counts : undefined);
        assert.ok(findings.imageScanCompletedAt instanceof Date);
      }
      assert.deepEqual(tally, shape.counts);
      const total = Object.values(shape.counts).reduce((a, b) => a + b, 0);
      assert.equal(pages.length, Math.max(1, Math.ceil(total / 100)));
      assert.equal(pages[0]?.imageScanStatus?.status, shape.status);

      const described = await api.send(
        new DescribeImagesCommand({
          repositoryName: shape.repositoryName,
          imageIds: [{ imageTag: shape.imageTag }],
        }),
      );
      const detail = described.imageDetails![0]!;
      assert.equal(detail.imageScanStatus !== undefined, shape.inDescribeImages);
      assert.equal(detail.imageScanFindingsSummary !== undefined, shape.inDescribeImages);
      if (shape.inDescribeImages) {
        assert.deepEqual(detail.imageScanFindingsSummary?.findingSeverityCounts, shape.counts);
      }
    });
  }

  it('pages legacy findings by maxResults', async () => {
    const sizes: number[] = [];
    for await (const page of paginateDescribeImageScanFindings(
      { client: api, pageSize: 6 },
      { repositoryName: 'shop/api', imageId: { imageTag: 'v1' } },
    )) {
      sizes.push(page.imageScanFindings?.findings?.length ?? 0);
    }
    assert.deepEqual(sizes, [6, 6, 3]);
  });

  it('reports a scan still in progress without findings', async () => {
    const out = await api.send(
      new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'scanning' } }),
    );
    assert.equal(out.imageScanStatus?.status, 'IN_PROGRESS');
    assert.equal(out.imageScanFindings, undefined);
    const described = await api.send(
      new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'scanning' }] }),
    );
    assert.equal(described.imageDetails?.[0]?.imageScanStatus?.status, 'IN_PROGRESS');
    assert.equal(described.imageDetails?.[0]?.imageScanFindingsSummary, undefined);
  });
});

describe('simulated ECR: BatchGetImage', () => {
  it('serves manifests and reports one failure per identifier it cannot serve', async (t) => {
    const { client, sim } = await harnessFor(t);
    const ref = { registryId: ME, region: 'us-east-1', repository: 'shop/api' };
    const v1 = sim.image({ ...ref, tag: 'v1' })!;
    const v2 = sim.image({ ...ref, tag: 'v2' })!;
    const rows: {
      id: { imageTag?: string; imageDigest?: string };
      failureCode?: string;
      failureReason?: string;
    }[] = [
      { id: { imageTag: 'v1' } },
      { id: { imageDigest: v2.digest } },
      { id: { imageTag: 'nope' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
      {
        id: {},
        failureCode: 'MissingDigestAndTag',
        failureReason: 'Invalid request parameters: both tag and digest cannot be null',
      },
      {
        id: { imageDigest: 'not-a-digest' },
        failureCode: 'InvalidImageDigest',
        failureReason:
          "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
      },
      {
        id: { imageTag: 'v1', imageDigest: v2.digest },
        failureCode: 'ImageTagDoesNotMatchDigest',
        failureReason: 'Invalid request parameters: given tag does not map to the given digest',
      },
      {
        id: { imageTag: 'old' },
        failureCode: 'ImageInaccessible',
        failureReason: 'Requested image is archived and cannot be pulled until it is restored',
      },
    ];
    const out = await client().send(
      new BatchGetImageCommand({ repositoryName: 'shop/api', imageIds: rows.map((r) => r.id) }),
    );
    const expectedFailures = rows.filter((r) => r.failureCode);
    assert.deepEqual(
      out.failures,
      expectedFailures.map((r) => ({
        imageId: r.id,
        failureCode: r.failureCode,
        failureReason: r.failureReason,
      })),
    );
    assert.deepEqual(
      out.images?.map((image) => image.imageId),
      [{ imageDigest: v1.digest, imageTag: 'v1' }, { imageDigest: v2.digest }],
    );
    for (const image of out.images ?? []) {
      assert.equal(digestOf(image.imageManifest!), image.imageId?.imageDigest);
      assert.equal(image.registryId, ME);
    }
    assert.equal(out.images?.[1]?.imageManifestMediaType, MEDIA_TYPES.ociManifest);
  });

  it('refuses a manifest type the caller does not accept', async (t) => {
    const { client } = await harnessFor(t);
    const out = await client().send(
      new BatchGetImageCommand({
        repositoryName: 'shop/api',
        imageIds: [{ imageTag: 'v1' }, { imageTag: 'v2' }],
        acceptedMediaTypes: [MEDIA_TYPES.ociManifest],
      }),
    );
    assert.deepEqual(
      out.images?.map((image) => image.imageId?.imageTag),
      ['v2'],
    );
    assert.deepEqual(
      out.failures?.map((f) => [f.imageId?.imageTag, f.failureCode]),
      [['v1', 'ImageNotFound']],
    );
  });

  it('moves lastRecordedPullTime as a pull does, while describing never does', async (t) => {
    const { client, sim, clock } = await harnessFor(t);
    const v1 = { registryId: ME, region: 'us-east-1', repository: 'shop/api', tag: 'v1' };
    clock.now = new Date(T0.getTime() + 3_600_000);
    const api = client();
    await api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }));
    await api.send(new DescribeImagesCommand({ repositoryName: 'shop/api' }));
    await api.send(
      new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId: { imageTag: 'v1' } }),
    );
    assert.deepEqual(sim.lastRecordedPullTime(v1), daysAgo(20), 'describing is not a pull');

    await api.send(
      new BatchGetImageCommand({
        repositoryName: 'shop/api',
        imageIds: [{ imageTag: 'v1' }, { imageTag: 'old' }],
      }),
    );
    assert.deepEqual(sim.lastRecordedPullTime(v1), clock.now);
    assert.equal(sim.lastRecordedPullTime({ ...v1, tag: 'old' }), undefined, 'a failed pull is no pull');
    const described = await api.send(
      new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }),
    );
    assert.deepEqual(described.imageDetails?.[0]?.lastRecordedPullTime, clock.now);
  });
});

describe('simulated ECR: changing state while it runs', () => {
  it('moves a tag off the image that held it when another image is pushed with it', async (t) => {
    const { client, sim } = await harnessFor(t);
    const ref = { registryId: ME, region: 'us-east-1', repository: 'shop/api' };
    const pushed = sim.pushImage(ref, { tags: ['latest'], pushedAt: T0 });
    assert.deepEqual(sim.image({ ...ref, tag: 'v2' })?.tags, ['v2']);
    const api = client();
    const latest = await api.send(
      new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'latest' }] }),
    );
    assert.equal(latest.imageDetails?.[0]?.imageDigest, pushed.digest);

    const v1 = sim.image({ ...ref, tag: 'v1' })!;
    sim.moveTag(ref, 'latest', v1.digest);
    const moved = await api.send(
      new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'latest' }] }),
    );
    assert.deepEqual(moved.imageDetails?.[0]?.imageTags, ['v1', 'latest']);
    assert.deepEqual(sim.image({ ...ref, digest: pushed.digest })?.tags, []);
  });

  it('archives an image, and a re-push of the same manifest restores it', async (t) => {
    const { client, sim, clock } = await harnessFor(t);
    const ref = { registryId: ME, region: 'us-east-1', repository: 'shop/api' };
    const api = client();
    clock.now = new Date(T0.getTime() + 60_000);
    sim.archive({ ...ref, tag: 'v1' });
    const hidden = await failureOf(
      api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] })),
    );
    assert.ok(hidden instanceof ImageNotFoundException);
    const any = await api.send(
      new DescribeImagesCommand({
        repositoryName: 'shop/api',
        imageIds: [{ imageTag: 'v1' }],
        filter: { imageStatus: 'ANY' },
      }),
    );
    assert.equal(any.imageDetails?.[0]?.imageStatus, 'ARCHIVED');
    assert.deepEqual(any.imageDetails?.[0]?.lastArchivedAt, clock.now);

    clock.now = new Date(T0.getTime() + 120_000);
    const manifest = sim.image({ ...ref, tag: 'v1' })!.manifest;
    sim.pushImage(ref, { manifest, tags: ['v1'], pushedAt: clock.now });
    const restored = await api.send(
      new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }),
    );
    assert.equal(restored.imageDetails?.[0]?.imageStatus, 'ACTIVE');
    assert.deepEqual(restored.imageDetails?.[0]?.lastActivatedAt, clock.now);
    assert.deepEqual(
      restored.imageDetails?.[0]?.imagePushedAt,
      daysAgo(30),
      'a re-push keeps the first push time',
    );
  });

  it('changes a scan and access rules on the fly', async (t) => {
    const { client, sim } = await harnessFor(t);
    const image = { registryId: ME, region: 'us-east-1', repository: 'shop/bulk', digest: bulkDigest(2) };
    sim.setScan(image, { kind: 'enhanced', status: 'ACTIVE', findings: { CRITICAL: 1 } });
    const api = client();
    const findings = await api.send(
      new DescribeImageScanFindingsCommand({
        repositoryName: 'shop/bulk',
        imageId: { imageDigest: bulkDigest(2) },
      }),
    );
    assert.deepEqual(findings.imageScanFindings?.findingSeverityCounts, { CRITICAL: 1 });

    sim.setAccessDenied({ registryId: ME, region: 'us-east-1', repository: 'shop/bulk' });
    const denied = await failureOf(api.send(new DescribeImagesCommand({ repositoryName: 'shop/bulk' })));
    assert.equal(denied.name, 'AccessDeniedException');
    sim.setAccessDenied({ registryId: ME, region: 'us-east-1', repository: 'shop/bulk' }, false);
    await api.send(new DescribeImagesCommand({ repositoryName: 'shop/bulk', maxResults: 1 }));

    const ghost = { registryId: ME, region: 'us-east-1', repository: 'shop/ghost' };
    sim.setAccessDenied(ghost);
    assert.equal(
      (await failureOf(api.send(new DescribeImagesCommand({ repositoryName: 'shop/ghost' })))).name,
      'AccessDeniedException',
    );
    sim.setAccessDenied(ghost, false);
    assert.ok(
      (await failureOf(api.send(new DescribeImagesCommand({ repositoryName: 'shop/ghost' })))) instanceof
        RepositoryNotFoundException,
    );

    sim.setAccessDenied({ registryId: ME, region: 'eu-west-1' });
    const west = await failureOf(client('eu-west-1').send(new DescribeRepositoriesCommand({})));
    assert.equal(west.name, 'AccessDeniedException');
  });
});

describe('simulated ECR: faults and the SDK retry policy', () => {
  const retried: {
    name: string;
    inject: (sim: EcrSimulator) => void;
    outcomes: Record<string, number>;
    attempts: number;
    fails?: string;
  }[] = [
    {
      name: 'retries throttling until it clears',
      inject: (sim) => sim.throttleNext(2),
      outcomes: { throttled: 2, ok: 1 },
      attempts: 3,
    },
    {
      name: 'retries a 500 ServerException',
      inject: (sim) => sim.failNext(2),
      outcomes: { failed: 2, ok: 1 },
      attempts: 3,
    },
    {
      name: 'retries a 503',
      inject: (sim) => sim.failNext(1, { status: 503, type: 'ServiceUnavailableException' }),
      outcomes: { failed: 1, ok: 1 },
      attempts: 2,
    },
    {
      name: 'gives up on throttling after maxAttempts',
      inject: (sim) => sim.throttleNext(3),
      outcomes: { throttled: 3 },
      attempts: 3,
      fails: 'ThrottlingException',
    },
    {
      name: 'does not retry a client error',
      inject: (sim) => sim.failNext(1, { status: 400, type: 'InvalidParameterException', message: 'bad' }),
      outcomes: { failed: 1 },
      attempts: 1,
      fails: 'InvalidParameterException',
    },
  ];
  for (const row of retried) {
    it(`${row.name} (maxAttempts 3)`, async (t) => {
      const { client, sim } = await harnessFor(t);
      row.inject(sim);
      const call = client('us-east-1', { maxAttempts: 3 }).send(new DescribeRepositoriesCommand({}));
      if (row.fails) {
        const err = await failureOf(call);
        assert.equal(err.name, row.fails);
        assert.equal(err.$metadata.attempts, row.attempts);
      } else {
        const out = await call;
        assert.equal(out.$metadata.attempts, row.attempts);
        assert.equal(out.repositories?.length, 3);
      }
      assert.deepEqual(sim.requests().byOutcome, row.outcomes);
    });
  }

  it('throttles an even share of calls at a throttle rate', async (t) => {
    const { client, sim } = await harnessFor(t);
    sim.setThrottleRate(0.5);
    const api = client();
    const results: string[] = [];
    for (let i = 0; i < 6; i++) {
      results.push(
        await api.send(new DescribeRepositoriesCommand({})).then(
          () => 'ok',
          (err: Error) => err.name,
        ),
      );
    }
    assert.deepEqual(results, [
      'ok',
      'ThrottlingException',
      'ok',
      'ThrottlingException',
      'ok',
      'ThrottlingException',
    ]);
  });

  it('aims a fault at one operation only', async (t) => {
    const { client, sim } = await harnessFor(t);
    sim.failNext(1, { operation: 'BatchGetImage' });
    const api = client();
    await api.send(new DescribeImagesCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] }));
    const err = await failureOf(
      api.send(new BatchGetImageCommand({ repositoryName: 'shop/api', imageIds: [{ imageTag: 'v1' }] })),
    );
    assert.equal(err.name, 'ServerException');
    assert.equal(err.$metadata.httpStatusCode, 500);
  });

  it('surfaces a truncated JSON answer as an error', async (t) => {
    const { client, sim } = await harnessFor(t);
    sim.malformedNext(1);
    await assert.rejects(
      client().send(new DescribeRepositoriesCommand({})),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.$metadata?.httpStatusCode, 200);
        assert.match(err.message, /JSON/);
        return true;
      },
    );
    assert.equal(sim.calls()[0]?.outcome, 'malformed');
  });

  it('holds a hung call open without holding up others, and close() ends it', async (t) => {
    const { client, sim } = await harnessFor(t);
    sim.hangNext(1);
    const hung = client()
      .send(new DescribeRepositoriesCommand({}))
      .then(
        () => 'answered',
        (err: Error) => err.message,
      );
    await sim.waitForCall();
    const other = await client().send(new DescribeRepositoriesCommand({}));
    assert.equal(other.repositories?.length, 3);
    assert.equal(sim.calls()[0]?.outcome, 'hung');
    await sim.close();
    assert.match(await hung, /socket hang up|ECONNRESET/);
  });

  it('keeps latency as one timer per call, so calls in flight overlap', async (t) => {
    const { client, sim } = await harnessFor(t, { latencyMs: 60_000 });
    const N = 8;
    let arrived = 0;
    const allArrived = new Promise<void>((done) => {
      sim.onCall(() => {
        arrived += 1;
        if (arrived === N) done();
      });
    });
    const api = client();
    const results = Array.from({ length: N }, () =>
      api.send(new DescribeRepositoriesCommand({})).then(
        () => 'answered',
        () => 'cut off',
      ),
    );
    await allArrived;
    assert.ok(
      sim.calls().every((call) => call.outcome === 'pending'),
      'every call is waiting at the same time',
    );
    await sim.close();
    assert.deepEqual(await Promise.all(results), Array(N).fill('cut off'));
  });

  it('answers after a short latency', async (t) => {
    const { client } = await harnessFor(t, { latencyMs: 5 });
    const out = await client().send(new DescribeRepositoriesCommand({}));
    assert.equal(out.repositories?.length, 3);
  });
});

describe('simulated ECR: the wire protocol', () => {
  let h: Harness & { stop(): Promise<void> };
  before(async () => {
    h = await startHarness();
  });
  after(() => h.stop());

  const signed =
    'AWS4-HMAC-SHA256 Credential=AKIAECRSIMULATOR0001/20260301/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=00';
  const rows: { name: string; target: string; body: string; auth?: string; status: number; type?: string }[] =
    [
      {
        name: 'a listing',
        target: 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
        body: '{}',
        auth: signed,
        status: 200,
      },
      {
        name: 'an unknown operation',
        target: 'AmazonEC2ContainerRegistry_V20150921.LaunchRocket',
        body: '{}',
        auth: signed,
        status: 400,
        type: 'UnknownOperationException',
      },
      {
        name: "another service's target",
        target: 'DynamoDB_20120810.ListTables',
        body: '{}',
        auth: signed,
        status: 400,
        type: 'UnknownOperationException',
      },
      {
        name: 'a body that is not JSON',
        target: 'AmazonEC2ContainerRegistry_V20150921.DescribeImages',
        body: '{"repositoryName":',
        auth: signed,
        status: 400,
        type: 'SerializationException',
      },
      {
        name: 'a field of the wrong type',
        target: 'AmazonEC2ContainerRegistry_V20150921.DescribeImages',
        body: '{"repositoryName":"shop/api","maxResults":"ten"}',
        auth: signed,
        status: 400,
        type: 'SerializationException',
      },
      {
        name: 'an unsigned request',
        target: 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
        body: '{}',
        status: 403,
        type: 'MissingAuthenticationTokenException',
      },
    ];
  for (const row of rows) {
    it(`answers ${row.name} with HTTP ${row.status}${row.type ? ` ${row.type}` : ''}`, async () => {
      const headers: Record<string, string> = {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': row.target,
      };
      if (row.auth) headers.authorization = row.auth;
      const res = await fetch(h.sim.endpoint, { method: 'POST', headers, body: row.body });
      assert.equal(res.status, row.status);
      assert.equal(res.headers.get('content-type'), 'application/x-amz-json-1.1');
      assert.ok(res.headers.get('x-amzn-requestid'));
      const json = (await res.json()) as { __type?: string; message?: string };
      assert.equal(json.__type, row.type);
      if (row.type) assert.equal(typeof json.message, 'string');
    });
  }

  it('is found by the SDK through AWS_ENDPOINT_URL_ECR', async () => {
    const script = [
      "import { ECRClient, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';",
      'const out = await new ECRClient({}).send(new DescribeRepositoriesCommand({}));',
      'console.log(JSON.stringify(out.repositories.map((r) => r.repositoryName)));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: resolve(import.meta.dirname, '..'),
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL_ECR: h.sim.endpoint,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: SIMULATOR_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: SIMULATOR_CREDENTIALS.secretAccessKey,
        // Keep the child away from any real AWS configuration on this machine.
        AWS_CONFIG_FILE: '/nonexistent/aws-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    assert.deepEqual(JSON.parse(stdout), ['shop/api']);
    assert.equal(h.sim.calls().at(-1)?.region, 'eu-west-1');
  });
});

describe('simulated ECR: scenarios', () => {
  const badScenarios: { name: string; scenario: EcrScenario }[] = [
    {
      name: 'a repository name ECR would refuse',
      scenario: {
        registries: [
          { accountId: ME, region: 'us-east-1', repositories: [{ name: 'Shop API', images: [] }] },
        ],
      },
    },
    {
      name: 'an account ID that is not 12 digits',
      scenario: { registries: [{ accountId: 'me', region: 'us-east-1', repositories: [] }] },
    },
  ];
  for (const bad of badScenarios) {
    it(`refuses to start with ${bad.name}`, async () => {
      await assert.rejects(startEcrSimulator({ scenario: bad.scenario }), StoreError);
    });
  }

  const options = {
    regions: ['us-east-1', 'eu-west-1'],
    repositories: 200,
    imagesPerRepository: 10,
    now: T0,
  };

  it('deals repositories and images over the registries, the same way every time', () => {
    const scenario = generateScenario(options);
    assert.deepEqual(scenario, generateScenario(options));
    assert.deepEqual(
      scenario.registries.map((r) => [r.region, r.repositories.length]),
      [
        ['us-east-1', 100],
        ['eu-west-1', 100],
      ],
    );
    const images = scenario.registries.flatMap((r) => r.repositories.flatMap((repo) => repo.images));
    assert.equal(images.length, 2000);
    assert.ok(images.every((image) => image.scan !== undefined));
  });

  it('serves a generated fleet through the SDK', async (t) => {
    const sim = await startEcrSimulator({ scenario: generateScenario(options), clock: () => T0 });
    const api = ecrClientFor(sim, 'eu-west-1', { maxAttempts: 1 });
    t.after(async () => {
      api.destroy();
      await sim.close();
    });
    const names: string[] = [];
    for await (const page of paginateDescribeRepositories({ client: api, pageSize: 1000 }, {})) {
      for (const repository of page.repositories ?? []) names.push(repository.repositoryName!);
    }
    assert.equal(names.length, 100);
    const listed = await api.send(new DescribeImagesCommand({ repositoryName: names[0], maxResults: 1000 }));
    assert.equal(listed.imageDetails?.length, 10);
    const latest = listed.imageDetails?.find((detail) => detail.imageTags?.includes('latest'));
    assert.deepEqual(latest?.imagePushedAt, new Date(T0.getTime() - 3_600_000));
  });
});
