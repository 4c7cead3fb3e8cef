import { wildcardMatches } from './wildcard.ts';
import type { TagMutability, TagMutabilityExclusionFilter } from './types.ts';

/** ImageTagMutabilityExclusionFilterValue in the service model. */
const FILTER_VALUE = /^[0-9a-zA-Z._*-]{1,128}$/;
/** ImageTagMutabilityExclusionFilters holds 1–5 filters (service model). */
const MAX_FILTERS = 5;

/**
 * Whether a tag is immutable in a repository. IMMUTABLE_WITH_EXCLUSION makes every tag immutable but
 * those an exclusion filter matches; MUTABLE_WITH_EXCLUSION makes only the matched ones immutable
 * (ECR user guide, "Preventing image tags from being overwritten"; the CDK's TagMutability docs).
 */
export function tagIsImmutable(
  mutability: TagMutability,
  filters: readonly TagMutabilityExclusionFilter[],
  tag: string,
): boolean {
  const excluded = filters.some((f) => wildcardMatches(f.filter, tag));
  switch (mutability) {
    case 'MUTABLE':
      return false;
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
  }
}

/** Why a mutability setting and its filters are not a combination ECR accepts, or undefined. */
export function mutabilityProblem(
  mutability: string,
  filters: readonly TagMutabilityExclusionFilter[] | undefined,
): string | undefined {
  const withExclusion = mutability === 'IMMUTABLE_WITH_EXCLUSION' || mutability === 'MUTABLE_WITH_EXCLUSION';
  if (!withExclusion && mutability !== 'MUTABLE' && mutability !== 'IMMUTABLE') {
    return `imageTagMutability ${JSON.stringify(mutability)} is not one of MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION`;
  }
  if (!withExclusion) {
    return filters && filters.length > 0 ? `${mutability} takes no exclusion filters` : undefined;
  }
  if (!filters || filters.length < 1 || filters.length > MAX_FILTERS) {
    return `${mutability} needs 1 to ${MAX_FILTERS} exclusion filters`;
  }
  const bad = filters.find((f) => f.filterType !== 'WILDCARD' || !FILTER_VALUE.test(f.filter));
  return bad
    ? `exclusion filter ${JSON.stringify(bad)} is not a WILDCARD of [0-9a-zA-Z._*-]{1,128}`
    : undefined;
}
