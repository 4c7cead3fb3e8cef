import type { Severity } from '../config/types.ts';

/** Why an image could not be resolved (SPEC section 4). Stable: used in JSON output and metric labels. */
export type FailureReason =
  | 'not_found'
  | 'repository_not_found'
  | 'not_cached'
  | 'access_denied'
  | 'throttled'
  | 'timeout'
  | 'invalid_reference'
  | 'error';

export const FAILURE_REASONS: readonly FailureReason[] = [
  'not_found',
  'repository_not_found',
  'not_cached',
  'access_denied',
  'throttled',
  'timeout',
  'invalid_reference',
  'error',
];

/** Reasons that are answers about the image, not about our ability to ask: cached for negativeTTL. */
export const DEFINITE_REASONS: ReadonlySet<FailureReason> = new Set([
  'not_found',
  'repository_not_found',
  'not_cached',
  'access_denied',
]);

/**
 * Reasons under which a known answer is served past its TTL (SPEC section 4, "Through an outage"):
 * ECR could not answer, which says nothing about the image.
 */
export const TRANSIENT_REASONS: ReadonlySet<FailureReason> = new Set(['throttled', 'timeout', 'error']);

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

/**
 * Who is asking: the webhook's lookups (admission) have their own share of ECR concurrency and never
 * wait behind the inventory's refresh (bulk). SPEC section 4, "Admission first".
 */
export type Lane = 'admission' | 'bulk';

/**
 * Scan facts for one digest. `status` is ECR's scan status (COMPLETE, ACTIVE, IN_PROGRESS, FAILED, …)
 * or NOT_SCANNED when ECR holds no scan for the image (ScanNotFoundException).
 */
export interface ScanFacts {
  status: string;
  description: string | null;
  findings: Partial<Record<Severity, number>>;
  completedAt: Date | null;
}

/**
 * Statuses under which findings are known: a finished basic scan (COMPLETE) or enhanced scanning's
 * continuous ACTIVE. Under any other status the findings are unknown, never "none" (SPEC section 4).
 */
export const FINISHED_SCAN_STATUSES: ReadonlySet<string> = new Set(['COMPLETE', 'ACTIVE']);

export function isFinishedScan(scan: ScanFacts | null): boolean {
  return scan !== null && FINISHED_SCAN_STATUSES.has(scan.status);
}

/** One platform image of an index: `linux/arm64`, its digest, and its scan. */
export interface PlatformFacts {
  platform: string;
  digest: string;
  scan: ScanFacts | null;
  /** Why `scan` is null: the findings call failed. */
  scanError: FailureReason | null;
}

/**
 * What an image index holds, for an image whose manifest is an OCI index or a Docker manifest list.
 * `platforms` leaves attestation manifests out; it is null when the index was not read, because
 * ecr.followIndexes is off (`error` null) or reading it failed (`error` says why).
 */
export interface IndexFacts {
  platforms: PlatformFacts[] | null;
  error: FailureReason | null;
}

/** What ECR says about one image. Dates are Dates; absent values are null. */
export interface ImageFacts {
  registryId: string;
  region: string;
  repository: string;
  digest: string;
  tags: string[];
  imageStatus: ImageStatus;
  pushedAt: Date | null;
  lastRecordedPullTime: Date | null;
  lastArchivedAt: Date | null;
  lastActivatedAt: Date | null;
  sizeBytes: number | null;
  manifestMediaType: string | null;
  /**
   * For a plain image, its own scan; for an index, its platform images' scans taken together (the
   * per-severity maximum; COMPLETE only when every platform's scan is finished). null when the scan
   * facts could not be had: `scanError` then says why, or `index.platforms` is null.
   */
  scan: ScanFacts | null;
  scanError: FailureReason | null;
  /** Set for an image index, null for a plain image. */
  index: IndexFacts | null;
  /** Whether ECR keeps the reference's tag immutable; null when unknown or not asked (or no tag). */
  tagImmutable: boolean | null;
}

export type Resolution =
  | { status: 'resolved'; facts: ImageFacts }
  | { status: 'unresolved'; reason: FailureReason; message: string };

/** How one lookup was served, for cache_requests_total. `stale`: a known answer past its TTL. */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'stale';

/** Hooks the resolver calls so metrics stay outside it. */
export interface ResolverObserver {
  ecrRequest(operation: string, region: string, outcome: 'success' | FailureReason, seconds: number): void;
  cache(result: CacheResult): void;
}

export const noopObserver: ResolverObserver = {
  ecrRequest() {},
  cache() {},
};

/**
 * One repository of one registry as a key (`registryId/region/repository`): what the caches, the
 * lifecycle policies and the refresh's grouping share.
 */
export function repositoryKey(registry: { registryId: string; region: string }, repository: string): string {
  return `${registry.registryId}/${registry.region}/${repository}`;
}
