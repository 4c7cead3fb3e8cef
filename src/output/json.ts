import type { ImageAssessment } from '../policy/assessor.ts';
import type { Severity } from '../config/types.ts';
import { isFinishedScan, type ScanFacts } from '../ecr/types.ts';
import type { ForecastAnswer } from '../lifecycle/forecast.ts';
import type { Violation } from '../policy/evaluate.ts';

/**
 * A scan as JSON. `findings` is null unless the scan finished (COMPLETE or ACTIVE): an unfinished
 * scan's empty list means "not known yet", and `{}` would read as "no findings".
 */
export interface ScanJson {
  status: string;
  findings: Partial<Record<Severity, number>> | null;
  completedAt: string | null;
}

export type LifecycleJson =
  | { action: 'expire' | 'archive'; rulePriority: number; at: string; rule: string }
  | { unknown: string }
  | null;

export function lifecycleJson(answer: ForecastAnswer | undefined): LifecycleJson {
  if (!answer) return null;
  if ('unknown' in answer) return { unknown: answer.unknown };
  return { action: answer.action, rulePriority: answer.rulePriority, at: iso(answer.at)!, rule: answer.rule };
}

/** One platform image of an index (SPEC section 7, `platforms`). */
export interface PlatformJson {
  platform: string;
  digest: string;
  scan: ScanJson | null;
}

/** One element of `check -o json` (SPEC section 7). Field names are a public contract. */
export interface ImageJson {
  image: string;
  ecr: {
    registryId: string;
    region: string;
    repository: string;
    tag: string | null;
    /** Whether ECR keeps the tag immutable; null when unknown (or a digest-only reference). */
    tagImmutable: boolean | null;
  } | null;
  digest: string | null;
  status: 'resolved' | 'unresolved' | 'skipped';
  reason: string | null;
  message: string | null;
  scan: ScanJson | null;
  /** For an image index: its platform images (attestations left out); null for a plain image or an unread index. */
  platforms: PlatformJson[] | null;
  /**
   * The lifecycle forecast for the image (SPEC section 10): the first action its repository's
   * lifecycle policy will take, null when no rule will act on it (or the forecast is off), or
   * `{ unknown }` saying why it could not be made (never a silent "safe").
   */
  lifecycle: LifecycleJson;
  pushedAt: string | null;
  lastRecordedPullTime: string | null;
  imageStatus: string | null;
  sizeBytes: number | null;
  verdict: 'allow' | 'warn' | 'deny';
  exempt: boolean;
  violations: Pick<Violation, 'check' | 'action' | 'message'>[];
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString().replace('.000Z', 'Z') : null);

function scanJson(scan: ScanFacts | null): ScanJson | null {
  if (!scan) return null;
  return {
    status: scan.status,
    findings: isFinishedScan(scan) ? { ...scan.findings } : null,
    completedAt: iso(scan.completedAt),
  };
}

export function assessmentToJson(a: ImageAssessment): ImageJson {
  const ref = a.parsed.ok ? a.parsed.ref : null;
  const facts = a.resolution?.status === 'resolved' ? a.resolution.facts : null;
  let message: string | null = null;
  if (!a.parsed.ok) message = a.parsed.message;
  else if (a.resolution?.status === 'unresolved') message = a.resolution.message;
  return {
    image: a.image,
    ecr: ref?.ecr
      ? {
          registryId: ref.ecr.registryId,
          region: ref.ecr.region,
          repository: ref.ecr.repository,
          tag: ref.tag,
          tagImmutable: facts?.tagImmutable ?? null,
        }
      : null,
    digest: facts?.digest ?? ref?.digest ?? null,
    status: a.status,
    reason: a.reason,
    message,
    scan: scanJson(facts?.scan ?? null),
    platforms:
      facts?.index?.platforms?.map((p) => ({
        platform: p.platform,
        digest: p.digest,
        scan: scanJson(p.scan),
      })) ?? null,
    lifecycle: lifecycleJson(a.lifecycle),
    pushedAt: iso(facts?.pushedAt),
    lastRecordedPullTime: iso(facts?.lastRecordedPullTime),
    imageStatus: facts?.imageStatus ?? null,
    sizeBytes: facts?.sizeBytes ?? null,
    verdict: a.evaluation.verdict,
    exempt: a.evaluation.exempt,
    violations: a.evaluation.violations.map(({ check, action, message }) => ({ check, action, message })),
  };
}
