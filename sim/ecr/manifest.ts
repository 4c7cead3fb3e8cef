import { seededHex, seededInt } from './seeded.ts';

/** Manifest media types ECR stores (BatchGetImage's acceptedMediaTypes speak the same names). */
export const MEDIA_TYPES = {
  dockerV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerV2: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex]);

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

export function sha256Digest(text: string): string {
  return 'sha256:' + seededHex(text);
}

/** The config blob type that goes with a manifest type; ECR reports it as artifactMediaType. */
export function artifactMediaTypeFor(manifestMediaType: string): string | undefined {
  if (manifestMediaType === MEDIA_TYPES.ociManifest) return 'application/vnd.oci.image.config.v1+json';
  if (manifestMediaType === MEDIA_TYPES.dockerV2) return 'application/vnd.docker.container.image.v1+json';
  return undefined;
}

/** The media type a stored manifest declares about itself, or Docker schema 2 when it does not say. */
export function mediaTypeOf(manifest: string): string {
  try {
    const parsed: unknown = JSON.parse(manifest);
    if (
      parsed &&
      typeof parsed === 'object' &&
      'mediaType' in parsed &&
      typeof parsed.mediaType === 'string'
    ) {
      return parsed.mediaType;
    }
  } catch {
    // Not JSON: ECR would have refused it at push time; describe it as the common type anyway.
  }
  return MEDIA_TYPES.dockerV2;
}

/** Digests and sizes derived from a seed, so a generated image is the same on every run. */
function seeded(seed: string): {
  digest(label: string): string;
  size(label: string, min: number, span: number): number;
} {
  return {
    digest: (label) => sha256Digest(`${seed}|${label}`),
    size: (label, min, span) => min + seededInt(`${seed}|size|${label}`, span),
  };
}

/**
 * A realistic image manifest unique to `seed`, with a config and two to four gzip layers whose sizes add
 * up to `totalSize` when one is given. Docker writes manifests indented with three spaces, and the
 * digest covers those exact bytes.
 */
export function generateManifest(seed: string, mediaType: string, totalSize?: number): string {
  const rnd = seeded(seed);
  const oci = mediaType === MEDIA_TYPES.ociManifest;
  const layerType = oci
    ? 'application/vnd.oci.image.layer.v1.tar+gzip'
    : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  const layerCount = 2 + rnd.size('layers', 0, 3);
  // Config blobs run 1–9 KB; layers 0.5–40 MB compressed, unless a total size was asked for.
  const configSize = rnd.size('config', 1000, 8000);
  const layerSizes = Array.from({ length: layerCount }, (_, i) => rnd.size(`layer${i}`, 500_000, 40_000_000));
  if (totalSize !== undefined) {
    const budget = Math.max(layerCount, totalSize - configSize);
    const base = Math.floor(budget / layerCount);
    layerSizes.fill(base);
    layerSizes[0] = budget - base * (layerCount - 1);
  }
  return JSON.stringify(
    {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: artifactMediaTypeFor(mediaType), size: configSize, digest: rnd.digest('config') },
      layers: layerSizes.map((size, i) => ({ mediaType: layerType, size, digest: rnd.digest(`layer${i}`) })),
    },
    null,
    3,
  );
}

/** The layer type BuildKit gives an in-toto attestation (moby/buildkit docs/attestations/attestation-storage.md). */
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';

/**
 * A BuildKit provenance attestation manifest for the platform image `subject`: an OCI image manifest
 * whose one layer is an in-toto statement (SLSA provenance), not a filesystem. It is a few KB in all,
 * which is how it shows in ECR: a very small untagged image beside the platform image.
 */
export function attestationManifest(seed: string, subject: string): string {
  const rnd = seeded(`${seed}|attestation|${subject}`);
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: rnd.digest('config'),
      size: 167,
    },
    layers: [
      {
        mediaType: IN_TOTO_MEDIA_TYPE,
        digest: rnd.digest('provenance'),
        size: rnd.size('provenance', 1000, 4000),
        annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
      },
    ],
  });
}

/** An OCI platform object: `linux/arm64/v8` → `{ architecture: 'arm64', os: 'linux', variant: 'v8' }`. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

const PLATFORM = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/([a-z0-9]+))?$/;

export function parsePlatform(text: string): Platform | undefined {
  const match = PLATFORM.exec(text);
  if (!match) return undefined;
  const [, os, architecture, variant] = match as unknown as [string, string, string, string | undefined];
  return variant === undefined ? { architecture, os } : { architecture, os, variant };
}

/** One `manifests[]` entry of an index. */
export interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  platform: Platform;
  annotations?: Record<string, string>;
}

/**
 * An index manifest listing `entries`, each with the size in bytes of the manifest it points to (an OCI
 * descriptor's `size`), as `docker buildx` writes it: platform images first, then their attestations
 * (platform unknown/unknown, annotated with the kind of reference and the digest they describe).
 */
export function indexManifest(mediaType: string, entries: readonly IndexEntry[]): string {
  return JSON.stringify(
    {
      schemaVersion: 2,
      mediaType,
      manifests: entries.map((entry) => ({
        mediaType: entry.mediaType,
        digest: entry.digest,
        size: entry.size,
        ...(entry.annotations ? { annotations: entry.annotations } : {}),
        platform: entry.platform,
      })),
    },
    null,
    2,
  );
}

/** The digests an index manifest lists, or undefined when the text is no index. */
export function indexChildren(manifest: string): string[] | undefined {
  try {
    const parsed = JSON.parse(manifest) as { manifests?: { digest?: unknown }[] };
    if (!Array.isArray(parsed.manifests)) return undefined;
    return parsed.manifests.map((entry) => (typeof entry.digest === 'string' ? entry.digest : ''));
  } catch {
    return undefined;
  }
}

/**
 * What ECR reports as imageSizeInBytes for an image manifest: the compressed layers plus config. An
 * index's size is its largest platform image's, which the store knows (see store.ts).
 */
export function sizeOfManifest(manifest: string): number {
  try {
    const parsed = JSON.parse(manifest) as {
      config?: { size?: number };
      layers?: { size?: number }[];
    };
    if (Array.isArray(parsed.layers)) {
      return parsed.layers.reduce((sum, layer) => sum + (layer.size ?? 0), parsed.config?.size ?? 0);
    }
  } catch {
    // Fall through: an opaque manifest has no size of its own.
  }
  return Buffer.byteLength(manifest);
}
