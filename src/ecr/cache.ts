import { BoundedMap } from '../util/lru.ts';

/** A cached answer and whether it is still within its TTL. */
export interface Cached<V> {
  value: V;
  /** false: past its TTL but within the stale window, served only while ECR cannot answer. */
  fresh: boolean;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  /** Past this even a stale answer is gone. Equal to expiresAt for answers never served stale. */
  keepUntil: number;
}

/**
 * Answers by key with a TTL, an injected clock and a size bound (least recently used out first).
 * An answer may be kept `staleMs` past its TTL (ecr.staleIfError): `get` then returns it marked
 * not fresh, and the caller decides whether a stale answer may be served (SPEC section 4, "Through an
 * outage"). Negative answers are stored without a stale window: a missing image is not worth
 * remembering once its negativeTTL is over.
 */
export class AnswerCache<V> {
  readonly #entries: BoundedMap<string, Entry<V>>;
  readonly #now: () => number;
  readonly #staleMs: number;

  constructor(now: () => number, options: { maxEntries?: number; staleMs?: number } = {}) {
    this.#now = now;
    this.#entries = new BoundedMap(options.maxEntries ?? 100_000);
    this.#staleMs = options.staleMs ?? 0;
  }

  get(key: string): Cached<V> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const now = this.#now();
    if (now < entry.expiresAt) return { value: entry.value, fresh: true };
    if (now < entry.keepUntil) return { value: entry.value, fresh: false };
    this.#entries.delete(key);
    return undefined;
  }

  /** Stores `value` for `ttlMs`; `servableStale` keeps it staleIfError longer for outages. */
  set(key: string, value: V, ttlMs: number, servableStale: boolean): void {
    const staleMs = servableStale ? this.#staleMs : 0;
    if (ttlMs <= 0 && staleMs <= 0) {
      this.#entries.delete(key);
      return;
    }
    const now = this.#now();
    const expiresAt = now + Math.max(0, ttlMs);
    this.#entries.set(key, { value, expiresAt, keepUntil: expiresAt + staleMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
