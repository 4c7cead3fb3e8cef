import {
  DescribePullThroughCacheRulesCommand,
  type DescribePullThroughCacheRulesResponse,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { BoundedMap } from '../util/lru.ts';
import type { CallOutcome, RegistryRef } from './calls.ts';
import type { Lane } from './types.ts';

/** Pages read per registry; a registry holds at most a few dozen rules (service quota: 50). */
const MAX_PAGES = 10;
/** Registries whose rules are kept at once. */
const MAX_REGISTRIES = 1000;

export type RulesSend = (
  lane: Lane,
  registry: RegistryRef,
  send: (client: ECRClient) => Promise<DescribePullThroughCacheRulesResponse>,
) => Promise<CallOutcome<DescribePullThroughCacheRulesResponse>>;

/**
 * Whether a repository name falls under a pull-through cache rule's `ecrRepositoryPrefix`: the
 * prefix is the first path segments of the repositories the rule creates (`docker-hub` covers
 * `docker-hub/library/nginx`); `ROOT` covers every repository of the registry.
 * (ECR User Guide, "Creating a pull through cache rule"; the prefix pattern in the service model.)
 */
export function coveredByPrefix(repository: string, prefixes: readonly string[]): boolean {
  return prefixes.some((raw) => {
    if (raw === 'ROOT') return true;
    const prefix = raw.endsWith('/') ? raw.slice(0, -1) : raw;
    return repository === prefix || repository.startsWith(`${prefix}/`);
  });
}

/**
 * Each registry's pull-through cache rules, read with DescribePullThroughCacheRules once per
 * `ttlMs` (ecr.refreshInterval) and only for registries where an image turned out missing: a
 * repository under a rule's prefix that does not exist yet is created, with the tag, by the first
 * pull (SPEC section 4, "Pull-through cache"). Rules that cannot be read (no permission, throttled)
 * count as none for `failureTtlMs`, so the image keeps its own reason.
 */
export class PullThroughRules {
  readonly #send: RulesSend;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #failureTtlMs: number;
  readonly #rules = new BoundedMap<string, { prefixes: string[]; until: number }>(MAX_REGISTRIES);
  readonly #inflight = new Map<string, Promise<string[]>>();

  constructor(options: { send: RulesSend; now: () => number; ttlMs: number; failureTtlMs: number }) {
    this.#send = options.send;
    this.#now = options.now;
    this.#ttlMs = options.ttlMs;
    this.#failureTtlMs = options.failureTtlMs;
  }

  /** Whether `repository` of this registry is served through a pull-through cache rule. */
  async covers(lane: Lane, registry: RegistryRef, repository: string): Promise<boolean> {
    return coveredByPrefix(repository, await this.#prefixes(lane, registry));
  }

  clear(): void {
    this.#rules.clear();
  }

  async #prefixes(lane: Lane, registry: RegistryRef): Promise<string[]> {
    const key = `${registry.registryId}/${registry.region}`;
    const cached = this.#rules.get(key);
    if (cached && this.#now() < cached.until) return cached.prefixes;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#read(lane, registry).then((read) => {
        this.#rules.set(key, {
          prefixes: read.prefixes,
          until: this.#now() + (read.ok ? this.#ttlMs : this.#failureTtlMs),
        });
        return read.prefixes;
      });
      this.#inflight.set(key, pending);
      void pending.finally(() => this.#inflight.delete(key));
    }
    return pending;
  }

  async #read(lane: Lane, registry: RegistryRef): Promise<{ ok: boolean; prefixes: string[] }> {
    const prefixes: string[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const token = nextToken;
      const outcome = await this.#send(lane, registry, (client) =>
        client.send(
          new DescribePullThroughCacheRulesCommand({
            registryId: registry.registryId,
            maxResults: 1000,
            ...(token ? { nextToken: token } : {}),
          }),
        ),
      );
      if (!outcome.ok) return { ok: false, prefixes: [] };
      for (const rule of outcome.value.pullThroughCacheRules ?? []) {
        if (rule.ecrRepositoryPrefix) prefixes.push(rule.ecrRepositoryPrefix);
      }
      nextToken = outcome.value.nextToken;
      if (!nextToken) break;
    }
    return { ok: true, prefixes };
  }
}
