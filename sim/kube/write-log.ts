/**
 * Every write the API server answered (create, update, patch, delete, deletecollection), with the
 * time it arrived and the status it got, so a benchmark can ask how many writes a controller made
 * in a window of time and how bursty they were: what apiserver_request_total and a rate over it
 * would show on a cluster, at single-request resolution. Bounded: past `limit` records the oldest
 * are forgotten (and counted in `dropped`).
 */

export const WRITE_VERBS: ReadonlySet<string> = new Set([
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
]);

export interface WriteRecord {
  /** When the request arrived, in epoch milliseconds of the simulator's clock. */
  readonly at: number;
  readonly verb: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** The resource with its subresource, as request counters label it: `events`, `pods/status`. */
  readonly resource: string;
  readonly namespace: string | undefined;
  /** The object's name: from the path, or for a create from the answer ('' when it failed). */
  readonly name: string;
  /** The HTTP status of the answer. */
  readonly code: number;
}

/** Which writes to count; every given field must match. */
export interface WriteMatch {
  verb?: string;
  group?: string;
  resource?: string;
  namespace?: string;
  name?: string;
  /** Only answers with a 2xx status (true) or only failed ones (false). */
  succeeded?: boolean;
  /** `at >= since` */
  since?: number;
  /** `at < until` */
  until?: number;
}

export interface WriteWindow {
  /** Start of the window, epoch milliseconds. */
  start: number;
  count: number;
}

export function writeMatches(match: WriteMatch, record: WriteRecord): boolean {
  if (match.verb !== undefined && match.verb !== record.verb) return false;
  if (match.group !== undefined && match.group !== record.group) return false;
  if (match.resource !== undefined && match.resource !== record.resource) return false;
  if (match.namespace !== undefined && match.namespace !== record.namespace) return false;
  if (match.name !== undefined && match.name !== record.name) return false;
  if (match.succeeded !== undefined && match.succeeded !== (record.code >= 200 && record.code < 300))
    return false;
  if (match.since !== undefined && record.at < match.since) return false;
  if (match.until !== undefined && record.at >= match.until) return false;
  return true;
}

export class WriteLog {
  private records: WriteRecord[] = [];
  private head = 0;
  private droppedCount = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Records forgotten because the log was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  add(record: WriteRecord): void {
    if (this.limit <= 0) {
      this.droppedCount++;
      return;
    }
    this.records.push(record);
    if (this.records.length - this.head > this.limit) {
      this.head++;
      this.droppedCount++;
      // Reclaim the forgotten prefix once it outweighs the rest, so adding stays amortised O(1).
      if (this.head * 2 > this.records.length) {
        this.records = this.records.slice(this.head);
        this.head = 0;
      }
    }
  }

  clear(): void {
    this.records = [];
    this.head = 0;
    this.droppedCount = 0;
  }

  /** The retained records that match, in the order their answers were sent. */
  list(match: WriteMatch = {}): WriteRecord[] {
    const out: WriteRecord[] = [];
    for (let i = this.head; i < this.records.length; i++) {
      const record = this.records[i]!;
      if (writeMatches(match, record)) out.push(record);
    }
    return out;
  }

  /**
   * Matching writes in consecutive windows of `windowMs`, from `from` (default: the first
   * matching write) to the last matching write; empty windows are included.
   */
  perWindow(windowMs: number, match: WriteMatch = {}, from?: number): WriteWindow[] {
    if (!(windowMs > 0)) throw new RangeError(`window must be positive: ${windowMs}`);
    const times = this.times(match);
    if (times.length === 0) return [];
    const start = from ?? times[0]!;
    const windows: WriteWindow[] = [];
    for (const at of times) {
      if (at < start) continue;
      const index = Math.floor((at - start) / windowMs);
      while (windows.length <= index) windows.push({ start: start + windows.length * windowMs, count: 0 });
      windows[index]!.count++;
    }
    return windows;
  }

  /** The most matching writes that arrived within any `windowMs` (a sliding window): the worst burst. */
  maxInWindow(windowMs: number, match: WriteMatch = {}): number {
    if (!(windowMs > 0)) throw new RangeError(`window must be positive: ${windowMs}`);
    const times = this.times(match);
    let best = 0;
    let first = 0;
    for (let last = 0; last < times.length; last++) {
      while (times[last]! - times[first]! >= windowMs) first++;
      best = Math.max(best, last - first + 1);
    }
    return best;
  }

  private times(match: WriteMatch): number[] {
    return this.list(match)
      .map((r) => r.at)
      .sort((a, b) => a - b);
  }
}
