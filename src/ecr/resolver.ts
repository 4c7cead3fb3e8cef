import {
  BatchGetImageCommand,
  type BatchGetImageResponse,
  DescribeImagesCommand,
  type ImageDetail,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import type { Config } from '../config/types.ts';
import type { EcrLocation, ImageReference } from '../images/types.ts';
import { type Logger, silentLogger } from '../log.ts';
import { Batcher, type BatchItem } from './batcher.ts';
import { AnswerCache } from './cache.ts';
import { callSender, type SendCall } from './calls.ts';
import type { EcrClientSource } from './clients.ts';
import { describeIds, type IdAnswer } from './describe.ts';
import { combinePlatformScans, fetchScan, type ScanAnswer } from './findings.ts';
import { ACCEPTED_MEDIA_TYPES, type IndexEntry, isIndexMediaType, parseIndexManifest } from './indexes.ts';
import { Lanes } from './lanes.ts';
import { TagMutability } from './mutability.ts';
import { PullThroughRules } from './pull-through.ts';
import { scanFactsFromDetail } from './scan.ts';
import {
  type CacheResult,
  DEFINITE_REASONS,
  type FailureReason,
  FINISHED_SCAN_STATUSES,
  type ImageFacts,
  type ImageStatus,
  type IndexFacts,
  type Lane,
  noopObserver,
  type PlatformFacts,
  type Resolution,
  type ResolverObserver,
  type ScanFacts,
  TRANSIENT_REASONS,
} from './types.ts';

/** ECR accepts at most 100 image IDs per DescribeImages / BatchGetImage call. */
const MAX_IDS_PER_CALL = 100;
/** DescribeImages listings return at most 1000 images a page. */
const LISTING_PAGE_SIZE = 1000;
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

type Failure = { ok: false; reason: FailureReason; message: string; dns?: boolean };

/**
 * What the facts take from an ImageDetail, and all the detail cache keeps: the SDK object carries
 * repository, digest, artifact and subject fields the facts never read, for every image in use.
 */
type DetailFacts = Pick<
  ImageFacts,
  | 'tags'
  | 'imageStatus'
  | 'pushedAt'
  | 'lastRecordedPullTime'
  | 'lastArchivedAt'
  | 'lastActivatedAt'
  | 'sizeBytes'
  | 'manifestMediaType'
> & {
  /** Scan facts ECR put in the detail itself (legacy basic scanner), else null. */
  scan: ScanFacts | null;
};

type TagAnswer = { ok: true; digest: string; detail?: DetailFacts } | Failure;
type DetailAnswer = { ok: true; detail: DetailFacts } | Failure;
type IndexAnswer = { ok: true; platforms: IndexEntry[] } | Failure;
type Answer = TagAnswer | DetailAnswer | ScanAnswer | IndexAnswer;

/** A batched call target: one repository of one registry, for one lane and operation. */
interface RepositoryGroup {
  lane: Lane;
  loc: EcrLocation;
}

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
  readonly #indexes: AnswerCache<IndexAnswer>;
  readonly #inflight = new Map<string, Promise<Answer>>();
  readonly #describe: Batcher<RepositoryGroup, ImageIdentifier, IdAnswer>;
  readonly #batchGetTags: Batcher<RepositoryGroup, ImageIdentifier, TagAnswer>;
  readonly #batchGetIndexes: Batcher<RepositoryGroup, string, IndexAnswer>;
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
    const lost = (err: unknown): Failure => {
      this.#log.error({ err }, 'an ECR batch failed unexpectedly');
      return { ok: false, reason: 'error', message: 'internal error' };
    };
    this.#describe = new Batcher({
      chunkSize: MAX_IDS_PER_CALL,
      send: (group, items) => this.#describeBatch(group, items),
      onLost: lost,
    });
    this.#batchGetTags = new Batcher({
      chunkSize: MAX_IDS_PER_CALL,
      send: (group, items) => this.#batchGetTagsBatch(group, items),
      onLost: lost,
    });
    this.#batchGetIndexes = new Batcher({
      chunkSize: MAX_IDS_PER_CALL,
      send: (group, items) => this.#batchGetIndexesBatch(group, items),
      onLost: lost,
    });
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

  /** Drops every cached answer (tests, and a future "refresh now" endpoint). */
  clear(): void {
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
    const repoKey = `${loc.registryId}/${loc.region}/${loc.repository}`;
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
      const key = `tag:${repoKey}:${tag}`;
      const answer = await this.#ask(
        key,
        this.#tags,
        lane,
        served,
        (l) => this.#fetchTag(l, loc, tag),
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
        (l) =>
          this.#describe
            .ask(groupKey(l, 'DescribeImages', loc), { lane: l, loc }, { imageDigest: d })
            .then((a) => detailAnswer(loc, { imageDigest: d }, a)),
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
    return {
      status: 'resolved',
      facts: {
        registryId: loc.registryId,
        region: loc.region,
        repository: loc.repository,
        digest,
        ...detail,
        scan,
        scanError,
        index,
        tagImmutable: await tagImmutable,
      },
    };
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
    const key = `index:${repoKey}@${digest}`;
    const manifest = await this.#ask(
      key,
      this.#indexes,
      lane,
      served,
      (l) => this.#batchGetIndexes.ask(groupKey(l, 'BatchGetImage', loc), { lane: l, loc }, digest),
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
    const key = `scan:${repoKey}@${digest}`;
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

  #fetchTag(lane: Lane, loc: EcrLocation, tag: string): Promise<TagAnswer> {
    const id = { imageTag: tag };
    if (this.#ecr.resolveWith === 'BatchGetImage') {
      return this.#batchGetTags.ask(groupKey(lane, 'BatchGetImage:tags', loc), { lane, loc }, id);
    }
    return this.#describe
      .ask(groupKey(lane, 'DescribeImages', loc), { lane, loc }, id)
      .then((a) => tagAnswer(loc, id, a));
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

  /** DescribeImages for up to 100 IDs of one repository, by describe.ts's strategy. */
  async #describeBatch(
    group: RepositoryGroup,
    items: readonly BatchItem<ImageIdentifier, IdAnswer>[],
  ): Promise<void> {
    const { lane, loc } = group;
    const answers = await describeIds(
      items.map((item) => item.id),
      (request) =>
        this.#send(lane, 'DescribeImages', loc, (client) =>
          client.send(
            new DescribeImagesCommand(
              'imageIds' in request
                ? {
                    registryId: loc.registryId,
                    repositoryName: loc.repository,
                    imageIds: request.imageIds,
                    // ANY: an archived image must read as archived, not as missing.
                    filter: { imageStatus: 'ANY' },
                  }
                : {
                    registryId: loc.registryId,
                    repositoryName: loc.repository,
                    maxResults: LISTING_PAGE_SIZE,
                    filter: { tagStatus: 'ANY', imageStatus: 'ANY' },
                    ...(request.nextToken ? { nextToken: request.nextToken } : {}),
                  },
            ),
          ),
        ),
    );
    items.forEach((item, i) => item.settle(answers[i]!));
  }

  /** BatchGetImage for tags (ecr.resolveWith: BatchGetImage): per-image failures instead of a whole-call error. */
  async #batchGetTagsBatch(
    group: RepositoryGroup,
    items: readonly BatchItem<ImageIdentifier, TagAnswer>[],
  ): Promise<void> {
    const { lane, loc } = group;
    const outcome = await this.#batchGet(
      lane,
      loc,
      items.map((item) => item.id),
    );
    if (!outcome.ok) {
      const answer = failureOf(loc, outcome);
      for (const item of items) item.settle(answer);
      return;
    }
    const images = outcome.value.images ?? [];
    const failures = outcome.value.failures ?? [];
    const lookups: Promise<void>[] = [];
    for (const item of items) {
      const tag = item.id.imageTag;
      const image = images.find((i) => i.imageId?.imageTag === tag && i.imageId?.imageDigest);
      if (image?.imageId?.imageDigest) {
        item.settle({ ok: true, digest: image.imageId.imageDigest });
        continue;
      }
      const f = failures.find((x) => x.imageId?.imageTag === tag);
      const answer = imageFailure(loc, item.id, f?.failureCode, f?.failureReason);
      if (answer) {
        item.settle(answer);
        continue;
      }
      // Archived images fail BatchGetImage (ImageNotFound, or ImageInaccessible): DescribeImages, which
      // is not a pull, tells an archived image from a missing one.
      lookups.push(
        this.#describe
          .ask(groupKey(lane, 'DescribeImages', loc), group, item.id)
          .then((a) => item.settle(tagAnswer(loc, item.id, a))),
      );
    }
    await Promise.all(lookups);
  }

  /**
   * BatchGetImage of index manifests by digest (SPEC section 4): up to 100 a call, every manifest type
   * accepted so ECR hands the index back as it was pushed. ECR counts each as a pull of the index.
   */
  async #batchGetIndexesBatch(
    group: RepositoryGroup,
    items: readonly BatchItem<string, IndexAnswer>[],
  ): Promise<void> {
    const { lane, loc } = group;
    const outcome = await this.#batchGet(
      lane,
      loc,
      items.map((item) => ({ imageDigest: item.id })),
    );
    if (!outcome.ok) {
      const answer = failureOf(loc, outcome);
      for (const item of items) item.settle(answer);
      return;
    }
    for (const item of items) {
      const image = (outcome.value.images ?? []).find(
        (i) => i.imageId?.imageDigest === item.id && i.imageManifest,
      );
      if (image?.imageManifest) {
        const parsed = parseIndexManifest(image.imageManifest);
        item.settle(
          parsed.ok
            ? { ok: true, platforms: parsed.platforms }
            : { ok: false, reason: 'error', message: `${loc.repository}@${item.id}: ${parsed.message}` },
        );
        continue;
      }
      const f = (outcome.value.failures ?? []).find((x) => x.imageId?.imageDigest === item.id);
      item.settle(
        imageFailure(loc, { imageDigest: item.id }, f?.failureCode, f?.failureReason) ??
          notFoundFailure(loc, { imageDigest: item.id }),
      );
    }
  }

  #batchGet(lane: Lane, loc: EcrLocation, imageIds: ImageIdentifier[]) {
    return this.#send<BatchGetImageResponse>(lane, 'BatchGetImage', loc, (client) =>
      client.send(
        new BatchGetImageCommand({
          registryId: loc.registryId,
          repositoryName: loc.repository,
          imageIds,
          acceptedMediaTypes: ACCEPTED_MEDIA_TYPES,
        }),
      ),
    );
  }
}

function groupKey(lane: Lane, operation: string, loc: EcrLocation): string {
  return `${lane}|${operation}|${loc.registryId}|${loc.region}|${loc.repository}`;
}

function detailKey(repoKey: string, digest: string): string {
  return `digest:${repoKey}@${digest}`;
}

function detailFacts(detail: ImageDetail): DetailFacts {
  return {
    tags: detail.imageTags ?? [],
    // ECR omits imageStatus for images that were never archived: absent means ACTIVE.
    imageStatus: (detail.imageStatus as ImageStatus | undefined) ?? 'ACTIVE',
    pushedAt: detail.imagePushedAt ?? null,
    lastRecordedPullTime: detail.lastRecordedPullTime ?? null,
    lastArchivedAt: detail.lastArchivedAt ?? null,
    lastActivatedAt: detail.lastActivatedAt ?? null,
    sizeBytes: detail.imageSizeInBytes ?? null,
    manifestMediaType: detail.imageManifestMediaType ?? null,
    // An index carries no scan of its own (its platform images do); a stray summary on one is ignored.
    scan: isIndexMediaType(detail.imageManifestMediaType) ? null : scanFactsFromDetail(detail),
  };
}

function tagAnswer(loc: EcrLocation, id: ImageIdentifier, answer: IdAnswer): TagAnswer {
  if (!answer.ok) return failureFor(loc, id, answer);
  const digest = answer.detail.imageDigest;
  if (!digest) return notFoundFailure(loc, id);
  return { ok: true, digest, detail: detailFacts(answer.detail) };
}

function detailAnswer(loc: EcrLocation, id: ImageIdentifier, answer: IdAnswer): DetailAnswer {
  return answer.ok ? { ok: true, detail: detailFacts(answer.detail) } : failureFor(loc, id, answer);
}

/** A failure with the repository and registry named in its message. */
function failureFor(loc: EcrLocation, id: ImageIdentifier, answer: IdAnswer & { ok: false }): Failure {
  if (answer.reason === 'not_found') return notFoundFailure(loc, id);
  if (answer.reason === 'repository_not_found') return repositoryNotFound(loc);
  return { ok: false, reason: answer.reason, message: answer.message, dns: answer.dns === true };
}

/** A failed call's answer for every image it asked about. */
function failureOf(
  loc: EcrLocation,
  outcome: { reason: FailureReason; message: string; dns: boolean },
): Failure {
  return outcome.reason === 'repository_not_found'
    ? repositoryNotFound(loc)
    : { ok: false, reason: outcome.reason, message: outcome.message, dns: outcome.dns };
}

/**
 * BatchGetImage's per-image failure as an answer (failure codes from the service model's
 * ImageFailureCode); undefined where DescribeImages must tell (a missing or an archived image).
 */
function imageFailure(
  loc: EcrLocation,
  id: ImageIdentifier,
  code: string | undefined,
  reason: string | undefined,
): Failure | undefined {
  switch (code) {
    case undefined:
    case 'ImageNotFound':
    case 'ImageInaccessible':
      return undefined;
    case 'KmsError':
      return { ok: false, reason: 'access_denied', message: reason ?? 'KMS error' };
    case 'ImageTagDoesNotMatchDigest':
      return notFoundFailure(loc, id);
    case 'UpstreamTooManyRequests':
      return { ok: false, reason: 'throttled', message: `${code}: ${reason ?? ''}`.trim() };
    default:
      return { ok: false, reason: 'error', message: `${code}: ${reason ?? ''}`.trim() };
  }
}

function unresolved(reason: FailureReason, message: string): Resolution {
  return { status: 'unresolved', reason, message };
}

function notFoundFailure(loc: EcrLocation, id: ImageIdentifier): Failure {
  const what = id.imageDigest ? `digest ${id.imageDigest}` : `tag ${id.imageTag}`;
  return { ok: false, reason: 'not_found', message: `${what} not found in repository ${loc.repository}` };
}

function repositoryNotFound(loc: EcrLocation): Failure {
  return {
    ok: false,
    reason: 'repository_not_found',
    message: `repository ${loc.repository} not found in registry ${loc.registryId} (${loc.region})`,
  };
}
