import { createHash } from 'node:crypto';

/**
 * Deterministic "random" values: the same seed always gives the same value, so generated manifests,
 * scenarios and findings are identical from run to run (stable digests, reproducible benchmarks).
 */

export function seededHex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** An integer in [0, span) fixed by `seed`. */
export function seededInt(seed: string, span: number): number {
  // 32 bits of the hash are plenty for the spans used here (all far below 2^32).
  return Number.parseInt(seededHex(seed).slice(0, 8), 16) % span;
}
