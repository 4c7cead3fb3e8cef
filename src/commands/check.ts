import type { Core } from '../app.ts';
import type { ImageAssessment } from '../policy/assessor.ts';
import type { ForecastAnswer } from '../lifecycle/forecast.ts';
import { assessmentToJson } from '../output/json.ts';
import { formatAge } from '../policy/checks.ts';
import { findingsSummary, renderTable, shortDigest } from '../output/table.ts';

export interface CheckOptions {
  images: string[];
  output: 'table' | 'json';
}

/**
 * `ecr-warden check IMAGE...`: the policy on image references, without a cluster (a CI gate).
 * Exit 1 when any image is denied after the policy mode is applied, else 0.
 */
export async function runCheck(
  core: Core,
  options: CheckOptions,
  out: NodeJS.WritableStream,
): Promise<number> {
  const assessments = await Promise.all(
    options.images.map((image) => core.assessor.assess(image, { alwaysResolve: true, allFacts: true })),
  );
  if (options.output === 'json') {
    out.write(`${JSON.stringify(assessments.map(assessmentToJson), null, 2)}\n`);
  } else {
    out.write(`${renderAssessments(assessments)}\n`);
  }
  return assessments.some((a) => a.evaluation.verdict === 'deny') ? 1 : 0;
}

/** One row per image, its violations indented beneath it, so a failing image stands out at a glance. */
export interface LeadingColumns {
  header: string[];
  cells(index: number): string[];
}

export function renderAssessments(
  assessments: readonly ImageAssessment[],
  leading?: LeadingColumns,
  trailing?: LeadingColumns,
  noun = 'image',
  now = Date.now(),
): string {
  const header = [
    ...(leading?.header ?? []),
    'IMAGE',
    'DIGEST',
    'STATUS',
    'SCAN',
    'FINDINGS',
    'PUSHED',
    'LIFECYCLE',
    ...(trailing?.header ?? []),
    'VERDICT',
  ];
  const rows = assessments.map((a, i) => {
    const j = assessmentToJson(a);
    return [
      ...(leading?.cells(i) ?? []),
      a.image,
      shortDigest(j.digest),
      statusCell(a, j.status, j.reason),
      j.scan?.status ?? '-',
      findingsSummary(j.scan?.findings),
      j.pushedAt ? j.pushedAt.slice(0, 10) : '-',
      lifecycleCell(a.lifecycle, now),
      ...(trailing?.cells(i) ?? []),
      j.verdict,
    ];
  });
  const table = renderTable(header, rows).split('\n');
  const lines = [table[0] ?? ''];
  assessments.forEach((a, i) => {
    lines.push(table[i + 1] ?? '');
    for (const v of a.evaluation.violations)
      lines.push(`    ${v.action === 'deny' ? '✗' : '!'} ${v.check} (${v.action}): ${v.message}`);
    if (
      a.status === 'unresolved' &&
      a.resolution?.status === 'unresolved' &&
      a.evaluation.violations.length === 0
    ) {
      lines.push(`    · ${a.resolution.message}`);
    }
  });
  lines.push('', summaryLine(assessments, noun));
  return lines.join('\n');
}

/** `archive in 9d (rule 2)`, `expire now (rule 1)`, `unknown`, or `-` when no rule will act. */
function lifecycleCell(answer: ForecastAnswer | undefined, now: number): string {
  if (!answer) return '-';
  if ('unknown' in answer) return 'unknown';
  const left = answer.at.getTime() - now;
  return `${answer.action} ${left <= 0 ? 'now' : `in ${formatAge(left)}`} (rule ${answer.rulePriority})`;
}

/**
 * `resolved`, `unresolved (not_found)`, and for an image index how many platform images it has:
 * `resolved (index, 2 platforms)`, or `resolved (index, not read)` when its platforms are unknown.
 */
function statusCell(a: ImageAssessment, status: string, reason: string | null): string {
  if (status === 'unresolved') return `unresolved (${reason})`;
  const index = a.resolution?.status === 'resolved' ? a.resolution.facts.index : null;
  if (!index) return status;
  const platforms = index.platforms;
  if (!platforms) return `${status} (index, not read)`;
  return `${status} (index, ${platforms.length} platform${platforms.length === 1 ? '' : 's'})`;
}

/** `3 images: 1 allow, 1 warn, 1 deny` plus, in audit or warn mode, what enforce would deny. */
export function summaryLine(assessments: readonly ImageAssessment[], noun = 'image'): string {
  const count = (v: string) => assessments.filter((a) => a.evaluation.verdict === v).length;
  const wouldDeny = assessments.filter(
    (a) => a.evaluation.enforcedVerdict === 'deny' && a.evaluation.verdict !== 'deny',
  ).length;
  const n = assessments.length;
  let line = `${n} ${noun}${n === 1 ? '' : 's'}: ${count('allow')} allow, ${count('warn')} warn, ${count('deny')} deny`;
  if (wouldDeny) line += ` (${wouldDeny} would be denied under policy.mode enforce)`;
  return line;
}
