import type { ImageAssessment } from '../assessor.ts';
import type { Severity } from '../config/types.ts';
import type { Violation } from '../policy/evaluate.ts';

/** One element of `check -o json` (SPEC section 7). Field names are a public contract. */
export interface ImageJson {
  image: string;
  ecr: { registryId: string; region: string; repository: string; tag: string | null } | null;
  digest: string | null;
  status: 'resolved' | 'unresolved' | 'skipped';
  reason: string | null;
  message: string | null;
  scan: { status: string; findings: Partial<Record<Severity, number>>; completedAt: string | null } | null;
  pushedAt: string | null;
  lastRecordedPullTime: string | null;
  imageStatus: string | null;
  sizeBytes: number | null;
  verdict: 'allow' | 'warn' | 'deny';
  exempt: boolean;
  violations: Violation[];
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString().replace('.000Z', 'Z') : null);

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
        }
      : null,
    digest: facts?.digest ?? ref?.digest ?? null,
    status: a.status,
    reason: a.reason,
    message,
    scan: facts?.scan
      ? {
          status: facts.scan.status,
          findings: { ...facts.scan.findings },
          completedAt: iso(facts.scan.completedAt),
        }
      : null,
    pushedAt: iso(facts?.pushedAt),
    lastRecordedPullTime: iso(facts?.lastRecordedPullTime),
    imageStatus: facts?.imageStatus ?? null,
    sizeBytes: facts?.sizeBytes ?? null,
    verdict: a.evaluation.verdict,
    exempt: a.evaluation.exempt,
    violations: a.evaluation.violations,
  };
}
