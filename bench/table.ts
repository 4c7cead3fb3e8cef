/**
 * The results table every benchmark prints: one row per figure, with what was measured, the target it
 * is held to and whether it met it. A benchmark is a script that prints this, not a timed test.
 */

export interface Row {
  figure: string;
  measured: string;
  target: string;
  /** Whether the target was met; undefined for a figure that is only reported. */
  ok?: boolean;
}

export interface Table {
  title: string;
  rows: Row[];
  /** Lines printed under the table: how a figure was measured, or why one could not be. */
  notes?: string[];
}

const HEADER = { figure: 'figure', measured: 'measured', target: 'target', ok: 'ok' } as const;
/** Columns sit this many spaces apart. */
const GAP = 3;

function verdict(ok: boolean | undefined): string {
  if (ok === undefined) return '-';
  return ok ? 'yes' : 'NO';
}

/** The table as text, columns padded to their widest cell. */
export function formatTable(table: Table): string {
  const cells = [
    [HEADER.figure, HEADER.measured, HEADER.target, HEADER.ok],
    ...table.rows.map((r) => [r.figure, r.measured, r.target, verdict(r.ok)]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i]!.length)));
  const lines = cells.map((c) =>
    c
      .map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]! + GAP) : cell))
      .join('')
      .trimEnd(),
  );
  const notes = (table.notes ?? []).map((n) => `  * ${n}`);
  return [table.title, ...lines, ...notes].join('\n');
}

export function printTable(table: Table): void {
  process.stdout.write(`${formatTable(table)}\n\n`);
}

// ---------------------------------------------------------------- number formatting

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatBytes(bytes: number): string {
  const MiB = 1024 * 1024;
  if (Math.abs(bytes) >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (Math.abs(bytes) >= 1024) return `${(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes.toFixed(0)} B`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
