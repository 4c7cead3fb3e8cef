/**
 * The scenario a simulated ECR endpoint is seeded from, and the read-only views it hands back.
 * Shapes follow the ECR API's own vocabulary so a scenario reads like the answers it produces.
 */

/** The three ways ECR reports vulnerabilities, each with its own response shape. */
export type ScanKind =
  /** Basic scanning on the original (Clair) engine: DescribeImages carries status and counts. */
  | 'legacy-basic'
  /** Basic scanning on the AWS-native engine (default for new registries since 2025). */
  | 'native-basic'
  /** Enhanced scanning through Amazon Inspector. */
  | 'enhanced';

/** ECR's `ScanStatus` values (ImageScanStatus.status). */
export type ScanStatus =
  | 'IN_PROGRESS'
  | 'COMPLETE'
  | 'FAILED'
  | 'UNSUPPORTED_IMAGE'
  | 'ACTIVE'
  | 'PENDING'
  | 'SCAN_ELIGIBILITY_EXPIRED'
  | 'FINDINGS_UNAVAILABLE'
  | 'LIMIT_EXCEEDED'
  | 'IMAGE_ARCHIVED';

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

export interface SimScan {
  kind: ScanKind;
  status: ScanStatus;
  /** ImageScanStatus.description; a status-specific default when absent. */
  description?: string;
  /**
   * Findings per severity. Legacy scans use INFORMATIONAL LOW MEDIUM HIGH CRITICAL UNDEFINED;
   * Inspector-backed scans may also report UNTRIAGED. Individual findings are generated from these counts.
   */
  findings?: Partial<Record<string, number>>;
  /**
   * Whether DescribeImageScanFindings carries `findingSeverityCounts` (default true). Set false to make a
   * client count `enhancedFindings` across pages itself. Legacy scans always carry counts.
   */
  includeCounts?: boolean;
  /** imageScanCompletedAt; one minute after the push when absent. */
  completedAt?: Date;
  /** vulnerabilitySourceUpdatedAt; equal to completedAt when absent. */
  vulnerabilitySourceUpdatedAt?: Date;
}

export interface SimImage {
  /** Raw manifest text; the digest is `sha256:` + its SHA-256. Generated (unique per image) when absent. */
  manifest?: string;
  /** imageManifestMediaType; read from the manifest's own `mediaType`, else Docker schema 2. */
  mediaType?: string;
  /** artifactMediaType; the config media type that goes with the manifest type when absent. */
  artifactMediaType?: string;
  tags?: string[];
  pushedAt: Date;
  lastRecordedPullTime?: Date;
  /** imageSizeInBytes; derived from the digest (stable, plausible) when absent. */
  sizeBytes?: number;
  /** Absent means ACTIVE. */
  imageStatus?: ImageStatus;
  lastArchivedAt?: Date;
  lastActivatedAt?: Date;
  scan?: SimScan;
}

/** A lifecycle policy a scenario starts with. */
export interface SimLifecyclePolicy {
  /** The policy JSON, as PutLifecyclePolicy takes it; validated as ECR validates it. */
  text: string;
  /** When the policy last ran (GetLifecyclePolicy's lastEvaluatedAt); absent: it has not run yet. */
  lastEvaluatedAt?: Date;
}

export interface SimRepository {
  name: string;
  /** Every call on this repository answers AccessDeniedException. */
  accessDenied?: boolean;
  createdAt?: Date;
  imageTagMutability?: 'MUTABLE' | 'IMMUTABLE';
  images: SimImage[];
  lifecyclePolicy?: SimLifecyclePolicy;
}

export interface SimRegistry {
  /** 12-digit account ID. */
  accountId: string;
  region: string;
  /** Every call on this registry answers AccessDeniedException. */
  accessDenied?: boolean;
  repositories: SimRepository[];
}

export interface EcrScenario {
  /** The account the (dummy) credentials belong to: the default `registryId`. 123456789012 when absent. */
  callerAccount?: string;
  registries: SimRegistry[];
}

/** Names one repository of one registry. */
export interface RepositoryRef {
  registryId: string;
  region: string;
  repository: string;
}

/** Names one image: by digest, or by the tag that currently points at it. */
export interface ImageRef extends RepositoryRef {
  digest?: string;
  tag?: string;
}

/** A snapshot of one stored image, for tests and tools to read back. */
export interface ImageView {
  registryId: string;
  region: string;
  repository: string;
  digest: string;
  tags: readonly string[];
  mediaType: string;
  sizeBytes: number;
  pushedAt: Date;
  lastRecordedPullTime: Date | undefined;
  imageStatus: ImageStatus;
  lastArchivedAt: Date | undefined;
  lastActivatedAt: Date | undefined;
  scan: Readonly<SimScan> | undefined;
  manifest: string;
}

/** The operations this endpoint answers. */
export const SIMULATED_OPERATIONS = [
  'DescribeImages',
  'BatchGetImage',
  'DescribeImageScanFindings',
  'DescribeRepositories',
  'PutLifecyclePolicy',
  'GetLifecyclePolicy',
  'DeleteLifecyclePolicy',
  'StartLifecyclePolicyPreview',
  'GetLifecyclePolicyPreview',
] as const;
export type SimulatedOperation = (typeof SIMULATED_OPERATIONS)[number];
