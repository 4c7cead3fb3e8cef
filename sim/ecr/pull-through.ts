import type { SimPullThroughCacheRule, UpstreamRegistry } from './types.ts';

/**
 * Pull through cache rules as ECR applies them (user guide, "Sync an upstream registry with an Amazon
 * ECR private registry" and "Customizing repository prefixes for ECR to ECR pull through cache"):
 * - a prefix always has an assumed `/` at its end: `docker-hub` covers `docker-hub/library/nginx`;
 * - `ROOT` covers every repository no other rule covers;
 * - the upstream name is the repository name without the cache prefix, under the upstream prefix
 *   when one is set (only allowed with a non-ROOT cache prefix): `my-app/image1` → `upstream-app/image1`.
 */

/** PullThroughCacheRuleRepositoryPrefix in the service model (2–30 characters). */
export const RULE_PREFIX =
  /^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$/;
const MAX_PREFIX = 30;

export const ROOT = 'ROOT';

/** A rule as stored: prefixes without their trailing `/`, the upstream registry named. */
export interface StoredRule {
  readonly ecrRepositoryPrefix: string;
  readonly upstreamRegistryUrl: string;
  readonly upstreamRegistry: UpstreamRegistry;
  readonly upstreamRepositoryPrefix: string;
  readonly credentialArn: string | undefined;
  readonly customRoleArn: string | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date | undefined;
}

/** The UpstreamRegistry a URL belongs to, as CreatePullThroughCacheRule records it. */
export function upstreamRegistryOf(url: string): UpstreamRegistry | undefined {
  const host = url.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'registry-1.docker.io' || host === 'docker.io') return 'docker-hub';
  if (host === 'public.ecr.aws') return 'ecr-public';
  if (host === 'quay.io') return 'quay';
  if (host === 'registry.k8s.io') return 'k8s';
  if (host === 'ghcr.io') return 'github-container-registry';
  if (host.endsWith('.azurecr.io')) return 'azure-container-registry';
  if (host === 'registry.gitlab.com') return 'gitlab-container-registry';
  if (host === 'cgr.dev') return 'chainguard';
  if (/^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(host)) return 'ecr';
  return undefined;
}

function trimSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** The rule a scenario declares, checked against the model's constraints; a string says what is wrong. */
export function storedRule(rule: SimPullThroughCacheRule, now: Date): StoredRule | string {
  const prefix = rule.ecrRepositoryPrefix;
  if (prefix.length < 2 || prefix.length > MAX_PREFIX || !RULE_PREFIX.test(prefix)) {
    return `ecrRepositoryPrefix ${JSON.stringify(prefix)} is not a prefix ECR accepts`;
  }
  const upstreamPrefix = rule.upstreamRepositoryPrefix ?? ROOT;
  if (upstreamPrefix.length < 2 || upstreamPrefix.length > MAX_PREFIX || !RULE_PREFIX.test(upstreamPrefix)) {
    return `upstreamRepositoryPrefix ${JSON.stringify(upstreamPrefix)} is not a prefix ECR accepts`;
  }
  if (prefix === ROOT && upstreamPrefix !== ROOT) {
    return 'an upstreamRepositoryPrefix can only be set with a non-ROOT ecrRepositoryPrefix';
  }
  const upstreamRegistry = rule.upstreamRegistry ?? upstreamRegistryOf(rule.upstreamRegistryUrl);
  if (!upstreamRegistry) return `no upstream registry ECR supports at ${rule.upstreamRegistryUrl}`;
  return {
    ecrRepositoryPrefix: trimSlash(prefix),
    upstreamRegistryUrl: rule.upstreamRegistryUrl,
    upstreamRegistry,
    upstreamRepositoryPrefix: trimSlash(upstreamPrefix),
    credentialArn: rule.credentialArn,
    customRoleArn: rule.customRoleArn,
    createdAt: rule.createdAt ?? now,
    updatedAt: rule.updatedAt,
  };
}

/** The rule that covers a repository name: the longest matching prefix, else ROOT, else none. */
export function ruleFor(rules: readonly StoredRule[], repository: string): StoredRule | undefined {
  let best: StoredRule | undefined;
  for (const rule of rules) {
    if (rule.ecrRepositoryPrefix === ROOT) continue;
    if (!repository.startsWith(`${rule.ecrRepositoryPrefix}/`)) continue;
    if (!best || rule.ecrRepositoryPrefix.length > best.ecrRepositoryPrefix.length) best = rule;
  }
  return best ?? rules.find((rule) => rule.ecrRepositoryPrefix === ROOT);
}

/** The upstream repository a cache repository stands for under `rule`. */
export function upstreamName(rule: StoredRule, repository: string): string {
  const rest =
    rule.ecrRepositoryPrefix === ROOT ? repository : repository.slice(rule.ecrRepositoryPrefix.length + 1);
  return rule.upstreamRepositoryPrefix === ROOT ? rest : `${rule.upstreamRepositoryPrefix}/${rest}`;
}
