import type { ImageKind, ScanStatus, SeverityCounts, SimScan, SimScanning } from './types.ts';
import { wildcardMatches } from './wildcard.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Inspector's default ECR re-scan duration for new accounts is 14 days (Inspector user guide). */
const DEFAULT_RESCAN_DAYS = 14;
/** How long the simulator lets a scan run when the registry does not say. */
export const DEFAULT_SCAN_DURATION_MS = MINUTE_MS;

/** Statuses under which a scan has findings to report. */
const WITH_FINDINGS: ReadonlySet<ScanStatus> = new Set(['COMPLETE', 'ACTIVE']);

export function hasFindings(scan: SimScan): boolean {
  return WITH_FINDINGS.has(scan.status);
}

/** What a scan's status depends on besides the scan itself. */
export interface ScanSubject {
  kind: ImageKind;
  pushedAt: Date;
  lastRecordedPullTime: Date | undefined;
  scan: SimScan | undefined;
}

/** When a scan started: as told, else at the push (scan on push). */
export function scanStartedAt(subject: ScanSubject, scan: SimScan): Date {
  return scan.startedAt ?? subject.pushedAt;
}

/** When a scan finished, if the scenario does not say: at the end of its run, else a minute after the push. */
export function scanCompletedAt(subject: ScanSubject, scan: SimScan): Date {
  if (scan.completedAt) return scan.completedAt;
  if (scan.durationMs !== undefined) {
    return new Date(scanStartedAt(subject, scan).getTime() + scan.durationMs);
  }
  return new Date(subject.pushedAt.getTime() + MINUTE_MS);
}

/**
 * The scan as it reads at `now`. A timed scan (`durationMs`) is PENDING, then IN_PROGRESS (basic) or
 * still PENDING (enhanced: Inspector queues and scans the image before ECR shows ACTIVE) until it ends
 * in its status. An enhanced scan that reached ACTIVE in a registry with enhanced scanning configured
 * expires as Inspector's re-scan duration says: once neither the push nor the last recorded pull is
 * within its window, "Amazon Inspector stops monitoring it … and schedules all associated image findings
 * to be closed" (Inspector user guide, "Configuring the Amazon ECR re-scan duration"): the status reads
 * SCAN_ELIGIBILITY_EXPIRED and no findings are served.
 */
export function scanAt(
  subject: ScanSubject,
  scanning: SimScanning | undefined,
  now: Date,
): SimScan | undefined {
  const scan = subject.scan;
  if (!scan) return undefined;
  if (scan.durationMs !== undefined) {
    const started = scanStartedAt(subject, scan).getTime();
    const elapsed = now.getTime() - started;
    if (elapsed < scan.durationMs) {
      const queued = elapsed < (scan.pendingMs ?? 0);
      const status: ScanStatus = queued || scan.kind === 'enhanced' ? 'PENDING' : 'IN_PROGRESS';
      return { ...scan, status, description: undefined };
    }
  }
  if (scan.kind === 'enhanced' && scan.status === 'ACTIVE' && scanning?.kind === 'enhanced') {
    if (eligibilityExpired(subject, scanning, now)) {
      return { ...scan, status: 'SCAN_ELIGIBILITY_EXPIRED', description: undefined };
    }
  }
  return scan;
}

function eligibilityExpired(subject: ScanSubject, scanning: SimScanning, now: Date): boolean {
  const pushDays = scanning.rescanDuration?.pushDays ?? DEFAULT_RESCAN_DAYS;
  if (pushDays === 'LIFETIME') return false;
  const pullDays = scanning.rescanDuration?.pullDays ?? DEFAULT_RESCAN_DAYS;
  const pushedUntil = subject.pushedAt.getTime() + pushDays * DAY_MS;
  const pulledUntil = subject.lastRecordedPullTime
    ? subject.lastRecordedPullTime.getTime() + pullDays * DAY_MS
    : Number.NEGATIVE_INFINITY;
  return now.getTime() > Math.max(pushedUntil, pulledUntil);
}

/** Whether the registry's scanning covers a repository (repository filters are WILDCARD patterns). */
export function scansRepository(scanning: SimScanning, repository: string): boolean {
  const filters = scanning.repositoryFilters;
  return !filters || filters.length === 0 || filters.some((f) => wildcardMatches(f, repository));
}

/** What the registry's scanning does to a manifest it has just stored. */
export interface PushedManifest {
  kind: ImageKind;
  pushedAt: Date;
  vulnerabilities: SeverityCounts | undefined;
  unscannable: 'UNSUPPORTED_IMAGE' | 'FAILED' | undefined;
}

/**
 * The scan a push starts under the registry's scanning configuration, or none.
 * - An index is never scanned (moby/buildkit#3499, aws/containers-roadmap#1683).
 * - Basic scanning on the Clair engine tried attestation manifests and failed them: "ECR does not like
 *   the attestation layers pushed when security scanning is enabled … It results in a Failed"
 *   (moby/buildkit#3499), with "LayerError: Failed to extract layer for image scan."
 *   (docker/build-push-action discussion #945). AWS-native basic and enhanced scanning are taken to
 *   leave them unscanned, as the platform images' scans are the ones users are pointed to.
 * - Basic scanning with scan on push off (MANUAL) scans nothing until StartImageScan.
 */
export function scanOnPush(
  scanning: SimScanning,
  repository: string,
  pushed: PushedManifest,
  startedAt: Date,
): SimScan | undefined {
  if (!scansRepository(scanning, repository) || pushed.kind === 'index') return undefined;
  if (scanning.kind !== 'enhanced' && scanning.scanOnPush === false) return undefined;
  const timing = {
    startedAt,
    durationMs: scanning.scanDurationMs ?? DEFAULT_SCAN_DURATION_MS,
    pendingMs: scanning.scanPendingMs ?? 0,
  };
  if (pushed.kind === 'attestation') {
    if (scanning.kind !== 'legacy-basic') return undefined;
    return {
      kind: 'legacy-basic',
      status: 'FAILED',
      description: 'LayerError: Failed to extract layer for image scan.',
      ...timing,
    };
  }
  return newScan(scanning.kind, pushed, timing);
}

/** A scan that ends as the image allows: its findings, or the status of an image no scanner can read. */
export function newScan(
  kind: SimScan['kind'],
  image: {
    vulnerabilities: SeverityCounts | undefined;
    unscannable: 'UNSUPPORTED_IMAGE' | 'FAILED' | undefined;
  },
  timing: { startedAt: Date; durationMs: number; pendingMs: number },
): SimScan {
  if (image.unscannable) return { kind, status: image.unscannable, ...timing };
  return {
    kind,
    status: kind === 'enhanced' ? 'ACTIVE' : 'COMPLETE',
    findings: { ...image.vulnerabilities },
    ...timing,
  };
}
