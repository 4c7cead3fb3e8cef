import type { ActionType, LifecyclePolicy, LifecycleRule, StorageClass } from './policy.ts';
import { selectsTags } from './tags.ts';

/**
 * What one run of a lifecycle policy does to a repository's images, decided as ECR's lifecycle policy
 * evaluator is documented to decide it. Pure: a policy, the images' facts and the time in; the actions
 * out. The same function answers StartLifecyclePolicyPreview and the simulated policy run, so a preview
 * and the run that follows it agree.
 *
 * Source: Amazon ECR User Guide, "Automate the cleanup of images by using lifecycle policies",
 * "Lifecycle policy evaluation rules" (LifecyclePolicies.html), and the worked examples in "Examples of
 * lifecycle policies" (lifecycle_policy_examples.html). Quoted where each rule is applied below.
 */

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

/** The facts about one image that a lifecycle rule can look at. */
export interface LifecycleImage {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt: Date;
  readonly lastRecordedPullTime?: Date | undefined;
  readonly imageStatus: ImageStatus;
  readonly lastArchivedAt?: Date | undefined;
  /** When the image was last restored from archive; absent if it never was. */
  readonly lastActivatedAt?: Date | undefined;
  /**
   * Digests of the image indexes (manifest lists) in the same repository that list this image: its
   * platform images and attestations are children of an index. Empty or absent for a stand-alone image.
   */
  readonly manifestLists?: readonly string[];
}

/** One image a rule expires or archives. */
export interface LifecycleDecision {
  readonly digest: string;
  /** `transition` moves the image to the archive storage class (the only target ECR has). */
  readonly action: ActionType;
  readonly rulePriority: number;
  /** The storage class the image is in when the rule acts on it. */
  readonly storageClass: StorageClass;
}

export interface LifecycleEvaluation {
  /**
   * Every image acted on, each at most once: standard images first, then archived ones; within each,
   * by rule priority, and within a rule oldest first (the order the rule would act in).
   */
  readonly decisions: readonly LifecycleDecision[];
  /**
   * Images a rule would have acted on but that an image index still in standard storage lists: "If an
   * image is referenced by a manifest list, it cannot be expired or archived without the manifest list
   * being deleted or archived first." They stay, and stay claimed by that rule.
   */
  readonly heldByManifestList: readonly LifecycleDecision[];
}

const DAY_MS = 86_400_000;

/**
 * The storage class an image is evaluated in. A rule "will only select images of this storage class"
 * (properties page, storageClass). An image being restored (ACTIVATING) is in neither: it is no longer
 * archived and not yet standard, and no rule is documented to select it.
 */
function storageClassOf(image: LifecycleImage): StorageClass | undefined {
  if (image.imageStatus === 'ACTIVE') return 'standard';
  if (image.imageStatus === 'ARCHIVED') return 'archive';
  return undefined;
}

/**
 * The time imageCountMoreThan orders by: "images are sorted from youngest to oldest based on
 * pushed_at_time" — "If an image was archived and then restored at any point in the past, the image's
 * last_activated_at is used instead of pushed_at_time."
 */
export function countOrderTime(image: LifecycleImage): number {
  return (image.lastActivatedAt ?? image.pushedAt).getTime();
}

/**
 * The time sinceImagePulled counts from: "last_recorded_pulltime ... If an image was never pulled, the
 * image's pushed_at_time is used instead ... If an image was archived and then restored at any point in
 * the past, but never pulled since the image was restored, the image's last_activated_at is used".
 * Restored and not pulled since means last_activated_at is the later of the two, so: the later of the
 * last pull (else the push) and the last restore.
 */
export function lastPulledBasis(image: LifecycleImage): number {
  const pulledOrPushed = (image.lastRecordedPullTime ?? image.pushedAt).getTime();
  const activated = image.lastActivatedAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  return Math.max(pulledOrPushed, activated);
}

/**
 * The time a rule's age is measured from, for the three time-based count types: "all images whose
 * pushed_at_time is older than" (sinceImagePushed), the pull basis above (sinceImagePulled), "all
 * archived images whose last_archived_at is older than" (sinceImageTransitioned). Undefined when the
 * fact is missing (an archived image without an archive time is never old enough).
 */
export function ageBasis(rule: LifecycleRule, image: LifecycleImage): number | undefined {
  switch (rule.selection.countType) {
    case 'sinceImagePushed':
      return image.pushedAt.getTime();
    case 'sinceImagePulled':
      return lastPulledBasis(image);
    case 'sinceImageTransitioned':
      return image.lastArchivedAt?.getTime();
    case 'imageCountMoreThan':
      return undefined;
  }
}

/** Youngest first; equal times fall back to the digest so the order never depends on listing order. */
function youngestFirst(a: LifecycleImage, b: LifecycleImage): number {
  return countOrderTime(b) - countOrderTime(a) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
}

/**
 * The images of `selected` (all that the rule's tag selection takes in, whatever higher rules did) that
 * the rule's count marks, oldest first.
 * - imageCountMoreThan: "images are sorted from youngest to oldest ... and then all images greater
 *   than the specified count are expired or archived".
 * - time counts: images whose basis is older than countNumber days. Strictly older: the guide's
 *   "Filtering on all images" example B leaves an untagged image pushed one day ago alone under a
 *   one-day rule ("It should mark all images older than one day ... It marks image B").
 */
function markedBy(rule: LifecycleRule, selected: readonly LifecycleImage[], now: Date): LifecycleImage[] {
  const { countType, countNumber } = rule.selection;
  if (countType === 'imageCountMoreThan') {
    return [...selected].sort(youngestFirst).slice(countNumber).reverse();
  }
  const cutoff = now.getTime() - countNumber * DAY_MS;
  const old: { image: LifecycleImage; basis: number }[] = [];
  for (const image of selected) {
    const basis = ageBasis(rule, image);
    if (basis !== undefined && basis < cutoff) old.push({ image, basis });
  }
  old.sort((a, b) => a.basis - b.basis || (a.image.digest < b.image.digest ? -1 : 1));
  return old.map((entry) => entry.image);
}

/**
 * Evaluates `policy` against a repository's `images` at `now`.
 *
 * "All rules are evaluated at the same time, regardless of rule priority. After all rules are
 * evaluated, they are then applied based on rule priority." Per storage class (a rule only selects
 * images of its class), each rule in priority order:
 * 1. takes in every image its tag selection matches, including images higher rules took in: "Rules can
 *    never mark images that are marked by higher priority rules, but can still identify them as if they
 *    haven't been expired or archived" — so they still count towards imageCountMoreThan;
 * 2. marks the ones its count selects;
 * 3. acts only on marked images no higher-priority rule took in: "An image is expired or archived by
 *    exactly one or zero rules" and "An image that matches the tagging requirements of a rule cannot be
 *    expired or archived by a rule with a lower priority" (examples page, "Filtering on multiple
 *    rules": image B, marked by the `beta*` rule, is spared because the higher `prod*` rule matched it).
 * Last, images an index in standard storage still lists are held back (see heldByManifestList).
 */
export function evaluateLifecyclePolicy(
  policy: Pick<LifecyclePolicy, 'rules'>,
  images: readonly LifecycleImage[],
  now: Date,
): LifecycleEvaluation {
  // An index protects its children until it is "deleted or archived first": an index counts while it
  // is stored and not archived. The state at the start of the run counts, so the children of an index
  // that this same run expires or archives wait for the next run.
  const notArchived = new Set(
    images.filter((image) => image.imageStatus !== 'ARCHIVED').map((image) => image.digest),
  );
  const decisions: LifecycleDecision[] = [];
  const held: LifecycleDecision[] = [];
  for (const storageClass of ['standard', 'archive'] as const) {
    const pool = images.filter((image) => storageClassOf(image) === storageClass);
    const rules = [...policy.rules]
      .filter((rule) => rule.selection.storageClass === storageClass)
      .sort((a, b) => a.rulePriority - b.rulePriority);
    const claimed = new Set<string>();
    for (const rule of rules) {
      const selected = pool.filter((image) => selectsTags(rule.selection, image.tags));
      for (const image of markedBy(rule, selected, now)) {
        if (claimed.has(image.digest)) continue;
        const decision: LifecycleDecision = {
          digest: image.digest,
          action: rule.action.type,
          rulePriority: rule.rulePriority,
          storageClass,
        };
        const listed = image.manifestLists?.some((index) => notArchived.has(index)) ?? false;
        (listed ? held : decisions).push(decision);
      }
      for (const image of selected) claimed.add(image.digest);
    }
  }
  return { decisions, heldByManifestList: held };
}
