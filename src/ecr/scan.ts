import type { DescribeImageScanFindingsResponse, ImageDetail } from '@aws-sdk/client-ecr';
import { SEVERITIES, type Severity } from '../config/types.ts';
import type { ScanFacts } from './types.ts';

const KNOWN = new Set<string>(SEVERITIES);

/** Severities outside our six (Inspector's UNTRIAGED, say) count as UNDEFINED. */
export function normalizeSeverity(severity: string | undefined): Severity {
  const upper = (severity ?? '').toUpperCase();
  return KNOWN.has(upper) ? (upper as Severity) : 'UNDEFINED';
}

function addCounts(
  into: Partial<Record<Severity, number>>,
  counts: Record<string, number> | undefined,
): void {
  for (const [severity, count] of Object.entries(counts ?? {})) {
    if (typeof count !== 'number' || !Number.isFinite(count) || count <= 0) continue;
    const key = normalizeSeverity(severity);
    into[key] = (into[key] ?? 0) + count;
  }
}

/**
 * Scan facts straight from DescribeImages, which fills them only under the legacy basic scanner.
 * Under AWS-native basic scanning and enhanced scanning both fields are absent: null then, and the
 * caller asks DescribeImageScanFindings.
 */
export function scanFactsFromDetail(detail: ImageDetail): ScanFacts | null {
  const status = detail.imageScanStatus?.status;
  const summary = detail.imageScanFindingsSummary;
  if (!status && !summary) return null;
  const findings: Partial<Record<Severity, number>> = {};
  addCounts(findings, summary?.findingSeverityCounts);
  return {
    status: status ?? 'COMPLETE',
    description: detail.imageScanStatus?.description ?? null,
    findings,
    completedAt: summary?.imageScanCompletedAt ?? null,
  };
}

/**
 * Scan facts from DescribeImageScanFindings pages: the severity counts when ECR gives them, else the
 * findings counted one by one (enhanced findings carry a severity each; basic ones too).
 */
export function scanFactsFromFindingsPages(pages: readonly DescribeImageScanFindingsResponse[]): ScanFacts {
  const first = pages[0];
  const findings: Partial<Record<Severity, number>> = {};
  const counts = first?.imageScanFindings?.findingSeverityCounts;
  if (counts) {
    addCounts(findings, counts);
  } else {
    for (const page of pages) {
      for (const f of page.imageScanFindings?.enhancedFindings ?? []) {
        const key = normalizeSeverity(f.severity);
        findings[key] = (findings[key] ?? 0) + 1;
      }
      for (const f of page.imageScanFindings?.findings ?? []) {
        const key = normalizeSeverity(f.severity);
        findings[key] = (findings[key] ?? 0) + 1;
      }
    }
  }
  return {
    status: first?.imageScanStatus?.status ?? 'COMPLETE',
    description: first?.imageScanStatus?.description ?? null,
    findings,
    completedAt: first?.imageScanFindings?.imageScanCompletedAt ?? null,
  };
}
