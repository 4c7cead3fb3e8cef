import type { KubeObject } from './types.ts';

/**
 * The pieces of server-side printing (meta.k8s.io/v1 Table) that every printer shares: column
 * definitions, the API server's human durations, and the printer a resource can carry.
 */

export interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** How a resource is printed: its columns and the cells of one object (wide: every column). */
export interface Printer {
  readonly columns: readonly Column[];
  cells(obj: KubeObject, now: number): unknown[];
}

export function column(name: string, description: string, priority = 0, format = ''): Column {
  return { name, type: 'string', format, description, priority };
}

export const NAME_COLUMN = column('Name', 'Name must be unique within a namespace.', 0, 'name');
export const AGE_COLUMN = column(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

/** duration.HumanDuration: how kubectl's AGE column reads. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** translateTimestampSince: `<unknown>` for a zero (absent) time, else the human duration since it. */
export function age(timestamp: string | null | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(now - Date.parse(timestamp));
}
