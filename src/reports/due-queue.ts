/**
 * Keys by the time they are next due, earliest first (a binary min-heap). Rescheduling a key pushes
 * it again; the stale entry is skipped when it surfaces (the caller checks the time it keeps with the
 * key), and the heap is rebuilt from the live keys when stale entries outnumber them, so its size stays
 * proportional to the keys it serves.
 */
export class DueQueue {
  #heap: Array<{ at: number; key: string }> = [];

  get size(): number {
    return this.#heap.length;
  }

  push(key: string, at: number): void {
    const heap = this.#heap;
    heap.push({ at, key });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= heap[i]!.at) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  /** The earliest entry without removing it. */
  peek(): { at: number; key: string } | undefined {
    return this.#heap[0];
  }

  pop(): { at: number; key: string } | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left]!.at < heap[smallest]!.at) smallest = left;
      if (right < heap.length && heap[right]!.at < heap[smallest]!.at) smallest = right;
      if (smallest === i) break;
      [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
      i = smallest;
    }
    return top;
  }

  /**
   * Rebuilds from the live keys (key → due time; Infinity means not due) when stale entries
   * outnumber them; `live` is only called then.
   */
  compact(liveCount: number, live: () => Iterable<readonly [string, number]>): void {
    if (this.#heap.length <= 2 * liveCount + 1024) return;
    this.#heap = [];
    for (const [key, at] of live()) if (Number.isFinite(at)) this.push(key, at);
  }

  clear(): void {
    this.#heap = [];
  }
}
