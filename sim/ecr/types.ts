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

/** Findings per severity, e.g. `{ CRITICAL: 2, HIGH: 1 }`. */
export type SeverityCounts = Partial<Record<string, number>>;

export interface SimScan {
  kind: ScanKind;
  /**
   * The scan's status; for a scan with `durationMs`, the status it ends in (COMPLETE or ACTIVE with
   * findings, FAILED, UNSUPPORTED_IMAGE), reached `durationMs` after `startedAt`.
   */
  status: ScanStatus;
  /** ImageScanStatus.description; a status-specific default when absent. */
  description?: string;
  /**
   * Findings per severity. Legacy scans use INFORMATIONAL LOW MEDIUM HIGH CRITICAL UNDEFINED;
   * Inspector-backed scans may also report UNTRIAGED. Individual findings are generated from these counts.
   */
  findings?: SeverityCounts;
  /**
   * Whether DescribeImageScanFindings carries `findingSeverityCounts` (default true). Set false to make a
   * client count `enhancedFindings` across pages itself. Legacy scans always carry counts.
   */
  includeCounts?: boolean;
  /** imageScanCompletedAt; `startedAt + durationMs`, else one minute after the push, when absent. */
  completedAt?: Date;
  /** vulnerabilitySourceUpdatedAt; equal to completedAt when absent. */
  vulnerabilitySourceUpdatedAt?: Date;
  /** When the scan started: the push (default), a StartImageScan call, a first pull through the cache. */
  startedAt?: Date;
  /**
   * How long the scan runs in simulated time (the simulator's `clock`). Until `startedAt + durationMs`
   * the scan reads PENDING for its first `pendingMs`, then IN_PROGRESS (basic) or stays PENDING
   * (enhanced), without findings; from then on it reads `status`. Absent: `status` from the start,
   * as for a scan that finished before the scenario begins.
   */
  durationMs?: number;
  /** The queued part of `durationMs` (default 0). */
  pendingMs?: number;
}

/**
 * A registry's scanning configuration (PutRegistryScanningConfiguration, and Inspector's ECR re-scan
 * duration for enhanced scanning). When a registry has one, images pushed without an explicit `scan`
 * are scanned as ECR would scan them, over simulated time; without one, only explicit scans exist.
 */
export interface SimScanning {
  /** legacy-basic (Clair), native-basic (AWS-native basic) or enhanced (Inspector). */
  kind: ScanKind;
  /**
   * Basic scanning: scan on push (default true) or MANUAL (only StartImageScan scans). Enhanced
   * scanning here is always scan on push plus continuous scanning.
   */
  scanOnPush?: boolean;
  /** Repository filters (WILDCARD, `*` for any run of characters); default: every repository. */
  repositoryFilters?: string[];
  /** How long a scan runs (default one minute). */
  scanDurationMs?: number;
  /** How long a scan waits in the queue before it runs, part of scanDurationMs (default 0). */
  scanPendingMs?: number;
  /**
   * Inspector's ECR re-scan duration: an image stays ACTIVE while pushed within `pushDays` or pulled
   * (lastRecordedPullTime) within `pullDays`, then reads SCAN_ELIGIBILITY_EXPIRED. Default 14 and 14,
   * Inspector's default for new accounts.
   */
  rescanDuration?: { pushDays?: number | 'LIFETIME'; pullDays?: number };
}

/** One platform image of an index, as a scenario declares it. */
export interface SimPlatformImage {
  /** `os/architecture[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`. */
  platform: string;
  /** An explicit scan of this platform image. */
  scan?: SimScan;
  /** What a scanner finds here when the registry's scanning (or StartImageScan) scans it. */
  vulnerabilities?: SeverityCounts;
  /** A platform image no scanner can read: its scans end in this status. */
  unscannable?: 'UNSUPPORTED_IMAGE' | 'FAILED';
  /** imageSizeInBytes of this platform image. */
  sizeBytes?: number;
  /** Default: the index's (a node that pulls an index pulls its platform image too). */
  lastRecordedPullTime?: Date;
}

/**
 * An image index and what `docker buildx build --push` pushes with it: each platform image, and with
 * `attestations` (BuildKit's default provenance, moby/buildkit docs/attestations/attestation-storage.md)
 * one attestation manifest per platform image, all stored as untagged images before the index.
 */
export interface SimIndex {
  /** `oci` (default): an OCI image index; `docker`: a Docker manifest list. */
  format?: 'oci' | 'docker';
  platforms: SimPlatformImage[];
  /** One provenance attestation manifest per platform image (platform unknown/unknown). Default false. */
  attestations?: boolean;
}

export interface SimImage {
  /**
   * Raw manifest text; the digest is `sha256:` + its SHA-256. Generated (unique per image) when absent.
   * A raw index manifest must only reference images already in the repository.
   */
  manifest?: string;
  /** imageManifestMediaType; read from the manifest's own `mediaType`, else Docker schema 2. */
  mediaType?: string;
  /** artifactMediaType; the config media type that goes with the manifest type when absent. */
  artifactMediaType?: string;
  tags?: string[];
  pushedAt: Date;
  lastRecordedPullTime?: Date;
  /** imageSizeInBytes; derived from the manifest when absent (for an index: its largest platform image). */
  sizeBytes?: number;
  /** Absent means ACTIVE. */
  imageStatus?: ImageStatus;
  lastArchivedAt?: Date;
  lastActivatedAt?: Date;
  /** An explicit scan. ECR never scans an index: put scans on `index.platforms` instead. */
  scan?: SimScan;
  /** What a scanner finds in this image when the registry's scanning (or StartImageScan) scans it. */
  vulnerabilities?: SeverityCounts;
  /** An image no scanner can read (a `scratch` image, say): its scans end in this status. */
  unscannable?: 'UNSUPPORTED_IMAGE' | 'FAILED';
  /** Push an image index with its platform images (and attestations) instead of a single image. */
  index?: SimIndex;
}

/** ECR's four tag mutability settings. */
export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';

/** ImageTagMutabilityExclusionFilter: a WILDCARD pattern of `[0-9a-zA-Z._*-]`, 1–128 characters. */
export interface TagMutabilityExclusionFilter {
  filterType: 'WILDCARD';
  filter: string;
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
  /** Default MUTABLE. */
  imageTagMutability?: TagMutability;
  /** Required (1–5) with the two _WITH_EXCLUSION settings, refused with the others. */
  imageTagMutabilityExclusionFilters?: TagMutabilityExclusionFilter[];
  images: SimImage[];
  lifecyclePolicy?: SimLifecyclePolicy;
}

/** ECR's UpstreamRegistry names. */
export type UpstreamRegistry =
  | 'ecr'
  | 'ecr-public'
  | 'quay'
  | 'k8s'
  | 'docker-hub'
  | 'github-container-registry'
  | 'azure-container-registry'
  | 'gitlab-container-registry'
  | 'chainguard';

/** A pull through cache rule, and what the upstream registry it names holds. */
export interface SimPullThroughCacheRule {
  /** The cache namespace (`docker-hub` covers `docker-hub/…`), or `ROOT` for every other repository. */
  ecrRepositoryPrefix: string;
  /** e.g. `registry-1.docker.io`, `public.ecr.aws`, `quay.io`, `registry.k8s.io`, `ghcr.io`. */
  upstreamRegistryUrl: string;
  /** Derived from upstreamRegistryUrl when absent. */
  upstreamRegistry?: UpstreamRegistry;
  /** Upstream namespace the cache namespace maps to; ROOT (default) keeps the rest of the name. */
  upstreamRepositoryPrefix?: string;
  credentialArn?: string;
  customRoleArn?: string;
  createdAt?: Date;
  updatedAt?: Date;
  /** The upstream registry's repositories (upstream names, e.g. `library/nginx`) and their images. */
  upstream?: Record<string, SimImage[]>;
}

export interface SimRegistry {
  /** 12-digit account ID. */
  accountId: string;
  region: string;
  /** Every call on this registry answers AccessDeniedException. */
  accessDenied?: boolean;
  /** Scanning as ECR runs it over time; absent: only the scans images declare. */
  scanning?: SimScanning;
  pullThroughCacheRules?: SimPullThroughCacheRule[];
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

/** What a stored manifest is: a single image, an index of them, or an attestation manifest in an index. */
export type ImageKind = 'image' | 'index' | 'attestation';

/** A snapshot of one stored image, for tests and tools to read back. */
export interface ImageView {
  registryId: string;
  region: string;
  repository: string;
  digest: string;
  tags: readonly string[];
  kind: ImageKind;
  /** For a platform image pushed with an index: its platform (`linux/amd64`). */
  platform: string | undefined;
  /** For an index: the digests it lists, in order (platform images and attestations). */
  children: readonly string[];
  mediaType: string;
  sizeBytes: number;
  pushedAt: Date;
  lastRecordedPullTime: Date | undefined;
  imageStatus: ImageStatus;
  lastArchivedAt: Date | undefined;
  lastActivatedAt: Date | undefined;
  /** The scan as it reads now on the simulator's clock (undefined for an index, never scanned). */
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
  'StartImageScan',
  'DescribePullThroughCacheRules',
] as const;
export type SimulatedOperation = (typeof SIMULATED_OPERATIONS)[number];
