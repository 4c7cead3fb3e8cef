import { type ScanSubject, scanCompletedAt } from '../scan-state.ts';
import type { ScanStatus, SimScan } from '../types.ts';
import { epochSeconds } from './context.ts';

/** Status descriptions as ECR words them, used when a scenario does not give its own. */
const DESCRIPTIONS: Record<ScanStatus, string> = {
  COMPLETE: 'The scan was completed successfully.',
  IN_PROGRESS: 'The scan is in progress.',
  FAILED: 'The scan failed.',
  UNSUPPORTED_IMAGE: 'UnsupportedImageError: The operating system and/or package manager are not supported.',
  ACTIVE: 'Continuous scan is selected for image.',
  PENDING: 'The scan is pending.',
  SCAN_ELIGIBILITY_EXPIRED: 'The image is no longer eligible for continuous scanning.',
  FINDINGS_UNAVAILABLE: 'Findings are unavailable for this image.',
  LIMIT_EXCEEDED: 'The scan limit for this image has been exceeded.',
  IMAGE_ARCHIVED: 'The image is archived and cannot be scanned.',
};

export { hasFindings } from '../scan-state.ts';

export function scanStatusOf(scan: SimScan): { status: string; description: string } {
  return { status: scan.status, description: scan.description ?? DESCRIPTIONS[scan.status] ?? '' };
}

/** findingSeverityCounts: only the severities that have findings, as ECR reports them. */
export function severityCounts(scan: SimScan): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [severity, count] of Object.entries(scan.findings ?? {})) {
    if (count !== undefined && count > 0) counts[severity] = count;
  }
  return counts;
}

export function scanTimes(
  image: ScanSubject,
  scan: SimScan,
): { completedAt: number; sourceUpdatedAt: number } {
  const completed = scanCompletedAt(image, scan);
  return {
    completedAt: epochSeconds(completed),
    sourceUpdatedAt: epochSeconds(scan.vulnerabilitySourceUpdatedAt ?? completed),
  };
}
