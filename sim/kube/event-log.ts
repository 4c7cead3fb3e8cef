import type { Stored } from './stored.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * One committed change. `object` is the new state (for a deletion: the last state, stamped with the
 * deletion's resourceVersion, as etcd reports it); `prev` is the state before, which the watch
 * cache needs to turn a change that leaves a watcher's selector into a DELETED for that watcher.
 */
export interface ChangeEvent {
  readonly rv: number;
  readonly type: ChangeType;
  readonly key: string;
  readonly namespace: string;
  readonly object: Stored;
  readonly prev: Stored | undefined;
}

/**
 * The bounded window of recent changes of one resource type that watches replay from, like the
 * API server's per-resource watch cache. A watch may start at any resourceVersion at or after
 * `startRv`; anything older has been evicted and gets 410 Expired.
 */
export class EventLog {
  private events: ChangeEvent[] = [];
  private head = 0;
  private start: number;
  private readonly limit: number;

  constructor(limit: number, startRv: number) {
    this.limit = limit;
    this.start = startRv;
  }

  /** Every change after this resourceVersion is still here. */
  get startRv(): number {
    return this.start;
  }

  get length(): number {
    return this.events.length - this.head;
  }

  append(event: ChangeEvent): void {
    this.events.push(event);
    if (this.length > this.limit) this.evict(this.head + 1);
  }

  /** Changes with resourceVersion greater than `rv`, oldest first. `rv` must be `>= startRv`. */
  since(rv: number): ChangeEvent[] {
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }

  /** Forgets every change at or before `rv` (compaction, or a watch cache rebuilt after a restart). */
  truncate(rv: number): void {
    let cut = this.head;
    while (cut < this.events.length && this.events[cut]!.rv <= rv) cut++;
    this.evict(cut);
    if (rv > this.start) this.start = rv;
  }

  private evict(newHead: number): void {
    if (newHead > this.head) this.start = Math.max(this.start, this.events[newHead - 1]!.rv);
    this.head = newHead;
    // Reclaim the evicted prefix once it outweighs the live part, so eviction stays amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}
