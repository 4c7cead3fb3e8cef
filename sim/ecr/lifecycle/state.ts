import type { StoredRepository } from '../store.ts';
import type { LifecycleDecision } from './evaluate.ts';
import type { LifecyclePolicy, StorageClass } from './policy.ts';

/** One image in a finished preview, as it stood when the preview evaluated it. */
export interface PreviewResult extends LifecycleDecision {
  readonly tags: readonly string[];
  readonly pushedAt: Date;
  readonly storageClass: StorageClass;
}

/** The last StartLifecyclePolicyPreview of a repository. */
export interface LifecyclePreview {
  /** Distinguishes previews in page tokens, so a token from an earlier preview is refused. */
  readonly id: number;
  readonly policy: LifecyclePolicy;
  readonly results: readonly PreviewResult[];
  /** GetLifecyclePolicyPreview answers IN_PROGRESS this many more times before COMPLETE. */
  pendingPolls: number;
}

/** A repository's lifecycle policy and what became of it. */
export interface RepositoryLifecycle {
  policy: LifecyclePolicy | undefined;
  /** GetLifecyclePolicy's lastEvaluatedAt: the last run of this policy; absent until it first runs. */
  lastEvaluatedAt: Date | undefined;
  preview: LifecyclePreview | undefined;
}

/**
 * Lifecycle state per repository, kept beside the store's images. Holds at most one entry per
 * repository (repositories are never removed), so it is bounded by the store itself.
 */
export class LifecycleStates {
  /**
   * How many GetLifecyclePolicyPreview calls answer IN_PROGRESS before a new preview answers COMPLETE.
   * ECR evaluates a preview asynchronously; one poll in progress makes clients show that they wait.
   */
  previewPolls = 1;
  readonly #byRepository = new Map<StoredRepository, RepositoryLifecycle>();
  #previews = 0;

  /** The repository's state, created empty on first use. */
  of(repository: StoredRepository): RepositoryLifecycle {
    let state = this.#byRepository.get(repository);
    if (!state) {
      state = { policy: undefined, lastEvaluatedAt: undefined, preview: undefined };
      this.#byRepository.set(repository, state);
    }
    return state;
  }

  peek(repository: StoredRepository): RepositoryLifecycle | undefined {
    return this.#byRepository.get(repository);
  }

  /**
   * Sets (replaces) the policy. A new policy has not been run yet, so lastEvaluatedAt starts over
   * unless the caller says when it last ran (a scenario seeding an old policy).
   */
  setPolicy(repository: StoredRepository, policy: LifecyclePolicy, lastEvaluatedAt?: Date): void {
    const state = this.of(repository);
    state.policy = policy;
    state.lastEvaluatedAt = lastEvaluatedAt;
  }

  deletePolicy(repository: StoredRepository): void {
    const state = this.of(repository);
    state.policy = undefined;
    state.lastEvaluatedAt = undefined;
  }

  startPreview(
    repository: StoredRepository,
    policy: LifecyclePolicy,
    results: readonly PreviewResult[],
    pendingPolls: number,
  ): LifecyclePreview {
    this.#previews += 1;
    const preview: LifecyclePreview = { id: this.#previews, policy, results, pendingPolls };
    this.of(repository).preview = preview;
    return preview;
  }

  /** Repositories that have a policy, in the order their state was first touched. */
  *withPolicies(): Generator<[StoredRepository, RepositoryLifecycle & { policy: LifecyclePolicy }]> {
    for (const [repository, state] of this.#byRepository) {
      if (state.policy) yield [repository, state as RepositoryLifecycle & { policy: LifecyclePolicy }];
    }
  }
}
