import { accessDenied, invalidParameter, repositoryNotFound } from '../errors.ts';
import { decodePageToken, encodePageToken, pageOf } from '../page-token.ts';
import {
  type Body,
  checkListLength,
  checkMaxResults,
  checkRepositoryName,
  DEFAULT_PAGE_SIZE,
  optionalInteger,
  optionalString,
  optionalStringList,
  registryIdOf,
} from '../params.ts';
import type { StoredRepository } from '../store.ts';
import { callerArn, epochSeconds, type OperationContext, repositoryArn } from './context.ts';

const MAX_NAMES = 100;

/**
 * Repository. `imageTagMutabilityExclusionFilters` appears only with the two _WITH_EXCLUSION settings,
 * the only ones that take filters. `imageScanningConfiguration.scanOnPush` is the repository-level
 * setting, which registry-level scanning configuration supersedes; repositories here leave it false.
 */
function repositoryShape(repository: StoredRepository): Record<string, unknown> {
  const shape: Record<string, unknown> = {
    repositoryArn: repositoryArn(repository.region, repository.registryId, repository.name),
    registryId: repository.registryId,
    repositoryName: repository.name,
    repositoryUri: `${repository.registryId}.dkr.ecr.${repository.region}.amazonaws.com/${repository.name}`,
    createdAt: epochSeconds(repository.createdAt),
    imageTagMutability: repository.imageTagMutability,
  };
  if (repository.imageTagMutabilityExclusionFilters.length > 0) {
    shape.imageTagMutabilityExclusionFilters = repository.imageTagMutabilityExclusionFilters.map((f) => ({
      filterType: f.filterType,
      filter: f.filter,
    }));
  }
  shape.imageScanningConfiguration = { scanOnPush: false };
  shape.encryptionConfiguration = { encryptionType: 'AES256' };
  return shape;
}

/**
 * DescribeRepositories: by name (every name must exist) or a paginated listing of the registry in the
 * signing region. A registry with nothing in that region lists as empty; repositories the caller may
 * not read are left out of listings and denied when named.
 */
export function describeRepositories(body: Body, ctx: OperationContext): unknown {
  const registryId = registryIdOf(body, ctx.store.callerAccount);
  const names = optionalStringList(body, 'repositoryNames');
  const maxResults = optionalInteger(body, 'maxResults');
  const nextToken = optionalString(body, 'nextToken');
  checkListLength(names, 'repositoryNames', MAX_NAMES);
  checkMaxResults(maxResults);
  if (names !== undefined && maxResults !== undefined) {
    throw invalidParameter('maxResults', 'maxResults cannot be used when repositoryNames are specified');
  }
  names?.forEach((name) => {
    checkRepositoryName(name, 'repositoryNames');
  });
  const registry = ctx.store.registry(registryId, ctx.region);
  if (ctx.store.isDenied(registryId, ctx.region)) {
    throw accessDenied(
      callerArn(ctx.store),
      'DescribeRepositories',
      repositoryArn(ctx.region, registryId, '*'),
    );
  }

  if (names !== undefined) {
    const repositories = names.map((name) => {
      const repository = registry?.repositories.get(name);
      if (ctx.store.isDenied(registryId, ctx.region, name)) {
        throw accessDenied(
          callerArn(ctx.store),
          'DescribeRepositories',
          repositoryArn(ctx.region, registryId, name),
        );
      }
      if (!repository) throw repositoryNotFound(name, registryId);
      return repositoryShape(repository);
    });
    return { repositories };
  }

  const scope = `repositories:${registryId}/${ctx.region}`;
  const { page, next } = pageOf(
    registry?.order ?? [],
    decodePageToken(nextToken, scope),
    maxResults ?? DEFAULT_PAGE_SIZE,
    (repository) => !ctx.store.isDenied(registryId, ctx.region, repository.name),
  );
  const response: Record<string, unknown> = { repositories: page.map(repositoryShape) };
  if (next !== undefined) response.nextToken = encodePageToken(scope, next);
  return response;
}
