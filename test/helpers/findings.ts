import type { WriterClock } from '../../src/reports/clock.ts';
import type { FindingsSource, NamespaceTally, PodFinding, PodFindings } from '../../src/reports/types.ts';

/**
 * A FindingsSource the tests set by hand (the inventory's side of src/reports/types.ts), builders
 * for findings, and a manual clock for the writers' timers.
 */

export const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
export const DIGEST = `sha256:${'ab'.repeat(32)}`;
export const RUNNING_DIGEST = `sha256:${'cd'.repeat(32)}`;

/** A finding in SPEC section 6's wording; by default 3 CRITICAL findings of a deny check. */
export function finding(input: Partial<PodFinding> & { container?: string } = {}): PodFinding {
  const container = input.container ?? 'api';
  const image = input.image ?? `${REGISTRY}/api:v7`;
  const check = input.check ?? 'severity';
  const detail =
    check === 'severity'
      ? '3 CRITICAL findings (max 0)'
      : check === 'drift'
        ? `runs ${RUNNING_DIGEST}, the tag now points to ${DIGEST}`
        : `fails ${check}`;
  return {
    reason: input.reason ?? (check === 'drift' ? 'ImageDrift' : 'ImagePolicyViolation'),
    container,
    image,
    digest: input.digest === undefined ? DIGEST : input.digest,
    check,
    action: input.action ?? (check === 'drift' ? 'warn' : 'deny'),
    severity: input.severity === undefined ? (check === 'severity' ? 'CRITICAL' : null) : input.severity,
    message: input.message ?? `container "${container}" image ${image}: ${detail}`,
  };
}

export function drift(container = 'api'): PodFinding {
  return finding({ container, check: 'drift' });
}

/** A pod's findings; the uid is derived from namespace and name unless given. */
export function podFindings(
  namespace: string,
  name: string,
  findings: readonly PodFinding[],
  uid = `uid-${namespace}-${name}`,
): PodFindings {
  return { namespace, name, uid, findings };
}

/** The inventory, as the writers read it: set whole, each set bumps the version. */
export class FakeFindingsSource implements FindingsSource {
  #version = 0;
  #pods: PodFindings[] = [];
  #tallies = new Map<string, NamespaceTally>();

  version(): number {
    return this.#version;
  }

  podFindings(): Iterable<PodFindings> {
    return this.#pods;
  }

  namespaceTallies(): ReadonlyMap<string, NamespaceTally> {
    return this.#tallies;
  }

  set(pods: readonly PodFindings[], tallies: Record<string, Partial<NamespaceTally>> = {}): void {
    this.#pods = [...pods];
    this.#tallies = new Map(
      Object.entries(tallies).map(([ns, t]) => [ns, { pass: 0, error: 0, skip: 0, ...t }]),
    );
    this.#version++;
  }

  /** A refresh that found the same: the version moves, the findings do not. */
  touch(): void {
    this.#version++;
  }
}

/**
 * A clock whose time moves only when told; timers due by then fire in order of their due time.
 * Use `step` to run writers: it advances and waits for the pass each due timer started.
 */
export class ManualClock implements WriterClock {
  ms: number;
  #timers: Array<{ at: number; seq: number; fn: () => void }> = [];
  #seq = 0;

  constructor(start = Date.parse('2026-06-01T12:00:00Z')) {
    this.ms = start;
  }

  readonly now = (): number => this.ms;

  schedule(fn: () => void, ms: number): () => void {
    const timer = { at: this.ms + ms, seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time on by `ms`, then fires every timer due. */
  advance(ms: number): void {
    this.ms += ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= this.ms).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) return;
      this.#timers = this.#timers.filter((t) => t !== due);
      due.fn();
    }
  }

  /**
   * Runs `writers` for `ms` of clock time in steps of `stepMs`: each step advances the clock and
   * waits until the passes it started have ended.
   */
  async run(writers: ReadonlyArray<{ idle(): Promise<void> }>, ms: number, stepMs = 1000): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
      this.advance(Math.min(stepMs, ms - elapsed));
      await Promise.all(writers.map((w) => w.idle()));
    }
  }

  /** Fires what is due now and waits for it (a writer's first pass right after start). */
  async settle(writers: ReadonlyArray<{ idle(): Promise<void> }>): Promise<void> {
    this.advance(0);
    await Promise.all(writers.map((w) => w.idle()));
  }
}
