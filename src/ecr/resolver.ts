import type { Config } from '../config/types.ts';
import type { EcrLocation, ImageReference } from '../images/types.ts';
import { type Logger, silentLogger } from '../log.ts';
import { AnswerCache } from './cache.ts';
import { callSender, type SendCall } from './calls.ts';
import type { EcrClientSource } from './clients.ts';
import { combinePlatformScans, fetchScan, type ScanAnswer } from './findings.ts';
import {
  type DetailAnswer,
  type DetailFacts,
  type Failure,
  ImageReads,
  type IndexAnswer,
  type TagAnswer,
  unresolved,
} from './image-reads.ts';
import { isIndexMediaType } from './indexes.ts';
import { Lanes } from './lanes.ts';
import { TagMutability } from './mutability.ts';
import { PullThroughRules } from './pull-through.ts';
import {
  type CacheResult,
  DEFINITE_REASONS,
  type FailureReason,
  FINISHED_SCAN_STATUSES,
  type IndexFacts,
  type Lane,
  noopObserver,
  type PlatformFacts,
  repositoryKey,
  type Resolution,
  type ResolverObserver,
  type ScanFacts,
  TRANSIENT_REASONS,
} from './types.ts';

/**
 * Index manifests kept. An index is content-addressed, so its platform list never changes: it is
 * read once per digest (one BatchGetImage, which ECR counts as a pull) and kept for the process's
 * life, up to this many indexes, least recently used out first.
 */
const MAX_INDEXES = 20_000;
/** Answers kept per cache (tags, details, scans): a cluster runs a few thousand distinct images. */
const MAX_ANSWERS = 100_000;
/** An index manifest's answer, cached "forever" (bounded by MAX_INDEXES). */
const FOREVER_MS = 100 * 365 * 86_400_000;

type Answer = TagAnswer | DetailAnswer | ScanAnswer | IndexAnswer;

export interface ResolveOptions {
  /** `admission` for the webhook's lookups (their own share of concurrency, stale answers at once). */
  lane?: Lane;
  /** Also learn whether the reference's tag is immutable (JSON output, digestRequired.acceptImmutableTags). */
  tagMutability?: boolean;
}

export interface ResolverOptions {
  ecr: Config['ecr'];
  clients: EcrClientSource;
  observer?: ResolverObserver;
  log?: Logger;
  /** Milliseconds since the epoch; injected so tests control TTLs. */
  now?: () => number;
  /** The call path shared with the other readers of ECR (the lifecycle forecast); built here when absent. */
  calls?: { lanes: Lanes; send: SendCall };
}

/**
 * The one way ecr-warden learns about ECR images; the inventory, the webhook, `report` and `check` all
 * ask it. For every ask, in stages (tag → digest, digest → details, index → platform images, digest →
 * scan, and the tag's mutability beside them), it answers from cache when it can, joins a request
 * already in flight, or queues the image for the next batched call to its repository (batcher.ts,
 * describe.ts). Every call goes through one path (calls.ts) within its lane's share of concurrency
 * (lanes.ts). A known answer outlives its TTL by ecr.staleIfError while ECR fails, and the webhook gets
 * an expired answer at once while one refresh runs behind it.
 */
export class Resolver {
  readonly #ecr: Config['ecr'];
  readonly #log: Logger;
  readonly #observer: ResolverObserver;
  readonly lanes: Lanes;
  readonly #send: SendCall;

  readonly #tags: AnswerCache<TagAnswer>;
  readonly #details: AnswerCache<DetailAnswer>;
  readonly #scans: AnswerCache<ScanAnswer>;
  #generation = 0;
  readonly #indexes: AnswerCache<IndexAnswer>;
  readonly #inflight = new Map<string, Promise<Answer>>();
  readonly #reads: ImageReads;
  readonly #pullThrough: PullThroughRules;
  readonly #mutability: TagMutability;

  constructor(options: ResolverOptions) {
    this.#ecr = options.ecr;
    this.#observer = options.observer ?? noopObserver;
    this.#log = (options.log ?? silentLogger).child({ component: 'resolver' });
    const now = options.now ?? Date.now;
    this.lanes = options.calls?.lanes ?? new Lanes(options.ecr.maxConcurrency);
    this.#send = options.calls?.send ?? callSender(options.clients, this.lanes, this.#observer, this.#log);
    const cacheOptions = { maxEntries: MAX_ANSWERS, staleMs: options.ecr.staleIfError };
    this.#tags = new AnswerCache(now, cacheOptions);
    this.#details = new AnswerCache(now, cacheOptions);
    this.#scans = new AnswerCache(now, cacheOptions);
    this.#indexes = new AnswerCache(now, { maxEntries: MAX_INDEXES });
    this.#reads = new ImageReads(this.#send, this.#log);
    this.#pullThrough = new PullThroughRules({
      send: (lane, registry, send) => this.#send(lane, 'DescribePullThroughCacheRules', registry, send),
      now,
      ttlMs: options.ecr.refreshInterval,
      failureTtlMs: options.ecr.negativeTTL,
    });
    this.#mutability = new TagMutability({
      send: (lane, registry, send) => this.#send(lane, 'DescribeRepositories', registry, send),
      now,
      ttlMs: options.ecr.detailTTL,
      failureTtlMs: options.ecr.negativeTTL,
    });
  }

  /** Resolves ECR references; the result has one entry per input, in order. Never rejects. */
  resolve(refs: readonly ImageReference[], options: ResolveOptions = {}): Promise<Resolution[]> {
    return Promise.all(refs.map((ref) => this.resolveOne(ref, options)));
  }

  async resolveOne(ref: ImageReference, options: ResolveOptions = {}): Promise<Resolution> {
    const loc = ref.ecr;
    if (!loc) return unresolved('invalid_reference', `${ref.original} is not an Amazon ECR image`);
    const served: CacheResult[] = [];
    try {
      return await this.#resolveEcr(loc, ref, options.lane ?? 'bulk', served, options.tagMutability === true);
    } catch (err) {
      // Defensive: every stage returns failures as values, so this is a bug, not an ECR answer.
      this.#log.error({ err, image: ref.original }, 'resolver failed unexpectedly');
      return unresolved('error', `internal error resolving ${ref.original}`);
    } finally {
      this.#observer.cache(
        served.includes('stale')
          ? 'stale'
          : served.includes('miss')
            ? 'miss'
            : served.includes('coalesced')
              ? 'coalesced'
              : 'hit',
      );
    }
  }

  /**
   * Counts a lookup answered from what this cache gave a moment ago (the assessor's reused verdict)
   * as the cache hit it is, so cache_requests_total counts every image lookup.
   */
  recordHit(): void {
    this.#observer.cache('hit');
  }

  /** Counts clear() calls: what was derived from the cache before one is void (the assessor's verdicts). */
  get generation(): number {
    return this.#generation;
  }

  /** Drops every cached answer (tests, and a future "refresh now" endpoint). */
  clear(): void {
    this.#generation += 1;
    this.#tags.clear();
    this.#details.clear();
    this.#scans.clear();
    this.#indexes.clear();
    this.#pullThrough.clear();
    this.#mutability.clear();
  }

  async #resolveEcr(
    loc: EcrLocation,
    ref: ImageReference,
    lane: Lane,
    served: CacheResult[],
    wantMutability: boolean,
  ): Promise<Resolution> {
    const repoKey = repositoryKey(loc, loc.repository);
    // Asked beside the lookups, not after them: a webhook's answer waits for the slower of the two.
    const tagImmutable =
      wantMutability && ref.tag !== null
        ? this.#mutability.isImmutable(lane, loc, loc.repository, ref.tag)
        : Promise.resolve(null);
    let digest = ref.digest;
    let detail: DetailFacts | undefined;

    // Stage 1: tag → digest. A reference with a digest is pulled by digest (the runtime ignores the tag).
    if (!digest) {
      const tag = ref.tag ?? 'latest';
      const key = tagKey(repoKey, tag);
      const answer = await this.#ask(
        key,
        this.#tags,
        lane,
        served,
        (l) => this.#reads.tag(l, loc, tag, this.#ecr.resolveWith),
        (found) => {
          // Keep the tag entry small; the detail it came with goes to the detail cache.
          this.#tags.set(key, { ok: true, digest: found.digest }, this.#ecr.tagTTL, true);
          if (found.detail) {
            this.#details.set(
              detailKey(repoKey, found.digest),
              { ok: true, detail: found.detail },
              this.#ecr.detailTTL,
              true,
            );
          }
        },
      );
      if (!answer.ok) return this.#unresolvedTag(lane, loc, tag, answer);
      digest = answer.digest;
      detail = answer.detail;
    }

    // Stage 2: digest → details (push time, pull time, size, status, manifest type).
    if (!detail) {
      const key = detailKey(repoKey, digest);
      const d = digest;
      const answer = await this.#ask(
        key,
        this.#details,
        lane,
        served,
        (l) => this.#reads.detail(l, loc, d),
        (found) => this.#details.set(key, { ok: true, detail: found.detail }, this.#ecr.detailTTL, true),
      );
      if (!answer.ok) return unresolved(answer.reason, answer.message);
      detail = answer.detail;
    }

    // Stage 3: scan facts. An index has none of its own: they are its platform images'.
    let scan: ScanFacts | null = null;
    let scanError: FailureReason | null = null;
    let index: IndexFacts | null = null;
    if (isIndexMediaType(detail.manifestMediaType)) {
      ({ scan, scanError, index } = await this.#indexScan(lane, loc, repoKey, digest, served));
    } else if (detail.scan) {
      scan = detail.scan;
    } else {
      const answer = await this.#scanOf(lane, loc, repoKey, digest, served);
      if (answer.ok) scan = answer.scan;
      else scanError = answer.reason;
    }
    return resolvedOf(loc, digest, detail, { scan, scanError, index }, await tagImmutable);
  }

  /**
   * The resolution resolveOne would give, from answers within their TTL alone: no ECR call, no wait.
   * Undefined when any stage the image needs is not fresh in the cache (a miss, a stale answer, a
   * failure that is not cached): then resolveOne asks. A webhook sees the same images review after
   * review; this spares the warm path the promises and timers of the full one.
   */
  resolveCached(ref: ImageReference, options: ResolveOptions = {}): Resolution | undefined {
    const loc = ref.ecr;
    if (!loc) return undefined;
    const repoKey = repositoryKey(loc, loc.repository);
    let tagImmutable: boolean | null = null;
    if (options.tagMutability === true && ref.tag !== null) {
      const known = this.#mutability.immutableCached(loc, loc.repository, ref.tag);
      if (known === undefined) return undefined;
      tagImmutable = known;
    }
    let digest = ref.digest;
    if (!digest) {
      const tag = fresh(this.#tags, tagKey(repoKey, ref.tag ?? 'latest'));
      if (!tag?.ok) return undefined;
      digest = tag.digest;
    }
    const detail = fresh(this.#details, detailKey(repoKey, digest));
    if (!detail?.ok) return undefined;
    const scans = this.#scansCached(repoKey, digest, detail.detail);
    if (!scans) return undefined;
    this.#observer.cache('hit');
    return resolvedOf(loc, digest, detail.detail, scans, tagImmutable);
  }

  /** Stage 3 of resolveCached: the image's scan, or its platforms' for an index, from fresh answers. */
  #scansCached(
    repoKey: string,
    digest: string,
    detail: DetailFacts,
  ): { scan: ScanFacts | null; scanError: FailureReason | null; index: IndexFacts | null } | undefined {
    const scanOf = (d: string): { scan: ScanFacts | null; scanError: FailureReason | null } | undefined => {
      const answer = fresh(this.#scans, scanKey(repoKey, d));
      if (!answer) return undefined;
      return answer.ok ? { scan: answer.scan, scanError: null } : { scan: null, scanError: answer.reason };
    };
    if (!isIndexMediaType(detail.manifestMediaType)) {
      if (detail.scan) return { scan: detail.scan, scanError: null, index: null };
      const own = scanOf(digest);
      return own && { ...own, index: null };
    }
    if (!this.#ecr.followIndexes)
      return { scan: null, scanError: null, index: { platforms: null, error: null } };
    const manifest = fresh(this.#indexes, indexKey(repoKey, digest));
    if (!manifest) return undefined;
    if (!manifest.ok)
      return { scan: null, scanError: manifest.reason, index: { platforms: null, error: manifest.reason } };
    const platforms: PlatformFacts[] = [];
    for (const { platform, digest: platformDigest } of manifest.platforms) {
      const answer = scanOf(platformDigest);
      if (!answer) return undefined;
      platforms.push({ platform, digest: platformDigest, ...answer });
    }
    return { ...combinePlatformScans(platforms), index: { platforms, error: null } };
  }

  /**
   * An index's platform images and their scans (SPEC section 4). With ecr.followIndexes off, or when
   * the index manifest cannot be read, its findings are unknown.
   */
  async #indexScan(
    lane: Lane,
    loc: EcrLocation,
    repoKey: string,
    digest: string,
    served: CacheResult[],
  ): Promise<{ scan: ScanFacts | null; scanError: FailureReason | null; index: IndexFacts }> {
    if (!this.#ecr.followIndexes)
      return { scan: null, scanError: null, index: { platforms: null, error: null } };
    const key = indexKey(repoKey, digest);
    const manifest = await this.#ask(
      key,
      this.#indexes,
      lane,
      served,
      (l) => this.#reads.index(l, loc, digest),
      (found) => this.#indexes.set(key, found, FOREVER_MS, false),
    );
    if (!manifest.ok) {
      return { scan: null, scanError: manifest.reason, index: { platforms: null, error: manifest.reason } };
    }
    const platforms = await Promise.all(
      manifest.platforms.map(async ({ platform, digest: platformDigest }): Promise<PlatformFacts> => {
        const answer = await this.#scanOf(lane, loc, repoKey, platformDigest, served);
        return answer.ok
          ? { platform, digest: platformDigest, scan: answer.scan, scanError: null }
          : { platform, digest: platformDigest, scan: null, scanError: answer.reason };
      }),
    );
    return { ...combinePlatformScans(platforms), index: { platforms, error: null } };
  }

  /** One digest's scan from DescribeImageScanFindings. An unfinished scan is kept no longer than negativeTTL. */
  #scanOf(
    lane: Lane,
    loc: EcrLocation,
    repoKey: string,
    digest: string,
    served: CacheResult[],
  ): Promise<ScanAnswer> {
    const key = scanKey(repoKey, digest);
    return this.#ask(
      key,
      this.#scans,
      lane,
      served,
      (l) =>
        fetchScan({ registryId: loc.registryId, repository: loc.repository, digest }, (send) =>
          this.#send(l, 'DescribeImageScanFindings', loc, send),
        ),
      (found) =>
        this.#scans.set(
          key,
          found,
          FINISHED_SCAN_STATUSES.has(found.scan.status)
            ? this.#ecr.detailTTL
            : Math.min(this.#ecr.negativeTTL, this.#ecr.detailTTL),
          true,
        ),
    );
  }

  /**
   * Cache, then a request in flight, then a new request; records how the ask was served. `keep` stores
   * a successful answer; definite failures (and DNS failures) are cached for negativeTTL and transient
   * ones not at all, so the next ask tries again.
   *
   * Past its TTL a known answer is still at hand for ecr.staleIfError: the webhook (admission lane)
   * gets it at once while one refresh runs behind it in the bulk lane; anyone else asks ECR, and gets
   * the known answer when ECR fails transiently (throttled, timeout, 5xx), never a blank.
   */
  async #ask<A extends Answer>(
    key: string,
    cache: AnswerCache<A>,
    lane: Lane,
    served: CacheResult[],
    fetch: (lane: Lane) => Promise<A>,
    keep: (answer: A & { ok: true }) => void,
  ): Promise<A> {
    const cached = cache.get(key);
    if (cached?.fresh) {
      served.push('hit');
      return cached.value;
    }
    const known = cached && cached.value.ok ? cached.value : undefined;
    if (known && lane === 'admission') {
      served.push('stale');
      void this.#request(key, cache, 'bulk', fetch, keep);
      return known;
    }
    const { answer, joined } = this.#request(key, cache, lane, fetch, keep);
    served.push(joined ? 'coalesced' : 'miss');
    const result = await answer;
    if (!result.ok && known && TRANSIENT_REASONS.has(result.reason)) {
      served.push('stale');
      return known;
    }
    return result;
  }

  #request<A extends Answer>(
    key: string,
    cache: AnswerCache<A>,
    lane: Lane,
    fetch: (lane: Lane) => Promise<A>,
    keep: (answer: A & { ok: true }) => void,
  ): { answer: Promise<A>; joined: boolean } {
    // A webhook lookup must not wait on a bulk request that may be queued behind a whole refresh; a
    // bulk ask may well join a webhook lookup, which is never queued for long.
    const flightKey = `${lane}|${key}`;
    const inflight = (this.#inflight.get(`admission|${key}`) ?? this.#inflight.get(flightKey)) as
      Promise<A> | undefined;
    if (inflight) return { answer: inflight, joined: true };
    const answer = fetch(lane).then((found) => {
      if (found.ok) keep(found as A & { ok: true });
      else if (DEFINITE_REASONS.has(found.reason) || found.dns)
        cache.set(key, found, this.#ecr.negativeTTL, false);
      return found;
    });
    this.#inflight.set(flightKey, answer);
    void answer.finally(() => this.#inflight.delete(flightKey));
    return { answer, joined: false };
  }

  /** A tag ECR does not have: under a pull-through cache rule, it is simply not pulled yet. */
  async #unresolvedTag(lane: Lane, loc: EcrLocation, tag: string, failure: Failure): Promise<Resolution> {
    if (failure.reason === 'not_found' || failure.reason === 'repository_not_found') {
      if (await this.#pullThrough.covers(lane, loc, loc.repository)) {
        return unresolved(
          'not_cached',
          `${loc.repository}:${tag} is not in the pull-through cache yet; the first pull fetches it from the upstream registry`,
        );
      }
    }
    return unresolved(failure.reason, failure.message);
  }
}

function tagKey(repoKey: string, tag: string): string {
  return `tag:${repoKey}:${tag}`;
}

function detailKey(repoKey: string, digest: string): string {
  return `digest:${repoKey}@${digest}`;
}

function scanKey(repoKey: string, digest: string): string {
  return `scan:${repoKey}@${digest}`;
}

function indexKey(repoKey: string, digest: string): string {
  return `index:${repoKey}@${digest}`;
}

/** A cached answer while within its TTL; undefined when absent or past it. */
function fresh<A>(cache: AnswerCache<A>, key: string): A | undefined {
  const cached = cache.get(key);
  return cached?.fresh ? cached.value : undefined;
}

function resolvedOf(
  loc: EcrLocation,
  digest: string,
  detail: DetailFacts,
  scans: { scan: ScanFacts | null; scanError: FailureReason | null; index: IndexFacts | null },
  tagImmutable: boolean | null,
): Resolution {
  return {
    status: 'resolved',
    facts: {
      registryId: loc.registryId,
      region: loc.region,
      repository: loc.repository,
      digest,
      ...detail,
      ...scans,
      tagImmutable,
    },
  };
}
