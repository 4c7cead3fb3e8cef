import { answerWithin } from '../util/answer-within.ts';
import type { Resolver } from '../ecr/resolver.ts';
import type { FailureReason, Lane, Resolution } from '../ecr/types.ts';
import { parseImageReference } from '../images/reference.ts';
import type { ParseResult } from '../images/types.ts';
import {
  type Evaluation,
  evaluate,
  isExempt,
  needsEcrFacts,
  needsLifecycle,
  needsTagMutability,
  type PolicyConfig,
} from './evaluate.ts';
import type { ForecastAnswer } from '../lifecycle/forecast.ts';
import type { Forecaster } from '../lifecycle/forecaster.ts';
import { BoundedMap } from '../util/lru.ts';

/** Everything known about one image reference, and the policy's verdict on it. */
export interface ImageAssessment {
  image: string;
  parsed: ParseResult;
  resolution: Resolution | null;
  /** The lifecycle forecast (SPEC section 10); undefined when not asked for. */
  lifecycle: ForecastAnswer | undefined;
  status: 'resolved' | 'unresolved' | 'skipped';
  reason: FailureReason | null;
  evaluation: Evaluation;
}

export interface AssessOptions {
  namespace?: string | null;
  /** Answer by then whatever ECR does; a lookup still running keeps filling the cache. */
  deadlineMs?: number;
  /** Resolve exempt images too (the inventory reports their facts even though no check applies). */
  resolveExempt?: boolean;
  /** Resolve even when no enabled check needs ECR facts (inventory, report, digest pinning). */
  alwaysResolve?: boolean;
  /** Every fact ECR can give, the tag's mutability included (`check` and `report` show them all). */
  allFacts?: boolean;
  /**
   * The resolver lane: the webhook's lookups (those with a deadline) go in the admission lane, ahead
   * of the inventory's refresh; everything else in the bulk lane.
   */
  lane?: Lane;
}

/** Parsed references kept: a cluster runs a few thousand distinct images; hostile input gets no more. */
const MAX_PARSED = 10_000;

/**
 * How long the webhook reuses a verdict judged from cached answers alone, for the same image in the
 * same namespace: a burst of reviews (a Deployment's pods, a rollout) judges each image once. An
 * answer may be used up to this long past its TTL (the webhook is already served stale answers while
 * one refresh runs, SPEC section 4), and ages and forecast windows move by at most this much. Both
 * the injected clock (which TTLs and ages are read on) and the monotonic one bound it, so a clock
 * stepped back does not stretch it.
 */
const WARM_VERDICT_MS = 1_000;

/** Verdicts kept for reuse: the distinct images of a second's reviews; more only means more judging. */
const MAX_WARM = 2_000;

interface WarmVerdict {
  assessment: ImageAssessment;
  /** By the injected clock (the one TTLs and ages are read on), and by the monotonic one. */
  until: number;
  untilMonotonic: number;
  /** The resolver's generation it was judged in: a cleared cache voids it. */
  generation: number;
}

/**
 * Parse → resolve → evaluate: the one path from an image string to a verdict, shared by `check`,
 * `report`, the inventory and the webhook so they can never disagree about an image.
 */
export class Assessor {
  readonly #resolver: Resolver;
  readonly #policy: PolicyConfig;
  readonly #now: () => number;
  readonly #policyNeedsEcr: boolean;
  readonly #policyNeedsMutability: boolean;
  readonly #policyNeedsLifecycle: boolean;
  readonly #forecaster: Forecaster | null;
  /** Parsed references by image string. */
  readonly #parsed = new BoundedMap<string, ParseResult>(MAX_PARSED);
  /** The webhook's recent verdicts from cached answers, by namespace and image string. */
  readonly #warm = new BoundedMap<string, WarmVerdict>(MAX_WARM);

  constructor(
    resolver: Resolver,
    policy: PolicyConfig,
    options: { now?: () => number; forecaster?: Forecaster | null } = {},
  ) {
    this.#resolver = resolver;
    this.#policy = policy;
    this.#now = options.now ?? Date.now;
    this.#forecaster = options.forecaster ?? null;
    this.#policyNeedsEcr = needsEcrFacts(policy);
    this.#policyNeedsMutability = needsTagMutability(policy);
    this.#policyNeedsLifecycle = needsLifecycle(policy);
  }

  /** The lifecycle forecast, when it runs (lifecycle.enabled). */
  get forecaster(): Forecaster | null {
    return this.#forecaster;
  }

  get policy(): PolicyConfig {
    return this.#policy;
  }

  async assess(image: string, options: AssessOptions = {}): Promise<ImageAssessment> {
    const started = performance.now();
    // Only the webhook's lookups (a deadline, not every fact) reuse a verdict.
    const warmKey =
      options.deadlineMs !== undefined &&
      !options.allFacts &&
      !options.alwaysResolve &&
      !options.resolveExempt
        ? `${options.namespace ?? ''}\u0000${image}`
        : null;
    if (warmKey !== null) {
      const warm = this.#warm.get(warmKey);
      if (warm) {
        if (
          this.#now() < warm.until &&
          started < warm.untilMonotonic &&
          warm.generation === this.#resolver.generation
        ) {
          this.#resolver.recordHit();
          return warm.assessment;
        }
        this.#warm.delete(warmKey);
      }
    }
    const parsed = this.parse(image);
    const exempt = isExempt(this.#policy, { parsed, resolution: null }, options.namespace);
    let resolution: Resolution | null = null;
    let lifecycle: ForecastAnswer | undefined;
    const wanted = (options.alwaysResolve || this.#policyNeedsEcr) && (!exempt || options.resolveExempt);
    const lane = options.lane ?? (options.deadlineMs === undefined ? 'bulk' : 'admission');
    /** What is left of the deadline; a stage still running keeps filling the cache. */
    const within = <T>(work: Promise<T>, late: () => T): Promise<T> =>
      options.deadlineMs === undefined
        ? work
        : answerWithin(work, Math.max(0, options.deadlineMs - (performance.now() - started)), late);
    if (parsed.ok && parsed.ref.ecr && wanted) {
      const wantLifecycle =
        this.#forecaster !== null && (options.allFacts === true || this.#policyNeedsLifecycle);
      const tagMutability = options.allFacts === true || this.#policyNeedsMutability;
      // Everything at hand (the webhook's usual case): judged at once, with no deadline to keep.
      const cached = this.#resolver.resolveCached(parsed.ref, { tagMutability });
      if (cached?.status === 'resolved') {
        const forecast = wantLifecycle ? this.#forecaster!.forecastCached(cached.facts) : undefined;
        if (!wantLifecycle || forecast !== undefined) {
          const assessment = this.judge(image, parsed, cached, options.namespace, forecast);
          if (warmKey !== null)
            this.#warm.set(warmKey, {
              assessment,
              until: this.#now() + WARM_VERDICT_MS,
              untilMonotonic: performance.now() + WARM_VERDICT_MS,
              generation: this.#resolver.generation,
            });
          return assessment;
        }
      }
      if (wantLifecycle) this.#forecaster!.prefetch(lane, parsed.ref.ecr);
      resolution = await within(
        this.#resolver.resolveOne(parsed.ref, { lane, tagMutability }),
        (): Resolution => ({
          status: 'unresolved',
          reason: 'timeout',
          message: `no answer from ECR within ${options.deadlineMs}ms`,
        }),
      );
      if (resolution.status === 'resolved' && wantLifecycle) {
        lifecycle = await within(this.#forecaster!.forecast(resolution.facts, lane), () => ({
          unknown: `no lifecycle policy answer within ${options.deadlineMs}ms`,
        }));
      }
    }
    return this.judge(image, parsed, resolution, options.namespace, lifecycle);
  }

  /** A webhook sees the same image strings review after review: parse each once. */
  parse(image: string): ParseResult {
    let parsed = this.#parsed.get(image);
    if (!parsed) {
      parsed = parseImageReference(image);
      this.#parsed.set(image, parsed);
    }
    return parsed;
  }

  /** The verdict on facts already in hand (the inventory re-judges without asking ECR again). */
  judge(
    image: string,
    parsed: ParseResult,
    resolution: Resolution | null,
    namespace?: string | null,
    lifecycle?: ForecastAnswer,
  ): ImageAssessment {
    const evaluation = evaluate(
      this.#policy,
      { parsed, resolution, lifecycle },
      { namespace: namespace ?? null, now: this.#now() },
    );
    let status: ImageAssessment['status'];
    let reason: FailureReason | null = null;
    if (!parsed.ok) {
      status = 'unresolved';
      reason = 'invalid_reference';
    } else if (!resolution || evaluation.exempt) {
      // Exempt images are skipped by the policy even where their facts were looked up (the inventory
      // resolves them for its metrics): `report` and `check` say the same thing about them.
      status = 'skipped';
    } else if (resolution.status === 'resolved') {
      status = 'resolved';
    } else {
      status = 'unresolved';
      reason = resolution.reason;
    }
    return { image, parsed, resolution, lifecycle, status, reason, evaluation };
  }
}
