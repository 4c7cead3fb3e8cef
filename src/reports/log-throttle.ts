import type { Logger } from '../log.ts';

/**
 * Warnings about one kind of failure at most once per interval, with how many were held back: a
 * writer failing for thousands of pods at once says so in one line a minute, not thousands.
 */
export class LogThrottle {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** By kind: when the last line went out and how many were held back since. Few kinds, fixed in code. */
  readonly #last = new Map<string, { at: number; held: number }>();

  constructor(log: Logger, intervalMs: number, now: () => number) {
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = this.#now();
    const last = this.#last.get(kind);
    if (last && now - last.at < this.#intervalMs) {
      last.held++;
      return;
    }
    this.#log.warn({ ...fields, ...(last?.held ? { heldBack: last.held } : {}) }, message);
    this.#last.set(kind, { at: now, held: 0 });
  }
}
