import { SEVERITIES } from '../config/types.ts';

/**
 * A plain text table: header, then rows, columns padded to their widest cell. No colours and no
 * box-drawing, so it stays readable in CI logs and when piped.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `sha256:0123456789ab…` → `sha256:0123456789ab`: enough to tell digests apart at a glance. */
export function shortDigest(digest: string | null): string {
  if (!digest) return '-';
  const [algo, hex] = digest.split(':');
  return hex ? `${algo}:${hex.slice(0, 12)}` : digest;
}

/** `{ CRITICAL: 3, HIGH: 1 }` → `C:3 H:1`, in severity order; `-` when none. */
export function findingsSummary(findings: Partial<Record<string, number>> | null | undefined): string {
  if (!findings) return '-';
  const parts = SEVERITIES.filter((s) => (findings[s] ?? 0) > 0).map((s) => `${s[0]}:${findings[s]}`);
  return parts.length ? parts.join(' ') : 'none';
}
