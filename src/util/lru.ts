/**
 * A Map bounded by entry count, evicting the least recently used entry first. The one bound the
 * process uses for everything keyed by input it does not control (image strings, digests, regions,
 * pod label values): hostile or merely large input can make it work harder, never grow without
 * limit. Reads refresh recency once the map is more than half full; `peek` never does.
 *
 * Refreshing recency costs a delete and a re-insert (and, in time, a rehash of the whole table), on
 * every read of the webhook's hot path. While the map holds half its bound or less nothing is near
 * eviction, so reads leave the order alone there: an entry read then and never again may be evicted
 * before one read more recently, and any entry read again once the map is past half is refreshed.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #max: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  constructor(max: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`a bounded map needs a size of at least 1, got ${max}`);
    this.#max = max;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#entries.size;
  }

  get max(): number {
    return this.#max;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** The value, made most recently used (once the map is past half full). */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined || this.#entries.size * 2 <= this.#max) return value;
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** The value, recency untouched (for sweeps and views that must not reorder). */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): this {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as K;
      const evicted = this.#entries.get(oldest) as V;
      this.#entries.delete(oldest);
      this.#onEvict?.(oldest, evicted);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  entries(): IterableIterator<[K, V]> {
    return this.#entries.entries();
  }

  values(): IterableIterator<V> {
    return this.#entries.values();
  }
}
