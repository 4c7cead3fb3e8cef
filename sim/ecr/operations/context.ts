import { accessDenied, repositoryNotFound } from '../errors.ts';
import { type Body, checkRepositoryName, optionalString, registryIdOf } from '../params.ts';
import type { EcrStore, StoredRepository } from '../store.ts';

/** What every operation handler gets besides the request body. */
export interface OperationContext {
  store: EcrStore;
  /** From the request signature's credential scope: one endpoint serves every region. */
  region: string;
  clock: () => Date;
}

export type OperationHandler = (body: Body, ctx: OperationContext) => unknown;

/** The ARN the dummy credentials act as, for AccessDenied messages. */
export function callerArn(store: EcrStore): string {
  return `arn:aws:sts::${store.callerAccount}:assumed-role/ecr-warden/simulated`;
}

export function repositoryArn(region: string, registryId: string, repository: string): string {
  return `arn:aws:ecr:${region}:${registryId}:repository/${repository}`;
}

/**
 * The repository a repository-scoped call names, after the checks ECR makes in its order:
 * parameters first, then authorization, then existence.
 */
export function openRepository(body: Body, ctx: OperationContext, operation: string): StoredRepository {
  const registryId = registryIdOf(body, ctx.store.callerAccount);
  const name = checkRepositoryName(optionalString(body, 'repositoryName'));
  const registry = ctx.store.registry(registryId, ctx.region);
  const repository = registry?.repositories.get(name);
  if (ctx.store.isDenied(registryId, ctx.region, name)) {
    throw accessDenied(callerArn(ctx.store), operation, repositoryArn(ctx.region, registryId, name));
  }
  if (!repository) throw repositoryNotFound(name, registryId);
  return repository;
}

/** ECR sends timestamps as epoch seconds (with milliseconds as the fraction). */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}
