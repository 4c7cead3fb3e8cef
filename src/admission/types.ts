/**
 * The admission.k8s.io/v1 wire types the webhook reads and writes, reduced to the fields it uses,
 * and the types its layers hand each other.
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';

export type WebhookName = 'validate' | 'mutate';
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
export const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** An AdmissionRequest after decoding: every field the webhook reads has been checked for its type. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  /** '' when the request is for the resource itself; `ephemeralcontainers`, `status`, … otherwise. */
  subResource: string;
  name: string;
  namespace: string;
  operation: Operation;
  /** The object and oldObject, handed out once: see ReviewObjects. */
  objects: ReviewObjects;
  dryRun: boolean;
}

/**
 * The request's object (as it will be stored; null for DELETE and CONNECT) and oldObject (as it is
 * stored now: UPDATE and DELETE), the bulk of a review (up to 3 MiB each). A handler takes them once,
 * before its first await, reads its container images from them and keeps only those: the endpoint
 * releases them as soon as the handler's synchronous part has returned, so nothing holds a parsed
 * object while the review waits for ECR. Their inside is checked by whoever reads them.
 */
export interface ReviewObjects {
  /** Both objects; throws (a bug: a 500 through with-recovery) once taken or released. */
  take(): { object: unknown; oldObject: unknown };
  /** Drops them, taken or not. */
  release(): void;
}

/** metav1.Status as an AdmissionResponse carries it. */
export interface ResponseStatus {
  status: 'Failure';
  code: number;
  reason: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: ResponseStatus;
  /** Base64 of a JSONPatch document (RFC 6902). */
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
  /** Recorded in the audit log entry of the request; the apiserver prefixes the keys with the webhook's name. */
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewReply {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_REVIEW_KIND;
  response: AdmissionResponse;
}

/**
 * How a review ended, as `ecr_warden_admission_reviews_total{decision}` counts it: `rejected` is a
 * 429, refused unread because the webhook holds as much as it may (webhook.maxInFlight,
 * webhook.maxInFlightBytes).
 */
export type Decision = 'allowed' | 'warned' | 'denied' | 'error' | 'rejected';

/**
 * Hooks for the admission metrics (`ecr_warden_admission_reviews_total`,
 * `ecr_warden_admission_review_duration_seconds`), so the webhook does not depend on prom-client.
 * `kind` is one of the workload kinds or `other` (bounded: it never carries a value from the request).
 */
export interface AdmissionObserver {
  review(webhook: WebhookName, kind: string, decision: Decision, seconds: number): void;
}

/** What one admission handler gets besides the request. */
export interface ReviewContext {
  webhook: WebhookName;
  /** `performance.now()` when the request arrived: the deadline counts from here. */
  receivedAt: number;
}

/** /validate and /mutate: one decoded request in, one response out. May throw (see with-recovery.ts). */
export type AdmissionHandler = (
  request: AdmissionRequest,
  context: ReviewContext,
) => Promise<AdmissionResponse>;

/**
 * The body of a POST as the transport read it, or why it did not (with the request's uid when the
 * part read before the refusal showed it).
 */
export type BodyRead =
  { ok: true; bytes: Buffer } | { ok: false; code: 413 | 415 | 429; message: string; uid?: string };

/** One POST to a webhook path, as the transport hands it over. */
export interface ReviewCall extends ReviewContext {
  /**
   * The body, handed over once: the transport forgets it then, so the bytes are garbage once the
   * caller has decoded them. The transport stops counting them against webhook.maxInFlightBytes when
   * the endpoint's synchronous part returns (decoding and extraction happen there).
   */
  takeBody(): BodyRead;
}

/** The answer to one call: what to send and what to count. */
export interface ReviewReply {
  httpStatus: number;
  /** The metric label: a handled workload kind or `other`. */
  kind: string;
  decision: Decision;
  review: AdmissionReviewReply;
}

/** A whole webhook endpoint: decorators for metrics and logging wrap this (see with-metrics.ts). */
export type ReviewEndpoint = (call: ReviewCall) => Promise<ReviewReply>;
