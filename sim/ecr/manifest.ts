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
 * A realistic manifest unique to `seed`. Image manifests get a config and two to four gzip layers whose
 * sizes add up to `totalSize` when one is given; indexes list two platform manifests.
 * Docker writes manifests indented with three spaces, and the digest covers those exact bytes.
 */
export function generateManifest(seed: string, mediaType: string, totalSize?: number): string {
  const rnd = seeded(seed);
  if (isIndexMediaType(mediaType)) {
    const child = mediaType === MEDIA_TYPES.ociIndex ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerV2;
    const platforms = [
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ];
    return JSON.stringify(
      {
        schemaVersion: 2,
        mediaType,
        manifests: platforms.map((platform) => ({
          mediaType: child,
          // 400–1,400 bytes: the size range of real single-platform manifests.
          size: rnd.size(platform.architecture, 400, 1000),
          digest: rnd.digest(platform.architecture),
          platform,
        })),
      },
      null,
      3,
    );
  }
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

/** What ECR reports as imageSizeInBytes: the compressed layers plus config (for an index, a nominal value). */
export function sizeOfManifest(manifest: string): number {
  try {
    const parsed = JSON.parse(manifest) as {
      config?: { size?: number };
      layers?: { size?: number }[];
      manifests?: { size?: number }[];
    };
    if (Array.isArray(parsed.layers)) {
      return parsed.layers.reduce((sum, layer) => sum + (layer.size ?? 0), parsed.config?.size ?? 0);
    }
    if (Array.isArray(parsed.manifests)) {
      return parsed.manifests.reduce((sum, entry) => sum + (entry.size ?? 0), 0);
    }
  } catch {
    // Fall through: an opaque manifest has no size of its own.
  }
  return Buffer.byteLength(manifest);
}
