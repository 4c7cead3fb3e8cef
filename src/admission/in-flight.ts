/**
 * The webhook's bound on what it holds at once (SPEC section 6): at most `maxReviews` reviews being
 * handled, from their headers to the end of their reply, and at most `maxBytes` of request bodies
 * held, from the first byte read (or the declared Content-Length, reserved before reading) until the
 * body has been decoded and its container images extracted. Past either, a review is refused with 429
 * before more of it is read, so no client, however many connections it opens and whatever
 * Content-Length it declares, can make the process hold more.
 */
export class InFlightLimits {
  readonly maxReviews: number;
  readonly maxBytes: number;
  #reviews = 0;
  #bytes = 0;

  constructor(options: { maxReviews: number; maxBytes: number }) {
    this.maxReviews = options.maxReviews;
    this.maxBytes = options.maxBytes;
  }

  /** Reviews and body bytes held now. */
  get reviews(): number {
    return this.#reviews;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /** A place for one more review, or null when `maxReviews` are in flight. */
  admit(): ReviewTicket | null {
    if (this.#reviews >= this.maxReviews) return null;
    this.#reviews += 1;
    let held = 0;
    let left = false;
    return {
      reserve: (bytes) => {
        if (left) return false;
        if (this.#bytes + bytes > this.maxBytes) return false;
        this.#bytes += bytes;
        held += bytes;
        return true;
      },
      releaseBytes: () => {
        this.#bytes -= held;
        held = 0;
      },
      leave: () => {
        if (left) return;
        left = true;
        this.#bytes -= held;
        held = 0;
        this.#reviews -= 1;
      },
    };
  }
}

/** One admitted review's share of the limits. */
export interface ReviewTicket {
  /** Holds `bytes` more of body; false (holding nothing more) when that would pass `maxBytes`. */
  reserve(bytes: number): boolean;
  /** The body is no longer held (decoded, and the parsed object dropped): its bytes count no more. */
  releaseBytes(): void;
  /** The review is over (its reply written, or its client gone): frees its place. Idempotent. */
  leave(): void;
}
