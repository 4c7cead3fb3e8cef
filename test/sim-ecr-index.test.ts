/**
 * The simulated ECR's image indexes, through the real SDK: what `docker buildx build --push` leaves in a
 * repository (platform images and attestation manifests as untagged images, the tagged index listing
 * them), and that ECR scans the platform images only, never the index.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  type ImageDetail,
  paginateDescribeImages,
  ScanNotFoundException,
  StartImageScanCommand,
  UnsupportedImageTypeException,
} from '@aws-sdk/client-ecr';
import {
  type EcrScenario,
  generateScenario,
  MEDIA_TYPES,
  type SimImage,
  type SimRegistry,
  StoreError,
  startEcrSimulator,
} from '../sim/ecr/index.ts';
import {
  ACCOUNT,
  buildkitImage,
  DAY,
  ecrFailure,
  multiArchImage,
  NOW,
  REGION,
  scanned,
  simFor,
} from './helpers/ecr.ts';

const digestOf = (text: string): string => 'sha256:' + createHash('sha256').update(text).digest('hex');
const ATTESTATION_TYPE = 'attestation-manifest';

interface IndexJson {
  mediaType: string;
  manifests: {
    mediaType: string;
    digest: string;
    size: number;
    platform: { os: string; architecture: string; variant?: string };
    annotations?: Record<string, string>;
  }[];
}

function scenario(repositories: Record<string, SimImage[]>, extra: Partial<SimRegistry> = {}): EcrScenario {
  return {
    callerAccount: ACCOUNT,
    registries: [
      {
        accountId: ACCOUNT,
        region: REGION,
        ...extra,
        repositories: Object.entries(repositories).map(([name, images]) => ({ name, images })),
      },
    ],
  };
}

const ref = (repository: string) => ({ registryId: ACCOUNT, region: REGION, repository });

/** Index shapes a scenario can push, each with what it must amount to. */
const shapes: {
  name: string;
  image: SimImage;
  indexType: string;
  childType: string;
  platforms: string[];
  attestations: boolean;
}[] = [
  {
    name: 'a BuildKit single-platform image',
    image: buildkitImage({ tags: ['v1'], scan: scanned({ CRITICAL: 2 }) }),
    indexType: MEDIA_TYPES.ociIndex,
    childType: MEDIA_TYPES.ociManifest,
    platforms: ['linux/amd64'],
    attestations: true,
  },
  {
    name: 'a multi-arch OCI index with attestations',
    image: multiArchImage({
      tags: ['v1'],
      platforms: { 'linux/amd64': scanned({ HIGH: 3 }), 'linux/arm64/v8': scanned({ HIGH: 1 }) },
    }),
    indexType: MEDIA_TYPES.ociIndex,
    childType: MEDIA_TYPES.ociManifest,
    platforms: ['linux/amd64', 'linux/arm64/v8'],
    attestations: true,
  },
  {
    name: 'a Docker manifest list of three platforms',
    image: multiArchImage({
      tags: ['v1'],
      format: 'docker',
      platforms: { 'linux/amd64': scanned({}), 'linux/arm64': scanned({}), 'linux/arm/v7': undefined },
    }),
    indexType: MEDIA_TYPES.dockerList,
    childType: MEDIA_TYPES.dockerV2,
    platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
    attestations: false,
  },
];

describe('simulated ECR: pushing an image index', () => {
  for (const shape of shapes) {
    it(`stores ${shape.name} as docker buildx pushes it, every listed digest an image of the repository`, async (t) => {
      const { client } = await simFor(t, scenario({ 'shop/api': [shape.image] }));
      const api = client();
      const details: ImageDetail[] = [];
      for await (const page of paginateDescribeImages({ client: api }, { repositoryName: 'shop/api' })) {
        details.push(...(page.imageDetails ?? []));
      }
      const index = details.at(-1)!;
      assert.deepEqual(index.imageTags, ['v1'], 'the tag is on the index, pushed last');
      assert.equal(index.imageManifestMediaType, shape.indexType);
      const perPlatform = shape.attestations ? 2 : 1;
      assert.equal(details.length, shape.platforms.length * perPlatform + 1);
      assert.ok(
        details.slice(0, -1).every((d) => d.imageTags === undefined),
        'platform images and attestations are untagged',
      );

      const got = await api.send(
        new BatchGetImageCommand({
          repositoryName: 'shop/api',
          imageIds: [{ imageDigest: index.imageDigest }],
          acceptedMediaTypes: [shape.indexType],
        }),
      );
      const served = got.images![0]!;
      assert.equal(served.imageManifestMediaType, shape.indexType);
      assert.equal(
        digestOf(served.imageManifest!),
        index.imageDigest,
        'the digest is the sha256 of the bytes',
      );
      const json = JSON.parse(served.imageManifest!) as IndexJson;
      assert.equal(json.mediaType, shape.indexType);

      const byDigest = new Map(details.map((d) => [d.imageDigest!, d]));
      const children = await api.send(
        new BatchGetImageCommand({
          repositoryName: 'shop/api',
          imageIds: json.manifests.map((m) => ({ imageDigest: m.digest })),
        }),
      );
      const manifests = new Map(children.images!.map((i) => [i.imageId!.imageDigest!, i.imageManifest!]));
      for (const entry of json.manifests) {
        const detail = byDigest.get(entry.digest);
        assert.ok(detail, `${entry.digest} listed by the index is an image of the repository`);
        assert.equal(entry.mediaType, detail.imageManifestMediaType);
        assert.equal(
          entry.size,
          Buffer.byteLength(manifests.get(entry.digest)!),
          'size is the manifest bytes',
        );
        assert.equal(digestOf(manifests.get(entry.digest)!), entry.digest);
      }
      const platformEntries = json.manifests.filter((m) => m.platform.os !== 'unknown');
      assert.deepEqual(
        platformEntries.map((m) =>
          [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/'),
        ),
        shape.platforms,
      );
      assert.ok(platformEntries.every((m) => m.mediaType === shape.childType));
      const attestations = json.manifests.filter((m) => m.platform.os === 'unknown');
      assert.equal(attestations.length, shape.attestations ? shape.platforms.length : 0);
      for (const [i, attestation] of attestations.entries()) {
        assert.deepEqual(attestation.platform, { architecture: 'unknown', os: 'unknown' });
        assert.deepEqual(attestation.annotations, {
          'vnd.docker.reference.digest': platformEntries[i]!.digest,
          'vnd.docker.reference.type': ATTESTATION_TYPE,
        });
      }
      const largest = Math.max(...platformEntries.map((m) => byDigest.get(m.digest)!.imageSizeInBytes!));
      assert.equal(index.imageSizeInBytes, largest, "an index's size is its largest platform image's");
    });
  }

  it('gives every platform image and attestation a digest of its own, push after push', async (t) => {
    const { sim } = await simFor(t, scenario({ 'shop/api': [] }));
    const digests = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const view = sim.pushImage(
        ref('shop/api'),
        multiArchImage({
          tags: [`v${i}`],
          platforms: { 'linux/amd64': undefined, 'linux/arm64': undefined },
        }),
      );
      for (const digest of [view.digest, ...view.children]) digests.add(digest);
    }
    assert.equal(digests.size, 5 * 5, 'five indexes of two platforms and two attestations each');
  });

  const refused: { name: string; images: SimImage[]; message: RegExp }[] = [
    {
      name: 'a scan on an index',
      images: [{ ...buildkitImage({ tags: ['v1'] }), scan: scanned({ CRITICAL: 1 }) }],
      message: /never scans an image index/,
    },
    {
      name: 'a scan on an index named only by its media type',
      images: [{ tags: ['v1'], pushedAt: new Date(NOW), mediaType: MEDIA_TYPES.ociIndex, scan: scanned({}) }],
      message: /never scans an image index/,
    },
    {
      name: 'a raw index whose platform images were never pushed',
      images: [
        {
          tags: ['v1'],
          pushedAt: new Date(NOW),
          manifest: JSON.stringify({
            schemaVersion: 2,
            mediaType: MEDIA_TYPES.ociIndex,
            manifests: [
              { mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${'a'.repeat(64)}`, size: 500 },
            ],
          }),
        },
      ],
      message: /ReferencedImagesNotFoundException/,
    },
    {
      name: 'a platform that is not os/architecture',
      images: [multiArchImage({ tags: ['v1'], platforms: { amd64: undefined } })],
      message: /not os\/arch/,
    },
  ];
  for (const row of refused) {
    it(`refuses a scenario with ${row.name}`, async () => {
      await assert.rejects(
        startEcrSimulator({ scenario: scenario({ 'shop/api': row.images }) }),
        (err: Error) => err instanceof StoreError && row.message.test(err.message),
      );
    });
  }

  it('accepts a raw index pushed after its platform images, and refuses to give it a scan later', async (t) => {
    const { sim } = await simFor(t, scenario({ 'shop/api': [{ tags: ['amd64'], pushedAt: new Date(NOW) }] }));
    const child = sim.image({ ...ref('shop/api'), tag: 'amd64' })!;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerList,
      manifests: [
        {
          mediaType: MEDIA_TYPES.dockerV2,
          digest: child.digest,
          size: Buffer.byteLength(child.manifest),
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    });
    const index = sim.pushImage(ref('shop/api'), { tags: ['v1'], pushedAt: new Date(NOW), manifest });
    assert.equal(index.kind, 'index');
    assert.deepEqual(index.children, [child.digest]);
    assert.equal(index.sizeBytes, child.sizeBytes);
    assert.throws(() => sim.setScan({ ...ref('shop/api'), tag: 'v1' }, scanned({})), StoreError);
  });
});

describe('simulated ECR: an index has no scan, its platform images do', () => {
  const image = buildkitImage({ tags: ['v1'], scan: scanned({ CRITICAL: 2, HIGH: 1 }) });

  it("reports the platform image's findings by its digest, and ScanNotFoundException for the index", async (t) => {
    const { sim, client } = await simFor(t, scenario({ 'shop/api': [image] }));
    const api = client();
    const index = sim.image({ ...ref('shop/api'), tag: 'v1' })!;
    const [platform, attestation] = index.children.map((digest) =>
      sim.image({ ...ref('shop/api'), digest })!,
    );
    assert.equal(platform!.kind, 'image');
    assert.equal(platform!.platform, 'linux/amd64');
    assert.equal(attestation!.kind, 'attestation');

    const findings = await api.send(
      new DescribeImageScanFindingsCommand({
        repositoryName: 'shop/api',
        imageId: { imageDigest: platform!.digest },
      }),
    );
    assert.equal(findings.imageScanStatus?.status, 'COMPLETE');
    assert.deepEqual(findings.imageScanFindings?.findingSeverityCounts, { CRITICAL: 2, HIGH: 1 });

    for (const imageId of [
      { imageTag: 'v1' },
      { imageDigest: index.digest },
      { imageDigest: attestation!.digest },
    ]) {
      const err = await ecrFailure(
        api.send(new DescribeImageScanFindingsCommand({ repositoryName: 'shop/api', imageId })),
      );
      assert.ok(err instanceof ScanNotFoundException, `no scan for ${JSON.stringify(imageId)}`);
    }
  });

  it('leaves scan fields out of the index in DescribeImages, even under legacy basic scanning', async (t) => {
    const legacy = buildkitImage({ tags: ['v1'], scan: scanned({ LOW: 1 }, 'legacy-basic') });
    const { client } = await simFor(t, scenario({ 'shop/api': [legacy] }));
    const out = await client().send(new DescribeImagesCommand({ repositoryName: 'shop/api' }));
    const [platform, attestation, index] = out.imageDetails!;
    assert.equal(platform!.imageScanStatus?.status, 'COMPLETE');
    assert.deepEqual(platform!.imageScanFindingsSummary?.findingSeverityCounts, { LOW: 1 });
    for (const detail of [attestation!, index!]) {
      assert.equal(detail.imageScanStatus, undefined);
      assert.equal(detail.imageScanFindingsSummary, undefined);
    }
  });

  it('answers StartImageScan on an index or an attestation with UnsupportedImageTypeException', async (t) => {
    const { sim, client } = await simFor(t, scenario({ 'shop/api': [image] }));
    const index = sim.image({ ...ref('shop/api'), tag: 'v1' })!;
    const rows = [
      { imageId: { imageTag: 'v1' }, type: MEDIA_TYPES.ociIndex },
      { imageId: { imageDigest: index.children[1]! }, type: 'application/vnd.in-toto+json' },
    ];
    for (const row of rows) {
      const err = await ecrFailure(
        client().send(new StartImageScanCommand({ repositoryName: 'shop/api', imageId: row.imageId })),
      );
      assert.ok(err instanceof UnsupportedImageTypeException);
      assert.equal(
        err.message,
        `An artifact with media type '${row.type}' cannot be scanned. For more information, see the Amazon ECR documentation.`,
      );
    }
  });

  const onPush: { kind: 'legacy-basic' | 'native-basic' | 'enhanced'; attestation: string | undefined }[] = [
    { kind: 'legacy-basic', attestation: 'FAILED' },
    { kind: 'native-basic', attestation: undefined },
    { kind: 'enhanced', attestation: undefined },
  ];
  for (const row of onPush) {
    it(`scans on push the platform images only under ${row.kind} scanning (attestation: ${row.attestation ?? 'none'})`, async (t) => {
      const pushed = multiArchImage({
        tags: ['v1'],
        platforms: { 'linux/amd64': undefined, 'linux/arm64': undefined },
      });
      pushed.index!.platforms[0]!.vulnerabilities = { HIGH: 3 };
      const { sim, clock } = await simFor(
        t,
        scenario({ 'shop/api': [] }, { scanning: { kind: row.kind, scanDurationMs: 60_000 } }),
      );
      const index = sim.pushImage(ref('shop/api'), { ...pushed, pushedAt: clock.now });
      clock.now = new Date(NOW + 60_000);
      const views = index.children.map((digest) => sim.image({ ...ref('shop/api'), digest })!);
      const finished = row.kind === 'enhanced' ? 'ACTIVE' : 'COMPLETE';
      assert.deepEqual(
        views.map((v) => [v.kind, v.scan?.status]),
        [
          ['image', finished],
          ['image', finished],
          ['attestation', row.attestation],
          ['attestation', row.attestation],
        ],
      );
      assert.deepEqual(views[0]!.scan?.findings, { HIGH: 3 });
      assert.equal(
        sim.image({ ...ref('shop/api'), tag: 'v1' })!.scan,
        undefined,
        'the index is never scanned',
      );
      if (row.attestation) {
        assert.equal(views[2]!.scan?.description, 'LayerError: Failed to extract layer for image scan.');
      }
    });
  }
});

describe('simulated ECR: reading an index manifest with BatchGetImage', () => {
  it('serves the index when its type is accepted and counts a pull of the index alone', async (t) => {
    const pulledLongAgo = new Date(NOW - 100 * DAY);
    const { sim, client, clock } = await simFor(
      t,
      scenario({ 'shop/api': [buildkitImage({ tags: ['v1'], lastRecordedPullTime: pulledLongAgo })] }),
    );
    const index = sim.image({ ...ref('shop/api'), tag: 'v1' })!;
    clock.now = new Date(NOW + 3_600_000);
    const out = await client().send(
      new BatchGetImageCommand({
        repositoryName: 'shop/api',
        imageIds: [{ imageDigest: index.digest }],
        acceptedMediaTypes: [
          MEDIA_TYPES.dockerV2,
          MEDIA_TYPES.ociManifest,
          MEDIA_TYPES.ociIndex,
          MEDIA_TYPES.dockerList,
        ],
      }),
    );
    assert.deepEqual(out.failures, []);
    assert.equal(out.images?.[0]?.imageManifestMediaType, MEDIA_TYPES.ociIndex);
    assert.equal(out.images?.[0]?.imageManifest, index.manifest);
    assert.deepEqual(sim.lastRecordedPullTime({ ...ref('shop/api'), digest: index.digest }), clock.now);
    assert.deepEqual(
      sim.lastRecordedPullTime({ ...ref('shop/api'), digest: index.children[0]! }),
      pulledLongAgo,
      'the platform image was not served, so not pulled',
    );
  });

  it('cannot serve an index whose type the caller does not accept, and records no pull', async (t) => {
    const { sim, client, clock } = await simFor(
      t,
      scenario({ 'shop/api': [buildkitImage({ tags: ['v1'] })] }),
    );
    const index = sim.image({ ...ref('shop/api'), tag: 'v1' })!;
    clock.now = new Date(NOW + 3_600_000);
    const out = await client().send(
      new BatchGetImageCommand({
        repositoryName: 'shop/api',
        imageIds: [{ imageDigest: index.digest }],
        acceptedMediaTypes: [MEDIA_TYPES.dockerV2, MEDIA_TYPES.ociManifest],
      }),
    );
    assert.deepEqual(out.images, []);
    assert.deepEqual(out.failures, [
      {
        imageId: { imageDigest: index.digest },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    assert.deepEqual(
      sim.lastRecordedPullTime({ ...ref('shop/api'), digest: index.digest }),
      new Date(NOW - DAY),
    );
  });
});

describe('simulated ECR: a generated fleet with indexes', () => {
  it('pushes the asked share of images as BuildKit indexes whose platform images carry the scans', async (t) => {
    const generated = generateScenario({
      repositories: 20,
      imagesPerRepository: 10,
      indexShare: 0.6,
      now: new Date(NOW),
    });
    const { sim } = await simFor(t, generated);
    const roots = generated.registries[0]!.repositories.flatMap((r) =>
      r.images.map((image, i) => ({ repository: r.name, tag: `v1.${i}`, image })),
    );
    const indexes = roots.filter((root) => root.image.index);
    assert.ok(
      indexes.length > 0.5 * roots.length && indexes.length < 0.7 * roots.length,
      `${indexes.length} of 200`,
    );
    for (const root of indexes) {
      const view = sim.image({ ...ref(root.repository), tag: root.tag })!;
      assert.equal(view.kind, 'index');
      assert.equal(view.scan, undefined);
      const children = view.children.map((digest) => sim.image({ ...ref(root.repository), digest })!);
      assert.ok(children.every(Boolean), 'every listed digest is an image of the repository');
      const platforms = children.filter((c) => c.kind === 'image');
      assert.ok(platforms.length >= 1 && platforms.length <= 2);
      assert.ok(platforms.every((p) => p.scan !== undefined));
      assert.equal(children.length, platforms.length * 2, 'one attestation per platform image');
    }
  });
});
