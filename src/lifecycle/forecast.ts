import { type CountType, describeRule, type LifecycleRule, type StorageClass, tagsMatch } from './rules.ts';

/** What a lifecycle rule looks at in an image (DescribeImages' ImageDetail). */
export interface LifecycleImage {
  digest: string;
  tags: readonly string[];
  pushedAt: Date | null;
  lastRecordedPullTime: Date | null;
  lastActivatedAt: Date | null;
  lastArchivedAt: Date | null;
  imageStatus: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
}

/** The first action a repository's lifecycle policy will take on an image. */
export interface Forecast {
  action: 'expire' | 'archive';
  rulePriority: number;
  /** What the rule counts: keep-alive acts only on sinceImagePulled rules. */
  countType: CountType;
  /** The earliest the action can happen; ECR acts at its next daily run from then on. */
  at: Date;
  /** The rule's description, or a summary of what it selects. */
  rule: string;
}

/** A forecast, `null` when no rule will act on the image, or why it cannot be known. */
export type ForecastAnswer = Forecast | null | { unknown: string };

const DAY_MS = 86_400_000;
/** ECR evaluates lifecycle policies about once a day ("within 24 hours", ECR User Guide, "Lifecycle policies"). */
const RUN_INTERVAL_MS = DAY_MS;

/** The first rule, by priority, that selects an image: the only one that can ever act on it. */
export interface RepositoryPolicy {
  /** The policy's rules, sorted by rulePriority. */
  rules: readonly LifecycleRule[];
  /** Every image of the repository, for count rules; null when not listed (a count rule is then unknown). */
  repository: readonly LifecycleImage[] | null;
  /** GetLifecyclePolicy's lastEvaluatedAt: when ECR last ran the policy. */
  lastEvaluatedAt: Date | null;
}

/** The storage class rules see an image in; an image being restored (ACTIVATING) is in neither yet. */
function storageOf(image: LifecycleImage): StorageClass | null {
  if (image.imageStatus === 'ACTIVE') return 'standard';
  return image.imageStatus === 'ARCHIVED' ? 'archive' : null;
}

/**
 * When ECR runs the policy next: a day after its last run, as many days on as it takes to be in the
 * future; without a last run, a day from now (SPEC section 10).
 */
export function nextRun(lastEvaluatedAt: Date | null, now: number): Date {
  if (!lastEvaluatedAt) return new Date(now + RUN_INTERVAL_MS);
  let at = lastEvaluatedAt.getTime() + RUN_INTERVAL_MS;
  if (at <= now) at += Math.ceil((now - at) / RUN_INTERVAL_MS) * RUN_INTERVAL_MS;
  return new Date(at);
}

/**
 * A repository's lifecycle policy, evaluated for the images in use as ECR documents the evaluation
 * ("How lifecycle policies work" and "Lifecycle policy properties", ECR User Guide):
 *
 * - Rules apply by rulePriority, lowest first, and an image is acted on by at most one rule.
 * - An image that matches a rule's selection is never acted on by a rule of lower priority ("an image
 *   that matches the tagging requirements of a higher priority rule cannot be expired by a rule with a
 *   lower priority"). A rule's selection is its tag selection within its storage class: a rule over
 *   `standard` images does not shield an archived one from a rule over `archive` ones, or a transition
 *   rule followed by an expire rule for the same tags could never expire anything.
 * - So the first rule, by priority, that selects the image is the only one that can act on it:
 *   - imageCountMoreThan: the rule's images are sorted youngest first by push time (by lastActivatedAt
 *     for an image restored from the archive, which "is used instead of pushed_at_time"), every image
 *     the higher rules selected still counted ("rules can still identify them as if they haven't been
 *     expired"); those beyond countNumber are due at the next run, the others are safe for now.
 *   - sinceImagePushed: due countNumber days after the push.
 *   - sinceImagePulled: due countNumber days after lastRecordedPullTime, or the push for an image
 *     never pulled, or lastActivatedAt when that is later (a restored image starts afresh).
 *   - sinceImageTransitioned: archived images only, countNumber days after lastArchivedAt.
 * - An image being restored (ACTIVATING) is in neither storage class: no rule selects it.
 *
 * Platform images of an index count among their rule's images like any other; they are never the
 * images in use (a pod names the index), so they get no forecast of their own here.
 *
 * A count rule's ranking is computed once per rule for the whole repository, so forecasting every
 * image in use costs a sort per count rule, not one per image.
 */
export class PolicyEvaluator {
  readonly #policy: RepositoryPolicy;
  readonly #now: number;
  /** Per count rule: the digests it selects now (beyond its count). */
  readonly #beyondCount = new Map<LifecycleRule, ReadonlySet<string>>();

  constructor(policy: RepositoryPolicy, now: number) {
    this.#policy = policy;
    this.#now = now;
  }

  forecast(image: LifecycleImage): ForecastAnswer {
    const storage = storageOf(image);
    if (!storage) return null;
    for (const rule of this.#policy.rules) {
      if (rule.storageClass !== storage || !tagsMatch(rule, image.tags)) continue;
      const at = this.#dueAt(rule, image);
      if (at === null || 'unknown' in at) return at;
      return {
        action: rule.action === 'expire' ? 'expire' : 'archive',
        rulePriority: rule.rulePriority,
        countType: rule.countType,
        at: at.at,
        rule: describeRule(rule),
      };
    }
    return null;
  }

  #dueAt(rule: LifecycleRule, image: LifecycleImage): { at: Date } | { unknown: string } | null {
    const days = rule.countNumber * DAY_MS;
    switch (rule.countType) {
      case 'imageCountMoreThan': {
        const selected = this.#selectedByCount(rule, image);
        if (!selected) return { unknown: 'the repository has not been listed' };
        return selected.has(image.digest) ? { at: nextRun(this.#policy.lastEvaluatedAt, this.#now) } : null;
      }
      case 'sinceImagePushed':
        return image.pushedAt
          ? { at: new Date(image.pushedAt.getTime() + days) }
          : { unknown: 'no push time' };
      case 'sinceImagePulled': {
        const pulled = image.lastRecordedPullTime ?? image.pushedAt;
        if (!pulled) return { unknown: 'no pull or push time' };
        const basis = Math.max(pulled.getTime(), image.lastActivatedAt?.getTime() ?? 0);
        return { at: new Date(basis + days) };
      }
      case 'sinceImageTransitioned':
        return image.lastArchivedAt
          ? { at: new Date(image.lastArchivedAt.getTime() + days) }
          : { unknown: 'no archive time' };
    }
  }

  /**
   * The digests a count rule selects now, ranked once per rule. An image in use that the listing does
   * not hold (pushed since it was read) is ranked with the listed images on its own.
   */
  #selectedByCount(rule: LifecycleRule, image: LifecycleImage): ReadonlySet<string> | null {
    const repository = this.#policy.repository;
    if (!repository) return null;
    if (!repository.some((other) => other.digest === image.digest)) {
      return beyondCount(rule, [...repository, image]);
    }
    let selected = this.#beyondCount.get(rule);
    if (!selected) {
      selected = beyondCount(rule, repository);
      this.#beyondCount.set(rule, selected);
    }
    return selected;
  }
}

/** The images a count rule selects: its images, youngest first, past the first countNumber. */
function beyondCount(rule: LifecycleRule, images: readonly LifecycleImage[]): ReadonlySet<string> {
  const counted = images.filter(
    (other) => storageOf(other) === rule.storageClass && tagsMatch(rule, other.tags),
  );
  counted.sort(youngestFirst);
  return new Set(counted.slice(rule.countNumber).map((other) => other.digest));
}

/**
 * Youngest first, by push time or, for an image restored from the archive, its lastActivatedAt; an
 * image without either counts as the oldest; ties by digest, for a stable order.
 */
function youngestFirst(a: LifecycleImage, b: LifecycleImage): number {
  const pa = (a.lastActivatedAt ?? a.pushedAt)?.getTime() ?? -Infinity;
  const pb = (b.lastActivatedAt ?? b.pushedAt)?.getTime() ?? -Infinity;
  if (pa !== pb) return pb - pa;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}
