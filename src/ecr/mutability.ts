import {
  DescribeRepositoriesCommand,
  type DescribeRepositoriesResponse,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { AnswerCache } from './cache.ts';
import { Batcher, type BatchItem } from './batcher.ts';
import type { CallOutcome, RegistryRef } from './calls.ts';
import { type Lane, repositoryKey } from './types.ts';

/** A repository's tag mutability setting, as DescribeRepositories gives it. */
export interface MutabilitySetting {
  mutability: 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION' | string;
  /** `imageTagMutabilityExclusionFilters[].filter` of type WILDCARD. */
  exclusions: string[];
}

/** ECR takes at most 100 repository names per DescribeRepositories call. */
const MAX_NAMES_PER_CALL = 100;

/** `*` matches any run of characters (none included); everything else stands for itself; the whole tag must match. */
function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(tag);
}

/**
 * Whether ECR refuses to move `tag` in a repository with this setting (API reference, Repository and
 * ImageTagMutabilityExclusionFilter; the user guide's "Preventing image tags from being overwritten"):
 * IMMUTABLE: every tag; MUTABLE: none; IMMUTABLE_WITH_EXCLUSION: every tag but those an exclusion
 * filter matches; MUTABLE_WITH_EXCLUSION: only the tags an exclusion filter matches. Filters are
 * wildcards on the whole tag (`release-*`). null for a setting this version does not know.
 */
export function isTagImmutable(setting: MutabilitySetting, tag: string): boolean | null {
  const excluded = setting.exclusions.some((filter) => wildcardMatches(filter, tag));
  switch (setting.mutability) {
    case 'IMMUTABLE':
      return true;
    case 'MUTABLE':
      return false;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return null;
  }
}

export type RepositoriesSend = (
  lane: Lane,
  registry: RegistryRef,
  send: (client: ECRClient) => Promise<DescribeRepositoriesResponse>,
) => Promise<CallOutcome<DescribeRepositoriesResponse>>;

type SettingAnswer = MutabilitySetting | null;
interface Group {
  lane: Lane;
  registry: RegistryRef;
}

/**
 * Repositories' tag mutability, read with DescribeRepositories: the names asked in one turn of the
 * event loop go together, up to 100 a call per registry, and each answer is cached for `ttlMs`
 * (ecr.detailTTL). A name the call cannot answer (the repository is gone, access denied) reads as
 * unknown; DescribeRepositories fails a whole call with RepositoryNotFoundException when one name is
 * missing, so such a call is split in halves until the missing name is alone.
 */
export class TagMutability {
  readonly #send: RepositoriesSend;
  readonly #ttlMs: number;
  readonly #failureTtlMs: number;
  readonly #cache: AnswerCache<SettingAnswer>;
  readonly #inflight = new Map<string, Promise<SettingAnswer>>();
  readonly #batcher: Batcher<Group, string, SettingAnswer>;

  constructor(options: { send: RepositoriesSend; now: () => number; ttlMs: number; failureTtlMs: number }) {
    this.#send = options.send;
    this.#ttlMs = options.ttlMs;
    this.#failureTtlMs = options.failureTtlMs;
    this.#cache = new AnswerCache(options.now, { maxEntries: 50_000 });
    this.#batcher = new Batcher<Group, string, SettingAnswer>({
      chunkSize: MAX_NAMES_PER_CALL,
      send: (group, items) => this.#describe(group, items),
      onLost: () => null,
    });
  }

  /** Whether ECR keeps `tag` of this repository immutable; null when that cannot be known now. */
  async isImmutable(
    lane: Lane,
    registry: RegistryRef,
    repository: string,
    tag: string,
  ): Promise<boolean | null> {
    const setting = await this.setting(lane, registry, repository);
    return setting ? isTagImmutable(setting, tag) : null;
  }

  /** isImmutable from an answer within its TTL, at once; undefined when there is none (then ask). */
  immutableCached(registry: RegistryRef, repository: string, tag: string): boolean | null | undefined {
    const cached = this.#cache.get(repositoryKey(registry, repository));
    if (!cached?.fresh) return undefined;
    return cached.value ? isTagImmutable(cached.value, tag) : null;
  }

  async setting(lane: Lane, registry: RegistryRef, repository: string): Promise<SettingAnswer> {
    const key = repositoryKey(registry, repository);
    const cached = this.#cache.get(key);
    if (cached?.fresh) return cached.value;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#batcher
        .ask(`${lane}|${registry.registryId}|${registry.region}`, { lane, registry }, repository)
        .then((answer) => {
          this.#cache.set(key, answer, answer ? this.#ttlMs : this.#failureTtlMs, false);
          return answer;
        });
      this.#inflight.set(key, pending);
      void pending.finally(() => this.#inflight.delete(key));
    }
    return pending;
  }

  clear(): void {
    this.#cache.clear();
  }

  async #describe(group: Group, items: readonly BatchItem<string, SettingAnswer>[]): Promise<void> {
    const outcome = await this.#send(group.lane, group.registry, (client) =>
      client.send(
        new DescribeRepositoriesCommand({
          registryId: group.registry.registryId,
          repositoryNames: items.map((item) => item.id),
        }),
      ),
    );
    if (outcome.ok) {
      const byName = new Map((outcome.value.repositories ?? []).map((r) => [r.repositoryName, r]));
      for (const item of items) {
        const repository = byName.get(item.id);
        item.settle(
          repository?.imageTagMutability
            ? {
                mutability: repository.imageTagMutability,
                exclusions: (repository.imageTagMutabilityExclusionFilters ?? [])
                  .filter((f) => f.filterType === 'WILDCARD' && f.filter)
                  .map((f) => f.filter!),
              }
            : null,
        );
      }
      return;
    }
    if (outcome.reason === 'repository_not_found' && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      await Promise.all([
        this.#describe(group, items.slice(0, half)),
        this.#describe(group, items.slice(half)),
      ]);
      return;
    }
    for (const item of items) item.settle(null);
  }
}
