import { createHash } from 'node:crypto';
import { truncateUtf8 } from './text.ts';
import type { NamespaceTally, PodFinding, PodFindings } from './types.ts';
import { compareStrings } from '../util/compare.ts';

/**
 * The OpenReports Report of one namespace (openreports.io/v1alpha1, as the CRD in
 * charts/ecr-warden/files/crds/openreports.io_reports.yaml defines it), built from the findings
 * alone: a pure function, so what a namespace's Report says is tested without an apiserver.
 *
 * Size: etcd refuses requests over 1.5 MiB, and a Report is rewritten whole, so a namespace's Report
 * is held under `maxBytes` (default 768 KiB) and `maxResults` (default 1,000) results. Results go in
 * by importance (fail before warn, then by severity, then by pod, container and rule); those that do
 * not fit are left out, and the Report says so: `summary` still counts every result, and the
 * annotation `ecr-warden.io/results-omitted` gives how many are missing. `configuration.limits` states
 * the contract for readers: at most `maxResults` results, only fail and warn listed.
 */

export const REPORT_NAME = 'ecr-warden';
export const REPORT_SOURCE = 'ecr-warden';
export const REPORT_POLICY = 'ecr-warden';
export const REPORT_API_VERSION = 'openreports.io/v1alpha1';
export const OMITTED_ANNOTATION = 'ecr-warden.io/results-omitted';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export interface ReportLimits {
  /** Results listed at most. */
  maxResults: number;
  /** The Report's JSON at most this many bytes. */
  maxBytes: number;
  /** Each message at most this many bytes (UTF-8), cut with `…`. */
  maxMessageBytes: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  maxResults: 1000,
  maxBytes: 768 * 1024,
  maxMessageBytes: 1024,
};

export type ResultStatus = 'fail' | 'warn';
/** The CRD's severity enum. */
export type ReportSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ReportResult {
  policy: string;
  rule: string;
  result: ResultStatus;
  severity?: ReportSeverity;
  message: string;
  category: string;
  resources: Array<{ apiVersion: string; kind: string; name: string; namespace: string; uid: string }>;
  properties: Record<string, string>;
  /** When ecr-warden first saw the result (protobuf Timestamp, as the CRD has it). */
  timestamp: { seconds: number; nanos: number };
}

export interface ReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface ReportBody {
  apiVersion: string;
  kind: 'Report';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  source: string;
  configuration: { limits: { maxResults: number; statusFilter: ResultStatus[] } };
  summary: ReportSummary;
  results: ReportResult[];
}

/** ECR's severities (the finding's `severity`) as the CRD's enum; UNDEFINED has none. */
const SEVERITY: Readonly<Record<string, ReportSeverity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  INFORMATIONAL: 'info',
};
const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** What Policy Reporter groups results by. */
const CATEGORY: Readonly<Record<PodFinding['reason'], string>> = {
  ImagePolicyViolation: 'Image policy',
  ImageDrift: 'Image drift',
  ImageLifecycleRisk: 'Image lifecycle',
};

/** A result's identity across rebuilds: (pod uid, container, check). */
export function resultKey(uid: string, container: string, rule: string): string {
  return `${uid}\0${container}\0${rule}`;
}

export function severityOf(finding: Pick<PodFinding, 'severity'>): ReportSeverity | undefined {
  return finding.severity === null ? undefined : SEVERITY[finding.severity.toUpperCase()];
}

function statusOf(finding: Pick<PodFinding, 'action'>): ResultStatus {
  return finding.action === 'deny' ? 'fail' : 'warn';
}

function compareResults(a: ReportResult, b: ReportResult): number {
  if (a.result !== b.result) return a.result === 'fail' ? -1 : 1;
  const rank = (r: ReportResult) => (r.severity ? SEVERITY_RANK[r.severity]! : 5);
  return (
    rank(a) - rank(b) ||
    compareStrings(a.resources[0]!.name, b.resources[0]!.name) ||
    compareStrings(a.properties.container!, b.properties.container!) ||
    compareStrings(a.rule, b.rule)
  );
}

/**
 * Every result of a namespace's pods, one per (pod, container, check) — a deny outranks a warn of
 * the same key, should the source give both — in the order they are kept under the size bound.
 * `firstSeen` gives the time (epoch seconds) a result was first seen, and remembers new ones.
 */
export function namespaceResults(
  pods: Iterable<PodFindings>,
  firstSeen: (key: string) => number,
  maxMessageBytes: number,
): ReportResult[] {
  const byKey = new Map<string, ReportResult>();
  for (const pod of pods) {
    for (const finding of pod.findings) {
      const key = resultKey(pod.uid, finding.container, finding.check);
      const earlier = byKey.get(key);
      if (earlier && (earlier.result === 'fail' || statusOf(finding) === 'warn')) continue;
      const severity = severityOf(finding);
      byKey.set(key, {
        policy: REPORT_POLICY,
        rule: finding.check,
        result: statusOf(finding),
        ...(severity ? { severity } : {}),
        message: truncateUtf8(finding.message, maxMessageBytes),
        category: CATEGORY[finding.reason],
        resources: [
          { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, uid: pod.uid },
        ],
        properties: {
          container: finding.container,
          image: finding.image,
          ...(finding.digest ? { digest: finding.digest } : {}),
        },
        timestamp: { seconds: firstSeen(key), nanos: 0 },
      });
    }
  }
  return [...byKey.values()].sort(compareResults);
}

/**
 * The namespace's Report, or null when it has nothing to report (no failing or warning result): then
 * it is deleted. `results` come from `namespaceResults`.
 */
export function buildReport(
  namespace: string,
  results: readonly ReportResult[],
  tally: NamespaceTally | undefined,
  limits: ReportLimits = DEFAULT_REPORT_LIMITS,
): ReportBody | null {
  if (results.length === 0) return null;
  const summary: ReportSummary = {
    pass: tally?.pass ?? 0,
    fail: results.filter((r) => r.result === 'fail').length,
    warn: results.filter((r) => r.result === 'warn').length,
    error: tally?.error ?? 0,
    skip: tally?.skip ?? 0,
  };
  const report: ReportBody = {
    apiVersion: REPORT_API_VERSION,
    kind: 'Report',
    metadata: { name: REPORT_NAME, namespace, labels: { [MANAGED_BY_LABEL]: 'ecr-warden' } },
    source: REPORT_SOURCE,
    configuration: { limits: { maxResults: limits.maxResults, statusFilter: ['fail', 'warn'] } },
    summary,
    results: [],
  };
  // The envelope with room for the omission annotation and a resourceVersion, then each result with
  // its comma, until the next one would not fit.
  const reserve = 128;
  let bytes = Buffer.byteLength(JSON.stringify(report), 'utf8') + reserve;
  for (const result of results) {
    if (report.results.length >= limits.maxResults) break;
    const size = Buffer.byteLength(JSON.stringify(result), 'utf8') + 1;
    if (bytes + size > limits.maxBytes) break;
    bytes += size;
    report.results.push(result);
  }
  const omitted = results.length - report.results.length;
  if (omitted > 0) report.metadata.annotations = { [OMITTED_ANNOTATION]: String(omitted) };
  return report;
}

/**
 * A digest of what a Report says (labels, annotations, source, configuration, summary, results),
 * with object keys sorted: the apiserver hands custom resources back with their keys in its own
 * order, and a Report read back must compare equal to the one written.
 */
export function reportDigest(report: Record<string, unknown>): string {
  const metadata = (report.metadata ?? {}) as Record<string, unknown>;
  const content = {
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    source: report.source ?? null,
    configuration: report.configuration ?? null,
    summary: report.summary ?? null,
    results: report.results ?? [],
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareStrings(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
