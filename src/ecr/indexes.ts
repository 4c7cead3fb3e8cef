/**
 * Image indexes: an OCI image index or a Docker manifest list names one manifest per platform, and,
 * from BuildKit (Docker 24+, docker/build-push-action), an attestation manifest per platform. ECR and
 * Inspector scan the platform images, never the index (moby/buildkit#3499, aws/containers-roadmap#1683),
 * so the scan facts of an index are its platform images'.
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** Every manifest type BatchGetImage may hand back: indexes and single-platform manifests alike. */
export const ACCEPTED_MEDIA_TYPES = [
  OCI_INDEX,
  DOCKER_MANIFEST_LIST,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

export function isIndexMediaType(mediaType: string | null | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** A platform image an index names. */
export interface IndexEntry {
  /** `os/architecture[/variant]`, as `docker` and `crane` write it: `linux/arm/v7`. */
  platform: string;
  digest: string;
}

export type ParsedIndex = { ok: true; platforms: IndexEntry[] } | { ok: false; message: string };

/** Manifests in one index worth reading; an index with more is not one a build tool wrote. */
const MAX_INDEX_ENTRIES = 1000;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The platform images of an index manifest, attestation manifests left out: those BuildKit marks with
 * the annotation `vnd.docker.reference.type: attestation-manifest` (docs/attestations/attestation-storage.md
 * in moby/buildkit) and any entry whose platform is `unknown/unknown`, which is how they appear in the
 * index. Never throws: the manifest comes from the registry, and a malformed one is a reason, not a crash.
 */
export function parseIndexManifest(text: string): ParsedIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the index manifest is not JSON' };
  }
  const manifests = (json as { manifests?: unknown })?.manifests;
  if (!Array.isArray(manifests)) return { ok: false, message: 'the index manifest has no manifests list' };
  if (manifests.length > MAX_INDEX_ENTRIES) {
    return { ok: false, message: `the index manifest lists ${manifests.length} manifests` };
  }
  const platforms: IndexEntry[] = [];
  for (const entry of manifests as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { digest, platform, annotations } = entry as {
      digest?: unknown;
      platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
      annotations?: Record<string, unknown>;
    };
    if (typeof digest !== 'string' || !DIGEST.test(digest)) continue;
    if (annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const os = typeof platform?.os === 'string' ? platform.os : 'unknown';
    const architecture = typeof platform?.architecture === 'string' ? platform.architecture : 'unknown';
    if (os === 'unknown' && architecture === 'unknown') continue;
    const variant = typeof platform?.variant === 'string' && platform.variant ? `/${platform.variant}` : '';
    platforms.push({ platform: `${os}/${architecture}${variant}`, digest });
  }
  return { ok: true, platforms };
}
