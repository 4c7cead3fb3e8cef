import { BoundedMap } from '../util/lru.ts';

/** A token bucket's size and refill rate. */
export interface RateLimit {
  /** Tokens the bucket holds when full: writes that may go at once after a quiet spell. */
  burst: number;
  /** Tokens added per second: the sustained rate. */
  perSecond: number;
}

export function checkRateLimit(limit: RateLimit, name: string): RateLimit {
  if (!Number.isInteger(limit.burst) || limit.burst < 1)
    throw new RangeError(`${name}.burst must be an integer of at least 1, got ${limit.burst}`);
  if (!(limit.perSecond > 0) || !Number.isFinite(limit.perSecond))
    throw new RangeError(`${name}.perSecond must be a positive number, got ${limit.perSecond}`);
  return limit;
}

/**
 * A token bucket on an injected clock, as client-go's flowcontrol token bucket (passive: it refills
 * when asked, no timer). Starts full.
 */
export class TokenBucket {
  readonly #limit: RateLimit;
  #tokens: number;
  #at: number;

  constructor(limit: RateLimit, now: number) {
    this.#limit = limit;
    this.#tokens = limit.burst;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(
        this.#limit.burst,
        this.#tokens + ((now - this.#at) / 1000) * this.#limit.perSecond,
      );
      this.#at = now;
    }
  }

  /** Whether a token is there now. */
  available(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= 1;
  }

  /** Takes a token if one is there. */
  take(now: number): boolean {
    if (!this.available(now)) return false;
    this.#tokens -= 1;
    return true;
  }

  /** When the next token will be there (now, if one is). */
  nextAt(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return now;
    return now + Math.ceil(((1 - this.#tokens) / this.#limit.perSecond) * 1000);
  }
}

/**
 * One bucket per key (client-go's EventSourceObjectSpamFilter keeps them in an LRU of 4096): a key
 * forgotten under pressure comes back with a full bucket, which the overall bucket still bounds.
 */
export class KeyedBuckets {
  readonly #limit: RateLimit;
  readonly #buckets: BoundedMap<string, TokenBucket>;

  constructor(limit: RateLimit, maxKeys: number) {
    this.#limit = limit;
    this.#buckets = new BoundedMap(maxKeys);
  }

  get(key: string, now: number): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.#limit, now);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  clear(): void {
    this.#buckets.clear();
  }
}
