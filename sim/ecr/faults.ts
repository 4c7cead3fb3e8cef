/**
 * Injected misbehaviour, decided per request as it arrives. Counted faults (`throttleNext(3)`) are used
 * up in the order they were added; a throttle rate spreads throttles evenly (no randomness, so a run
 * with the same requests sees the same throttles).
 */

/** Which requests a fault applies to; both fields optional (absent = any). */
export interface FaultMatch {
  operation?: string;
  region?: string;
}

export type Fault =
  | { kind: 'throttle' }
  | { kind: 'error'; status: number; type: string; message: string }
  | { kind: 'malformed' }
  | { kind: 'hang' };

interface CountedFault {
  fault: Fault;
  remaining: number;
  match: FaultMatch;
}

function matches(match: FaultMatch, operation: string, region: string): boolean {
  return (
    (match.operation === undefined || match.operation === operation) &&
    (match.region === undefined || match.region === region)
  );
}

export class FaultPlan {
  #counted: CountedFault[] = [];
  #throttleRate = 0;
  #throttleMatch: FaultMatch = {};
  #throttleDebt = 0;

  add(fault: Fault, count: number, match: FaultMatch = {}): void {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`fault count must be a non-negative integer, got ${count}`);
    }
    if (count > 0) this.#counted.push({ fault, remaining: count, match });
  }

  /** Throttle this fraction (0–1) of the matching requests. */
  setThrottleRate(rate: number, match: FaultMatch = {}): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`throttle rate must be between 0 and 1, got ${rate}`);
    this.#throttleRate = rate;
    this.#throttleMatch = match;
    this.#throttleDebt = 0;
  }

  clear(): void {
    this.#counted = [];
    this.setThrottleRate(0);
  }

  /** The fault for this request, if any; consumes one use of a counted fault. */
  take(operation: string, region: string): Fault | undefined {
    const index = this.#counted.findIndex((entry) => matches(entry.match, operation, region));
    if (index !== -1) {
      const entry = this.#counted[index] as CountedFault;
      entry.remaining -= 1;
      if (entry.remaining === 0) this.#counted.splice(index, 1);
      return entry.fault;
    }
    if (this.#throttleRate > 0 && matches(this.#throttleMatch, operation, region)) {
      this.#throttleDebt += this.#throttleRate;
      if (this.#throttleDebt >= 1) {
        this.#throttleDebt -= 1;
        return { kind: 'throttle' };
      }
    }
    return undefined;
  }
}
