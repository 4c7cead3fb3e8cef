/**
 * Time as the result writers see it: a clock and a timer, injected so tests and benchmarks can run
 * minutes of rate limits and series refreshes without waiting for them.
 */
export interface WriterClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  schedule(fn: () => void, ms: number): () => void;
}

export const systemClock: WriterClock = {
  now: () => Date.now(),
  schedule(fn, ms) {
    const timer = setTimeout(fn, ms);
    // The writers never keep the process alive on their own: serve's servers do.
    timer.unref();
    return () => clearTimeout(timer);
  },
};
