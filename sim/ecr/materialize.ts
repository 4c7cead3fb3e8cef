import {
  artifactMediaTypeFor,
  attestationManifest,
  generateManifest,
  type IndexEntry,
  indexChildren,
  indexManifest,
  isIndexMediaType,
  MEDIA_TYPES,
  mediaTypeOf,
  parsePlatform,
  sha256Digest,
  sizeOfManifest,
} from './manifest.ts';
import { StoreError } from './store-error.ts';
import type { ImageKind, ImageStatus, SeverityCounts, SimImage, SimPlatformImage, SimScan } from './types.ts';

/** A manifest ready to store, with the facts a scenario gave it. */
export interface ManifestNode {
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  readonly artifactMediaType: string | undefined;
  readonly kind: ImageKind;
  readonly platform: string | undefined;
  /** For an index: the digests it lists. */
  readonly children: readonly string[];
  /** Undefined for an index: its size is its largest platform image's, known once they are stored. */
  readonly sizeBytes: number | undefined;
  readonly tags: readonly string[];
  readonly pushedAt: Date;
  readonly lastRecordedPullTime: Date | undefined;
  readonly imageStatus: ImageStatus;
  readonly lastArchivedAt: Date | undefined;
  readonly lastActivatedAt: Date | undefined;
  readonly scan: SimScan | undefined;
  readonly vulnerabilities: SeverityCounts | undefined;
  readonly unscannable: 'UNSUPPORTED_IMAGE' | 'FAILED' | undefined;
}

/** When a scenario names an index type without saying what it holds: two platforms, as before. */
const DEFAULT_PLATFORMS: SimPlatformImage[] = [{ platform: 'linux/amd64' }, { platform: 'linux/arm64/v8' }];

/**
 * The manifests one pushed image amounts to, in the order `docker buildx build --push` sends them:
 * for an index, each platform image and attestation manifest first (untagged), the index last.
 * `seed` makes generated manifests unique and the same from run to run.
 */
export function materialize(spec: SimImage, seed: string): ManifestNode[] {
  const requestedType = spec.mediaType ?? (spec.manifest ? mediaTypeOf(spec.manifest) : undefined);
  const isIndex =
    spec.index !== undefined || (requestedType !== undefined && isIndexMediaType(requestedType));
  if (!isIndex) return [single(spec, seed, requestedType ?? MEDIA_TYPES.dockerV2)];
  if (spec.scan) {
    // ECR and Inspector scan the platform images of an index, never the index (moby/buildkit#3499,
    // aws/containers-roadmap#1683; the ECR Public guide's describe-image-scan-findings: "If a tag points
    // to a multi-architecture image … specify the digest of a platform"). A scenario saying otherwise
    // describes something ECR never does.
    throw new StoreError(
      'ECR never scans an image index: give the scans to its platform images (index.platforms[].scan)',
    );
  }
  if (spec.manifest && !spec.index) return [rawIndex(spec, requestedType ?? MEDIA_TYPES.ociIndex)];
  if (spec.manifest) throw new StoreError('an image gives either a raw index manifest or `index`, not both');
  const index = spec.index ?? { platforms: DEFAULT_PLATFORMS };
  const format = index.format ?? (requestedType === MEDIA_TYPES.dockerList ? 'docker' : 'oci');
  const indexType = format === 'docker' ? MEDIA_TYPES.dockerList : MEDIA_TYPES.ociIndex;
  if (requestedType !== undefined && requestedType !== indexType) {
    throw new StoreError(`mediaType ${requestedType} does not match an index of format ${format}`);
  }
  if (index.platforms.length === 0) throw new StoreError('an index lists at least one platform image');
  const childType = format === 'docker' ? MEDIA_TYPES.dockerV2 : MEDIA_TYPES.ociManifest;
  const nodes: ManifestNode[] = [];
  const entries: IndexEntry[] = [];
  const attestations: IndexEntry[] = [];
  for (const [i, p] of index.platforms.entries()) {
    const platform = parsePlatform(p.platform);
    if (!platform) throw new StoreError(`platform ${JSON.stringify(p.platform)} is not os/arch[/variant]`);
    const child = single(
      {
        pushedAt: spec.pushedAt,
        lastRecordedPullTime: p.lastRecordedPullTime ?? spec.lastRecordedPullTime,
        sizeBytes: p.sizeBytes,
        imageStatus: spec.imageStatus,
        lastArchivedAt: spec.lastArchivedAt,
        lastActivatedAt: spec.lastActivatedAt,
        scan: p.scan,
        vulnerabilities: p.vulnerabilities,
        unscannable: p.unscannable,
      },
      `${seed}|${p.platform}#${i}`,
      childType,
      p.platform,
    );
    nodes.push(child);
    entries.push({
      mediaType: childType,
      digest: child.digest,
      size: Buffer.byteLength(child.manifest),
      platform,
    });
    if (index.attestations) {
      const manifest = attestationManifest(seed, child.digest);
      const digest = sha256Digest(manifest);
      nodes.push({
        ...base(spec),
        digest,
        manifest,
        mediaType: MEDIA_TYPES.ociManifest,
        artifactMediaType: artifactMediaTypeFor(MEDIA_TYPES.ociManifest),
        kind: 'attestation',
        platform: undefined,
        sizeBytes: sizeOfManifest(manifest),
        // Nodes pull the platform image an index points them to, never its attestation.
        lastRecordedPullTime: undefined,
      });
      attestations.push({
        mediaType: MEDIA_TYPES.ociManifest,
        digest,
        size: Buffer.byteLength(manifest),
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: {
          'vnd.docker.reference.digest': child.digest,
          'vnd.docker.reference.type': 'attestation-manifest',
        },
      });
    }
  }
  const manifest = indexManifest(indexType, [...entries, ...attestations]);
  nodes.push({
    ...base(spec),
    digest: sha256Digest(manifest),
    manifest,
    mediaType: indexType,
    artifactMediaType: spec.artifactMediaType,
    kind: 'index',
    platform: undefined,
    children: [...entries, ...attestations].map((e) => e.digest),
    sizeBytes: spec.sizeBytes,
    tags: spec.tags ?? [],
  });
  return nodes;
}

/** What every node of one push shares, untagged and unscanned until said otherwise. */
function base(
  spec: SimImage,
): Omit<
  ManifestNode,
  'digest' | 'manifest' | 'mediaType' | 'artifactMediaType' | 'kind' | 'platform' | 'sizeBytes'
> {
  return {
    children: [],
    tags: [],
    pushedAt: spec.pushedAt,
    lastRecordedPullTime: spec.lastRecordedPullTime,
    imageStatus: spec.imageStatus ?? 'ACTIVE',
    lastArchivedAt: spec.lastArchivedAt ?? (spec.imageStatus === 'ARCHIVED' ? spec.pushedAt : undefined),
    lastActivatedAt: spec.lastActivatedAt,
    scan: undefined,
    vulnerabilities: undefined,
    unscannable: undefined,
  };
}

function single(spec: SimImage, seed: string, mediaType: string, platform?: string): ManifestNode {
  const manifest = spec.manifest ?? generateManifest(seed, mediaType, spec.sizeBytes);
  return {
    ...base(spec),
    digest: sha256Digest(manifest),
    manifest,
    mediaType,
    artifactMediaType: spec.artifactMediaType ?? artifactMediaTypeFor(mediaType),
    kind: 'image',
    platform,
    sizeBytes: spec.sizeBytes ?? sizeOfManifest(manifest),
    tags: spec.tags ?? [],
    scan: spec.scan ? { ...spec.scan } : undefined,
    vulnerabilities: spec.vulnerabilities ?? spec.scan?.findings,
    unscannable: spec.unscannable,
  };
}

function rawIndex(spec: SimImage, mediaType: string): ManifestNode {
  const manifest = spec.manifest as string;
  const children = indexChildren(manifest);
  if (!children) throw new StoreError('an index manifest lists its images in `manifests`');
  return {
    ...base(spec),
    digest: sha256Digest(manifest),
    manifest,
    mediaType,
    artifactMediaType: spec.artifactMediaType,
    kind: 'index',
    platform: undefined,
    children,
    sizeBytes: spec.sizeBytes,
    tags: spec.tags ?? [],
  };
}
