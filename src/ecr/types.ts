import type { Severity } from '../config/types.ts';

/** Why an image could not be resolved (SPEC section 4). Stable: used in JSON output and metric labels. */
export type FailureReason =
  | 'not_found'
  | 'repository_not_found'
  | 'access_denied'
  | 'throttled'
  | 'timeout'
  | 'invalid_reference'
  | 'error';

/** Reasons that are answers about the image, not about our ability to ask: cached for negativeTTL. */
export const DEFINITE_REASONS: ReadonlySet<FailureReason> = new Set([
  'not_found',
  'repository_not_found',
  'access_denied',
]);

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

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
  sizeBytes: number | null;
  manifestMediaType: string | null;
  /** null when the scan facts could not be read; `scanError` then says why. */
  scan: ScanFacts | null;
  scanError: FailureReason | null;
}

export type Resolution =
  | { status: 'resolved'; facts: ImageFacts }
  | { status: 'unresolved'; reason: FailureReason; message: string };

/** Hooks the resolver calls so metrics stay outside it. */
export interface ResolverObserver {
  ecrRequest(operation: string, region: string, outcome: 'success' | FailureReason, seconds: number): void;
  cache(result: 'hit' | 'miss' | 'coalesced'): void;
}

export const noopObserver: ResolverObserver = {
  ecrRequest() {},
  cache() {},
};
