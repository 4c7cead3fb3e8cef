import type { Logger } from '../log.ts';
import type { WriterClock } from './clock.ts';

/**
 * The periodic pass of a result writer: one tick at a time (the next is scheduled `intervalMs` after
 * the previous one ends, so a slow apiserver stretches the period instead of piling passes up), and
 * a clean stop: no tick is scheduled after `stop()`, the running one is told through its signal, and
 * `stop()` resolves once it has ended. The owner wires start and stop to leadership.
 */
export class TickLoop {
  readonly #clock: WriterClock;
  readonly #intervalMs: number;
  readonly #tick: (signal: AbortSignal) => Promise<void>;
  readonly #log: Logger;
  #running = false;
  #cancel: (() => void) | null = null;
  #current: Promise<void> | null = null;
  #abort: AbortController | null = null;

  constructor(
    clock: WriterClock,
    intervalMs: number,
    tick: (signal: AbortSignal) => Promise<void>,
    log: Logger,
  ) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#tick = tick;
    this.#log = log;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts ticking, the first tick at once. Starting a running loop does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#schedule(0);
  }

  /** Stops ticking; resolves when the tick in progress, told to stop, has ended. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#cancel?.();
    this.#cancel = null;
    this.#abort?.abort();
    await this.#current;
  }

  /** Resolves when no tick is running (at once when none is). */
  async idle(): Promise<void> {
    await this.#current;
  }

  #schedule(ms: number): void {
    this.#cancel = this.#clock.schedule(() => this.#run(), ms);
  }

  #run(): void {
    this.#cancel = null;
    const abort = this.#abort;
    if (!this.#running || !abort || abort.signal.aborted) return;
    const current = this.#tick(abort.signal)
      .catch((err: unknown) => this.#log.error({ err }, 'a pass failed'))
      .finally(() => {
        if (this.#current === current) this.#current = null;
        // A loop stopped (and perhaps started again) meanwhile has its own schedule.
        if (this.#running && this.#abort === abort) this.#schedule(this.#intervalMs);
      });
    this.#current = current;
  }
}
