/** Measuring helpers the benchmarks share. */
import type { Lanes } from '../src/ecr/lanes.ts';

/**
 * Samples the most ECR calls in flight in the resolver's bulk lane (where the inventory's refresh
 * runs) until `stop`, every `everyMs`: the concurrency a refresh actually gets.
 */
export function sampleBulkInFlight(lanes: Pick<Lanes, 'load'>, everyMs: number): { stop(): number } {
  let most = 0;
  const timer = setInterval(() => {
    most = Math.max(most, lanes.load().bulk.active);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(1, most);
    },
  };
}

/** The nearest-rank percentile (p from 0 to 1); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
