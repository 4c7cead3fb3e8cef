/**
 * Exponential backoff with jitter for reconnect loops: each failure doubles the delay up to `maxMs`;
 * the wait is a random point in [delay/2, delay] so many replicas that failed together do not
 * reconnect together. `cancel()` ends a wait at once (shutdown).
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;
  #cancel: (() => void) | null = null;

  constructor(options: { initialMs?: number; maxMs?: number; random?: () => number } = {}) {
    this.#initialMs = options.initialMs ?? 500;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#random = options.random ?? Math.random;
  }

  nextDelayMs(): number {
    const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return delay / 2 + (this.#random() * delay) / 2;
  }

  wait(): Promise<void> {
    const ms = this.nextDelayMs();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#cancel = null;
        resolve();
      }, ms);
      this.#cancel = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  reset(): void {
    this.#attempt = 0;
  }

  cancel(): void {
    this.#cancel?.();
    this.#cancel = null;
  }
}
