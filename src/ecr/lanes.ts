import pLimit, { type LimitFunction } from 'p-limit';
import type { Lane } from './types.ts';

/**
 * ecr.maxConcurrency split between the webhook and the inventory (SPEC section 4, "Admission first").
 * A quarter (at least one) is the admission lane's own; the rest is bulk. An admission call runs in
 * its own lane when a slot is free there, else borrows an idle bulk slot, else waits in its own
 * lane: it never queues behind bulk work, so a refresh of thousands of images cannot push a
 * webhook lookup past its deadline. Bulk work never borrows admission slots. With maxConcurrency 1
 * there is nothing to split: both lanes share the one slot, first come first served.
 */
export class Lanes {
  readonly #admission: LimitFunction;
  readonly #bulk: LimitFunction;

  constructor(maxConcurrency: number) {
    if (maxConcurrency < 2) {
      this.#admission = this.#bulk = pLimit(1);
      return;
    }
    const reserved = Math.max(1, Math.floor(maxConcurrency / 4));
    this.#admission = pLimit(reserved);
    this.#bulk = pLimit(maxConcurrency - reserved);
  }

  run<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    if (lane === 'bulk') return this.#bulk(task);
    const own = this.#admission;
    const bulk = this.#bulk;
    if (own !== bulk && own.activeCount + own.pendingCount >= own.concurrency) {
      if (bulk.activeCount + bulk.pendingCount < bulk.concurrency) return bulk(task);
    }
    return own(task);
  }

  /** Calls in flight and waiting, per lane (tests and benchmarks). */
  load(): Record<Lane, { active: number; pending: number }> {
    return {
      admission: { active: this.#admission.activeCount, pending: this.#admission.pendingCount },
      bulk: { active: this.#bulk.activeCount, pending: this.#bulk.pendingCount },
    };
  }
}
