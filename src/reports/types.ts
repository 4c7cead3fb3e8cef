/**
 * What the inventory tells the writers of Events and OpenReports (SPEC section 11): for each tracked,
 * running pod, what is wrong with its containers now. The writers own how and when that reaches the
 * apiserver; the inventory owns the findings.
 */

/** Why a finding is reported; each is an Event reason. */
export type FindingReason = 'ImagePolicyViolation' | 'ImageDrift' | 'ImageLifecycleRisk';

/** One thing wrong with one container of a running pod. */
export interface PodFinding {
  reason: FindingReason;
  container: string;
  /** The image as the pod spec names it. */
  image: string;
  /** The digest ECR holds for the image now (null when unresolved); for drift, not the one the node runs. */
  digest: string | null;
  /** The policy check that failed (`severity`, `archived`, …); `drift` for ImageDrift. */
  check: string;
  /** warn or deny, before policy.mode: what the check is configured to do. */
  action: 'warn' | 'deny';
  /** The highest finding severity, where the check is about findings (`severity`); else null. */
  severity: string | null;
  /**
   * One line in SPEC section 6's wording, naming container, image and check, e.g.
   * `container "api" image 1234….dkr.ecr.us-east-1.amazonaws.com/api:v7: 3 CRITICAL findings (max 0)`.
   */
  message: string;
}

/** A running pod with at least one finding. */
export interface PodFindings {
  namespace: string;
  name: string;
  uid: string;
  findings: readonly PodFinding[];
}

/** Per namespace, how its running containers fared: the Report summary's pass, error and skip. */
export interface NamespaceTally {
  /** Containers with no finding and every check able to run. */
  pass: number;
  /** Containers some check could not judge (ECR did not answer): policy.onError applied. */
  error: number;
  /** Containers no check applies to (exempt namespace or image, non-ECR with nonEcr off). */
  skip: number;
}

/** The inventory as the writers read it. */
export interface FindingsSource {
  /** Changes whenever anything below may have changed: writers compare it to skip idle passes. */
  version(): number;
  /** Every running pod in scope with at least one finding. */
  podFindings(): Iterable<PodFindings>;
  /** Per namespace in scope with running pods: the tallies for the Report summary. */
  namespaceTallies(): ReadonlyMap<string, NamespaceTally>;
}
