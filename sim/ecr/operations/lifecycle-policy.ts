import { invalidLifecyclePolicy, lifecyclePolicyNotFound } from '../errors.ts';
import { invalidParameter } from '../errors.ts';
import { LifecyclePolicyError, type LifecyclePolicy, parseLifecyclePolicy } from '../lifecycle/policy.ts';
import type { RepositoryLifecycle } from '../lifecycle/state.ts';
import { type Body, optionalString } from '../params.ts';
import type { StoredRepository } from '../store.ts';
import { epochSeconds, type OperationContext, openRepository } from './context.ts';

/** The API model's LifecyclePolicyText: 100 to 30,720 characters (the quota "Lifecycle policy length"). */
const MIN_POLICY_LENGTH = 100;
const MAX_POLICY_LENGTH = 30_720;

/** Model constraints on lifecyclePolicyText, checked with the other parameters before anything else. */
export function checkPolicyTextLength(text: string | undefined): void {
  if (text === undefined) return;
  if (text.length < MIN_POLICY_LENGTH) {
    throw invalidParameter(
      'lifecyclePolicyText',
      `Member must have length greater than or equal to ${MIN_POLICY_LENGTH}`,
    );
  }
  if (text.length > MAX_POLICY_LENGTH) {
    throw invalidParameter(
      'lifecyclePolicyText',
      `Member must have length less than or equal to ${MAX_POLICY_LENGTH}`,
    );
  }
}

/** Policy text in, the policy out, or ECR's InvalidParameterException for a policy it refuses. */
export function readPolicy(text: string): LifecyclePolicy {
  try {
    return parseLifecyclePolicy(text);
  } catch (error) {
    if (error instanceof LifecyclePolicyError) throw invalidLifecyclePolicy(error.detail);
    throw error;
  }
}

function requirePolicy(
  repository: StoredRepository,
  ctx: OperationContext,
): RepositoryLifecycle & { policy: LifecyclePolicy } {
  const state = ctx.store.lifecycle.peek(repository);
  if (!state?.policy) throw lifecyclePolicyNotFound(repository.name, repository.registryId);
  return state as RepositoryLifecycle & { policy: LifecyclePolicy };
}

/** GetLifecyclePolicyResponse / DeleteLifecyclePolicyResponse. */
function policyShape(
  repository: StoredRepository,
  state: RepositoryLifecycle & { policy: LifecyclePolicy },
): Record<string, unknown> {
  const shape: Record<string, unknown> = {
    registryId: repository.registryId,
    repositoryName: repository.name,
    lifecyclePolicyText: state.policy.text,
  };
  if (state.lastEvaluatedAt) shape.lastEvaluatedAt = epochSeconds(state.lastEvaluatedAt);
  return shape;
}

/**
 * PutLifecyclePolicy: "Creates or updates the lifecycle policy for the specified repository." The text
 * is validated as ECR validates it (lifecycle/policy.ts) after the repository is found; the answer
 * carries the policy as stored (rules in priority order).
 */
export function putLifecyclePolicy(body: Body, ctx: OperationContext): unknown {
  const text = optionalString(body, 'lifecyclePolicyText');
  if (text === undefined) throw invalidParameter('lifecyclePolicyText', 'Member must not be null');
  checkPolicyTextLength(text);
  const repository = openRepository(body, ctx, 'PutLifecyclePolicy');
  const policy = readPolicy(text);
  ctx.store.lifecycle.setPolicy(repository, policy);
  return {
    registryId: repository.registryId,
    repositoryName: repository.name,
    lifecyclePolicyText: policy.text,
  };
}

/** GetLifecyclePolicy, with lastEvaluatedAt once the policy has run. */
export function getLifecyclePolicy(body: Body, ctx: OperationContext): unknown {
  const repository = openRepository(body, ctx, 'GetLifecyclePolicy');
  return policyShape(repository, requirePolicy(repository, ctx));
}

/** DeleteLifecyclePolicy: answers with the policy it deleted. */
export function deleteLifecyclePolicy(body: Body, ctx: OperationContext): unknown {
  const repository = openRepository(body, ctx, 'DeleteLifecyclePolicy');
  const shape = policyShape(repository, requirePolicy(repository, ctx));
  ctx.store.lifecycle.deletePolicy(repository);
  return shape;
}
