import {
  type DescribeImageScanFindingsResponse,
  DescribeImageScanFindingsCommand,
  type ECRClient,
  type ImageDetail,
} from '@aws-sdk/client-ecr';
import { SEVERITIES, type Severity } from '../config/types.ts';
import type { CallOutcome } from './calls.ts';
import { type FailureReason, FINISHED_SCAN_STATUSES, type PlatformFacts, type ScanFacts } from './types.ts';

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

/** DescribeImageScanFindings pages hold at most 1000 findings. */
const FINDINGS_PAGE_SIZE = 1000;

export type ScanAnswer =
  { ok: true; scan: ScanFacts } | { ok: false; reason: FailureReason; message: string; dns: boolean };

/** One DescribeImageScanFindings call for a digest of a repository, sent the resolver's way. */
export type FindingsSend = (
  send: (client: ECRClient) => Promise<DescribeImageScanFindingsResponse>,
) => Promise<CallOutcome<DescribeImageScanFindingsResponse>>;

/**
 * Scan facts for one digest from DescribeImageScanFindings: AWS-native basic scanning and enhanced
 * (Inspector) scanning leave DescribeImages' scan fields empty, and a platform image of an index is
 * only ever scanned on its own. One image per call; further pages are read only when ECR gives no
 * severity counts and the findings themselves must be counted. ScanNotFoundException is an answer: no
 * scan exists (NOT_SCANNED).
 */
export async function fetchScan(
  target: { registryId: string; repository: string; digest: string },
  send: FindingsSend,
): Promise<ScanAnswer> {
  const pages: DescribeImageScanFindingsResponse[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const outcome = await send((client) =>
      client.send(
        new DescribeImageScanFindingsCommand({
          registryId: target.registryId,
          repositoryName: target.repository,
          imageId: { imageDigest: target.digest },
          maxResults: FINDINGS_PAGE_SIZE,
          ...(token ? { nextToken: token } : {}),
        }),
      ),
    );
    if (!outcome.ok) {
      if (outcome.name === 'ScanNotFoundException') {
        return {
          ok: true,
          scan: { status: 'NOT_SCANNED', description: null, findings: {}, completedAt: null },
        };
      }
      return { ok: false, reason: outcome.reason, message: outcome.message, dns: outcome.dns };
    }
    pages.push(outcome.value);
    if (outcome.value.imageScanFindings?.findingSeverityCounts) break;
    nextToken = outcome.value.nextToken;
  } while (nextToken);
  return { ok: true, scan: scanFactsFromFindingsPages(pages) };
}

/**
 * An index's scan, from its platform images' (SPEC section 4, "Image indexes"): the findings are, per
 * severity, the maximum over the platforms (the worst platform decides, whichever a node pulls); the
 * status is COMPLETE only when every platform's scan is finished (COMPLETE or ACTIVE), else the first
 * other status in platform order. The completion time is the oldest, so scanAge judges the stalest.
 * A platform whose scan could not be read makes the whole index's scan unknown, with that reason.
 */
export function combinePlatformScans(platforms: readonly PlatformFacts[]): {
  scan: ScanFacts | null;
  scanError: FailureReason | null;
} {
  const failed = platforms.find((p) => p.scan === null);
  if (failed) return { scan: null, scanError: failed.scanError ?? 'error' };
  if (platforms.length === 0) {
    return {
      scan: {
        status: 'NOT_SCANNED',
        description: 'the image index lists no platform image',
        findings: {},
        completedAt: null,
      },
      scanError: null,
    };
  }
  const scans = platforms.map((p) => p.scan!);
  const unfinished = platforms.find((p) => !FINISHED_SCAN_STATUSES.has(p.scan!.status));
  const findings: Partial<Record<Severity, number>> = {};
  for (const severity of SEVERITIES) {
    const worst = Math.max(0, ...scans.map((s) => s.findings[severity] ?? 0));
    if (worst > 0) findings[severity] = worst;
  }
  const completed = scans.map((s) => s.completedAt).filter((d): d is Date => d !== null);
  return {
    scan: {
      status: unfinished ? unfinished.scan!.status : 'COMPLETE',
      description: unfinished
        ? `platform ${unfinished.platform}: ${unfinished.scan!.description ?? unfinished.scan!.status}`
        : null,
      findings,
      completedAt: completed.length ? new Date(Math.min(...completed.map((d) => d.getTime()))) : null,
    },
    scanError: null,
  };
}
