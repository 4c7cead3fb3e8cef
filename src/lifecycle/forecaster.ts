import { describeReason } from '../ecr/reasons.ts';
import { type ImageFacts, type Lane, repositoryKey } from '../ecr/types.ts';
import { type ForecastAnswer, type LifecycleImage, PolicyEvaluator } from './forecast.ts';
import type { LifecyclePolicies, PolicyAnswer, RepositoryLocation } from './policies.ts';

/** What a rule looks at, from the facts the resolver has for an image in use. */
export function lifecycleImageOf(facts: ImageFacts): LifecycleImage {
  return {
    digest: facts.digest,
    tags: facts.tags,
    pushedAt: facts.pushedAt,
    lastRecordedPullTime: facts.lastRecordedPullTime,
    lastActivatedAt: facts.lastActivatedAt,
    lastArchivedAt: facts.lastArchivedAt,
    imageStatus: facts.imageStatus,
  };
}

/**
 * The lifecycle forecast of SPEC section 10 for images in use: each repository's policy read once
 * (policies.ts), every image of it judged by one evaluator (forecast.ts), so a count rule's ranking is
 * computed once per repository and refresh.
 */
export class Forecaster {
  readonly #policies: LifecyclePolicies;
  readonly #now: () => number;

  constructor(policies: LifecyclePolicies, now: () => number) {
    this.#policies = policies;
    this.#now = now;
  }

  /**
   * Starts reading a repository's policy (if it is not at hand) before the image's facts are known:
   * the webhook asks for both at once, so the policy costs no time of its own within the deadline.
   */
  prefetch(lane: Lane, location: RepositoryLocation): void {
    void this.#policies.policyOf(lane, location);
  }

  /** Forgets every policy read: the next forecast reads them again (each lifecycle.refreshInterval). */
  expire(): void {
    this.#policies.expire();
  }

  /** The forecast from a policy within its TTL, at once; undefined when none is at hand (then ask). */
  forecastCached(facts: ImageFacts): ForecastAnswer | undefined {
    const policy = this.#policies.cached(facts);
    return policy && this.#answer(policy, [facts], this.#now())[0];
  }

  async forecast(facts: ImageFacts, lane: Lane): Promise<ForecastAnswer> {
    return (await this.forecastMany([facts], lane))[0]!;
  }

  /** One answer per image, in order; images of one repository share its policy and evaluator. */
  async forecastMany(images: readonly ImageFacts[], lane: Lane): Promise<ForecastAnswer[]> {
    const byRepository = new Map<string, number[]>();
    images.forEach((facts, i) => {
      const key = repositoryKey(facts, facts.repository);
      const list = byRepository.get(key);
      if (list) list.push(i);
      else byRepository.set(key, [i]);
    });
    const answers: ForecastAnswer[] = new Array(images.length);
    const now = this.#now();
    await Promise.all(
      [...byRepository.values()].map(async (indices) => {
        const policy = await this.#policies.policyOf(lane, images[indices[0]!]!);
        const forecasts = this.#answer(
          policy,
          indices.map((i) => images[i]!),
          now,
        );
        indices.forEach((i, k) => (answers[i] = forecasts[k]!));
      }),
    );
    return answers;
  }

  /** The forecasts of images of one repository under its policy answer, in order. */
  #answer(policy: PolicyAnswer, images: readonly ImageFacts[], now: number): ForecastAnswer[] {
    if (!policy.ok) {
      const why = { unknown: `${describeReason(policy.reason)} reading the lifecycle policy` };
      return images.map(() => why);
    }
    if (!policy.policy) return images.map(() => null);
    const evaluator = new PolicyEvaluator(policy.policy, now);
    return images.map((facts) => evaluator.forecast(lifecycleImageOf(facts)));
  }
}
