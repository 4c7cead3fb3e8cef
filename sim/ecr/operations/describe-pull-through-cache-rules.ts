import { accessDenied, invalidParameter, pullThroughCacheRuleNotFound } from '../errors.ts';
import { decodePageToken, encodePageToken, pageOf } from '../page-token.ts';
import {
  type Body,
  checkListLength,
  checkMaxResults,
  DEFAULT_PAGE_SIZE,
  optionalInteger,
  optionalString,
  optionalStringList,
  registryIdOf,
} from '../params.ts';
import { RULE_PREFIX, type StoredRule } from '../pull-through.ts';
import { callerArn, epochSeconds, type OperationContext } from './context.ts';

/** PullThroughCacheRuleRepositoryPrefixList holds 1–100 prefixes (service model). */
const MAX_PREFIXES = 100;

/** PullThroughCacheRule, with the optional members only when the rule has them. */
function ruleShape(registryId: string, rule: StoredRule): Record<string, unknown> {
  const shape: Record<string, unknown> = {
    ecrRepositoryPrefix: rule.ecrRepositoryPrefix,
    upstreamRegistryUrl: rule.upstreamRegistryUrl,
    createdAt: epochSeconds(rule.createdAt),
    registryId,
  };
  if (rule.credentialArn) shape.credentialArn = rule.credentialArn;
  if (rule.customRoleArn) shape.customRoleArn = rule.customRoleArn;
  shape.upstreamRepositoryPrefix = rule.upstreamRepositoryPrefix;
  shape.upstreamRegistry = rule.upstreamRegistry;
  if (rule.updatedAt) shape.updatedAt = epochSeconds(rule.updatedAt);
  return shape;
}

/**
 * DescribePullThroughCacheRules: the rules of the registry in the signing region, in creation order,
 * 100 to a page unless maxResults (1–1000) says otherwise; `ecrRepositoryPrefixes` narrows the answer
 * to those prefixes (a trailing `/` ignored, as ECR treats every prefix as ending in one), and a named
 * prefix with no rule fails the call with PullThroughCacheRuleNotFoundException. Unlike
 * DescribeRepositories' names, the model does not forbid maxResults with prefixes, so both combine.
 */
export function describePullThroughCacheRules(body: Body, ctx: OperationContext): unknown {
  const registryId = registryIdOf(body, ctx.store.callerAccount);
  const prefixes = optionalStringList(body, 'ecrRepositoryPrefixes');
  const maxResults = optionalInteger(body, 'maxResults');
  const nextToken = optionalString(body, 'nextToken');
  checkListLength(prefixes, 'ecrRepositoryPrefixes', MAX_PREFIXES);
  checkMaxResults(maxResults);
  for (const prefix of prefixes ?? []) {
    if (prefix.length < 2 || prefix.length > 30 || !RULE_PREFIX.test(prefix)) {
      throw invalidParameter(
        'ecrRepositoryPrefixes',
        'Member must satisfy regular expression pattern: ^([a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*\\/?|ROOT)$',
      );
    }
  }
  if (ctx.store.isDenied(registryId, ctx.region)) {
    throw accessDenied(
      callerArn(ctx.store),
      'DescribePullThroughCacheRules',
      `arn:aws:ecr:${ctx.region}:${registryId}:registry/*`,
    );
  }
  const rules = ctx.store.registry(registryId, ctx.region)?.rules ?? [];
  let selected: readonly StoredRule[] = rules;
  if (prefixes !== undefined) {
    const wanted = new Set(prefixes.map((p) => (p.endsWith('/') ? p.slice(0, -1) : p)));
    for (const prefix of wanted) {
      if (!rules.some((rule) => rule.ecrRepositoryPrefix === prefix)) {
        throw pullThroughCacheRuleNotFound(prefix, registryId);
      }
    }
    selected = rules.filter((rule) => wanted.has(rule.ecrRepositoryPrefix));
  }
  const scope = `pull-through-cache-rules:${registryId}/${ctx.region}/${[...(prefixes ?? [])].join(',')}`;
  const { page, next } = pageOf(
    selected,
    decodePageToken(nextToken, scope),
    maxResults ?? DEFAULT_PAGE_SIZE,
    () => true,
  );
  const response: Record<string, unknown> = {
    pullThroughCacheRules: page.map((rule) => ruleShape(registryId, rule)),
  };
  if (next !== undefined) response.nextToken = encodePageToken(scope, next);
  return response;
}
