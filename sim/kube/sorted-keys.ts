/**
 * A sorted set of storage keys, kept in blocks so an insert or delete moves at most one block's
 * worth of entries rather than the whole array. Lists walk keys in order from a continue point,
 * like etcd's range reads, so this is what makes a page cost O(page + log n) instead of a sort.
 */

/** Blocks split past this size; 512 keeps both the block search and the in-block splice short. */
const MAX_BLOCK = 512;
/** Bulk inserts larger than this rebuild all blocks with one sort instead of inserting one by one. */
const BULK_REBUILD_THRESHOLD = 64;

export class SortedKeys {
  private blocks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(key: string): boolean {
    if (this.blocks.length === 0) {
      this.blocks.push([key]);
      this.count = 1;
      return true;
    }
    const b = this.blockFor(key);
    const block = this.blocks[b]!;
    const i = lowerBound(block, key);
    if (block[i] === key) return false;
    block.splice(i, 0, key);
    this.count++;
    if (block.length > MAX_BLOCK * 2)
      this.blocks.splice(b, 1, block.slice(0, MAX_BLOCK), block.slice(MAX_BLOCK));
    return true;
  }

  delete(key: string): boolean {
    if (this.blocks.length === 0) return false;
    const b = this.blockFor(key);
    const block = this.blocks[b]!;
    const i = lowerBound(block, key);
    if (block[i] !== key) return false;
    block.splice(i, 1);
    this.count--;
    if (block.length === 0) this.blocks.splice(b, 1);
    return true;
  }

  /** Adds many keys at once; one sort for a large batch (a bulk load of thousands of pods). */
  addMany(keys: readonly string[]): void {
    if (keys.length <= BULK_REBUILD_THRESHOLD) {
      for (const key of keys) this.add(key);
      return;
    }
    const all = Array.from(new Set([...this.blocks.flat(), ...keys]));
    all.sort(compareKeys);
    this.blocks = [];
    for (let i = 0; i < all.length; i += MAX_BLOCK) this.blocks.push(all.slice(i, i + MAX_BLOCK));
    this.count = all.length;
  }

  /** Keys `>= start` and `< end` in order. The set must not change while the iterator is in use. */
  *range(start: string, end?: string): Generator<string> {
    if (this.blocks.length === 0) return;
    let b = this.blockFor(start);
    let i = lowerBound(this.blocks[b]!, start);
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b]!;
      for (; i < block.length; i++) {
        const key = block[i]!;
        if (end !== undefined && key >= end) return;
        yield key;
      }
    }
  }

  /** The first block whose last key is `>= key`, or the last block when every key is smaller. */
  private blockFor(key: string): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid]!;
      if (block[block.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(block: readonly string[], key: string): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (block[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Code-unit order, which equals etcd's byte order for the ASCII names Kubernetes allows. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
