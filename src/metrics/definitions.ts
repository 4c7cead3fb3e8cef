/**
 * Every metric ecr-warden exports, in one place. Names, types and labels are a public API (SPEC
 * section 8): dashboards and alerts depend on them, so change them only with a deprecation.
 */
export const PREFIX = 'ecr_warden_';

export const IMAGE_LABELS = ['registry_id', 'region', 'repository', 'tag', 'digest'] as const;
/** Facts of a digest are the same whichever tag names it: those series leave the tag out. */
export const DIGEST_LABELS = ['registry_id', 'region', 'repository', 'digest'] as const;

export interface MetricDefinition {
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'histogram';
  labels: readonly string[];
}

const def = (
  name: string,
  type: MetricDefinition['type'],
  labels: readonly string[],
  help: string,
): MetricDefinition => ({
  name: PREFIX + name,
  type,
  labels,
  help,
});

/** Per-image series, rendered from the inventory by ./images.ts (one series per distinct image, never per pod). */
export const IMAGE_METRICS = {
  info: def('image_info', 'gauge', IMAGE_LABELS, 'An ECR image in use by tracked pods, resolved (always 1).'),
  containers: def(
    'image_containers',
    'gauge',
    IMAGE_LABELS,
    'Containers of tracked pods using the image (init, regular, ephemeral).',
  ),
  driftedContainers: def(
    'image_drifted_containers',
    'gauge',
    IMAGE_LABELS,
    'Containers running another digest than the one the tag points to now.',
  ),
  scanStatus: def(
    'image_scan_status',
    'gauge',
    [...DIGEST_LABELS, 'status'],
    'ECR scan status of the image (1 for its status).',
  ),
  scanFindings: def(
    'image_scan_findings',
    'gauge',
    [...DIGEST_LABELS, 'severity'],
    'Scan findings of the image by severity.',
  ),
  pushed: def(
    'image_pushed_timestamp_seconds',
    'gauge',
    DIGEST_LABELS,
    'When the image was pushed (imagePushedAt), Unix seconds.',
  ),
  lastPull: def(
    'image_last_recorded_pull_timestamp_seconds',
    'gauge',
    DIGEST_LABELS,
    "ECR's lastRecordedPullTime for the image, Unix seconds.",
  ),
  size: def('image_size_bytes', 'gauge', DIGEST_LABELS, 'Image size in ECR (imageSizeInBytes).'),
  platforms: def(
    'image_platforms',
    'gauge',
    DIGEST_LABELS,
    'Platform images of an image index, attestations left out (absent for a plain image).',
  ),
  stale: def(
    'image_stale',
    'gauge',
    DIGEST_LABELS,
    'Whether lastRecordedPullTime is older than inventory.staleAfter (0 or 1).',
  ),
  status: def(
    'image_status',
    'gauge',
    [...DIGEST_LABELS, 'status'],
    'ECR imageStatus: ACTIVE, ARCHIVED or ACTIVATING (1 for its status).',
  ),
  lifecycleAction: def(
    'image_lifecycle_action_timestamp_seconds',
    'gauge',
    [...DIGEST_LABELS, 'action', 'rule_priority'],
    "When the repository's lifecycle policy is expected to act on the image in use (action expire or archive), Unix seconds.",
  ),
  unresolved: def(
    'image_unresolved',
    'gauge',
    ['registry_id', 'region', 'repository', 'reason'],
    'Images in use that could not be resolved, by reason (empty labels where the reference did not parse).',
  ),
  policyViolations: def(
    'policy_violations',
    'gauge',
    ['namespace', 'check', 'action'],
    'Running containers failing a policy check.',
  ),
} as const;

/** Metrics kept in the prom-client registry (./registry.ts). */
export const METRICS = {
  ecrRequests: def(
    'ecr_requests_total',
    'counter',
    ['operation', 'region', 'outcome'],
    'ECR API calls by outcome.',
  ),
  ecrRequestDuration: def(
    'ecr_request_duration_seconds',
    'histogram',
    ['operation', 'region'],
    'ECR API call duration, retries included.',
  ),
  cacheRequests: def(
    'cache_requests_total',
    'counter',
    ['result'],
    'Image lookups by how they were served: hit, miss, coalesced, or stale (a known answer past its TTL).',
  ),
  admissionReviews: def(
    'admission_reviews_total',
    'counter',
    ['webhook', 'kind', 'decision'],
    'AdmissionReviews answered, by webhook, kind and decision (allowed, warned, denied, error, rejected).',
  ),
  admissionDuration: def(
    'admission_review_duration_seconds',
    'histogram',
    ['webhook'],
    'Time to answer an AdmissionReview (reviews rejected with 429 are not timed).',
  ),
  podsTracked: def('pods_tracked', 'gauge', [], 'Pods in the inventory.'),
  imagesTracked: def('images_tracked', 'gauge', [], 'Distinct image references in use by tracked pods.'),
  watchRestarts: def(
    'watch_restarts_total',
    'counter',
    ['reason'],
    'Pod watch restarts by reason (closed, error, gone, idle, list_error, apply_error).',
  ),
  imageSeriesDropped: def(
    'image_series_dropped',
    'gauge',
    [],
    'Images in use left out of per-image series by ecr.maxImageSeries.',
  ),
  leader: def(
    'leader',
    'gauge',
    [],
    'Whether this replica runs the inventory (always 1 with leader election off).',
  ),
  keepalivePulls: def(
    'lifecycle_keepalive_pulls_total',
    'counter',
    ['outcome'],
    'Keep-alive manifest reads of images in use that a sinceImagePulled rule would archive, by outcome.',
  ),
  buildInfo: def('build_info', 'gauge', ['version'], 'Build information (always 1).'),
} as const;
