import type { EcrStore, StoredImage, StoredRepository } from '../store.ts';
import { removeStoredImage } from '../store.ts';
import type { RepositoryRef } from '../types.ts';
import { evaluateLifecyclePolicy, type LifecycleDecision, type LifecycleImage } from './evaluate.ts';
import type { LifecyclePolicy } from './policy.ts';
import type { PreviewResult } from './state.ts';

/** One image a policy run expired or archived (or held back), as the test of a run reads it. */
export interface LifecycleRunAction extends LifecycleDecision {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  /** The image's tags just before the action (an expired image's tags go with it). */
  readonly tags: readonly string[];
}

/** What {@link runLifecyclePolicies} did. */
export interface LifecycleRun {
  /** The simulator clock's time of the run: every policy's lastEvaluatedAt. */
  readonly at: Date;
  /** How many repositories had a policy and were evaluated. */
  readonly repositories: number;
  /** Every image expired or archived, repository by repository, in each the evaluator's order. */
  readonly actions: readonly LifecycleRunAction[];
  /** Images a rule selected but an image index in standard storage still lists; left as they were. */
  readonly heldByManifestList: readonly LifecycleRunAction[];
}

/**
 * For each image, the image indexes of the same repository that list it (its platform images and
 * attestation manifests are stored as untagged images beside it): the facts the evaluator's
 * manifest-list rule reads.
 */
function manifestListsOf(repository: StoredRepository): ReadonlyMap<string, readonly string[]> {
  const lists = new Map<string, string[]>();
  for (const image of repository.images) {
    if (image.kind !== 'index') continue;
    for (const child of image.children) {
      const parents = lists.get(child);
      if (parents) parents.push(image.digest);
      else lists.set(child, [image.digest]);
    }
  }
  return lists;
}

/** The facts the evaluator reads, for every image of the repository. */
export function lifecycleImagesOf(repository: StoredRepository): LifecycleImage[] {
  const lists = manifestListsOf(repository);
  return repository.images.map((image) => ({
    digest: image.digest,
    tags: image.tags,
    pushedAt: image.pushedAt,
    lastRecordedPullTime: image.lastRecordedPullTime,
    imageStatus: image.imageStatus,
    lastArchivedAt: image.lastArchivedAt,
    lastActivatedAt: image.lastActivatedAt,
    manifestLists: lists.get(image.digest) ?? [],
  }));
}

/** What a preview of `policy` shows for the repository as it is at `now`. */
export function previewResultsOf(
  repository: StoredRepository,
  policy: LifecyclePolicy,
  now: Date,
): PreviewResult[] {
  const { decisions } = evaluateLifecyclePolicy(policy, lifecycleImagesOf(repository), now);
  return decisions.map((decision) => {
    const image = repository.byDigest.get(decision.digest) as StoredImage;
    return { ...decision, tags: [...image.tags], pushedAt: image.pushedAt };
  });
}

function actionOf(repository: StoredRepository, decision: LifecycleDecision): LifecycleRunAction {
  const image = repository.byDigest.get(decision.digest) as StoredImage;
  return {
    registryId: repository.registryId,
    region: repository.region,
    repository: repository.name,
    ...decision,
    tags: [...image.tags],
  };
}

/**
 * Runs every lifecycle policy (or those of the repositories `scope` names) at the store's `now`, as
 * ECR's scheduled run would: each repository's policy is evaluated against all its images at once, then
 * applied. An expired image is deleted with its tags; a transitioned one moves to the archive storage
 * class (imageStatus ARCHIVED, lastArchivedAt now), keeping its tags, as "Archiving an image" describes.
 * Every evaluated policy records `now` as its lastEvaluatedAt. With `mode: 'plan'` nothing changes:
 * the answer is what the run would do.
 */
export function runLifecyclePolicies(
  store: EcrStore,
  now: Date,
  scope: Partial<RepositoryRef> = {},
  mode: 'apply' | 'plan' = 'apply',
): LifecycleRun {
  const actions: LifecycleRunAction[] = [];
  const held: LifecycleRunAction[] = [];
  let repositories = 0;
  for (const [repository, state] of [...store.lifecycle.withPolicies()]) {
    if (scope.registryId !== undefined && scope.registryId !== repository.registryId) continue;
    if (scope.region !== undefined && scope.region !== repository.region) continue;
    if (scope.repository !== undefined && scope.repository !== repository.name) continue;
    repositories += 1;
    const evaluation = evaluateLifecyclePolicy(state.policy, lifecycleImagesOf(repository), now);
    for (const decision of evaluation.heldByManifestList) held.push(actionOf(repository, decision));
    for (const decision of evaluation.decisions) actions.push(actionOf(repository, decision));
    if (mode === 'plan') continue;
    for (const decision of evaluation.decisions) {
      const image = repository.byDigest.get(decision.digest) as StoredImage;
      if (decision.action === 'expire') {
        removeStoredImage(repository, image);
      } else {
        image.imageStatus = 'ARCHIVED';
        image.lastArchivedAt = now;
      }
    }
    state.lastEvaluatedAt = now;
  }
  return { at: now, repositories, actions, heldByManifestList: held };
}
