import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsResponse,
  type ECRClient,
  DescribeImagesCommand,
  type ImageDetail,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Config } from '../config/types.ts';
import type { EcrLocation, ImageReference } from '../images/types.ts';
import { type Logger, silentLogger } from '../log.ts';
import { TtlCache } from './cache.ts';
import type { EcrClientSource } from './clients.ts';
import { reasonOf } from './reasons.ts';
import { scanFactsFromDetail, scanFactsFromFindingsPages } from './scan.ts';
import {
  DEFINITE_REASONS,
  type FailureReason,
  type ImageFacts,
  type ImageStatus,
  noopObserver,
  type Resolution,
  type ResolverObserver,
  type ScanFacts,
} from './types.ts';

/** ECR accepts at most 100 image IDs per DescribeImages / BatchGetImage call. */
const MAX_IDS_PER_CALL = 100;
/** DescribeImages listings return at most 1000 images a page. */
const LISTING_PAGE_SIZE = 1000;
/** DescribeImageScanFindings pages hold at most 1000 findings. */
const FINDINGS_PAGE_SIZE = 1000;
/** Manifest types we accept from BatchGetImage: single-platform and multi-platform, Docker and OCI. */
const ACCEPTED_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

type Failure = { ok: false; reason: FailureReason; message: string };

/**
 * What the facts take from an ImageDetail, and all the detail cache keeps: the SDK object carries
 * repository, digest, artifact and subject fields the facts never read, for every image in use.
 */
type DetailFacts = Pick<
  ImageFacts,
  'tags' | 'imageStatus' | 'pushedAt' | 'lastRecordedPullTime' | 'sizeBytes' | 'manifestMediaType'
> & {
  /** Scan facts ECR put in the detail itself (legacy basic scanner), else null. */
  scan: ScanFacts | null;
};

type TagAnswer = { ok: true; digest: string; detail?: DetailFacts } | Failure;
type DetailAnswer = { ok: true; detail: DetailFacts } | Failure;
type ScanAnswer = { ok: true; scan: ScanFacts } | Failure;
/** How an ask was served: from cache, by joining a request in flight, or by a new request. */
type CacheResult = 'hit' | 'coalesced' | 'miss';

interface PendingItem {
  key: string;
  id: ImageIdentifier;
  settle: (answer: DetailAnswer | TagAnswer) => void;
}
interface PendingGroup {
  operation: 'DescribeImages' | 'BatchGetImage';
  loc: EcrLocation;
  items: PendingItem[];
}

export interface ResolverOptions {
  ecr: Config['ecr'];
  clients: EcrClientSource;
  observer?: ResolverObserver;
  log?: Logger;
  /** Milliseconds since the epoch; injected so tests control TTLs. */
  now?: () => number;
}

/**
 * The one way ecr-warden learns about ECR images; the inventory, the webhook, `report` and `check` all
 * ask it. For every ask it: answers from cache when it can (tag→digest for tagTTL, details and scans
 * for detailTTL, definite failures for negativeTTL); joins a request already in flight for the same
 * image; otherwise queues the image and, on the next turn of the event loop, sends one call per
 * (account, region, repository) and 100 image IDs. All ECR calls share one p-limit bound.
 */
export class Resolver {
  readonly #ecr: Config['ecr'];
  readonly #clients: EcrClientSource;
  readonly #observer: ResolverObserver;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #limit: LimitFunction;

  readonly #tags: TtlCache<TagAnswer>;
  readonly #details: TtlCache<DetailAnswer>;
  readonly #scans: TtlCache<ScanAnswer>;
  readonly #inflight = new Map<string, Promise<TagAnswer | DetailAnswer | ScanAnswer>>();

  #pending = new Map<string, PendingGroup>();
  #flushScheduled = false;

  constructor(options: ResolverOptions) {
    this.#ecr = options.ecr;
    this.#clients = options.clients;
    this.#observer = options.observer ?? noopObserver;
    this.#log = (options.log ?? silentLogger).child({ component: 'resolver' });
    this.#now = options.now ?? Date.now;
    this.#limit = pLimit(options.ecr.maxConcurrency);
    this.#tags = new TtlCache(this.#now);
    this.#details = new TtlCache(this.#now);
    this.#scans = new TtlCache(this.#now);
  }

  /** Resolves ECR references; the result has one entry per input, in order. Never rejects. */
  resolve(refs: readonly ImageReference[]): Promise<Resolution[]> {
    return Promise.all(refs.map((ref) => this.resolveOne(ref)));
  }

  async resolveOne(ref: ImageReference): Promise<Resolution> {
    const loc = ref.ecr;
    if (!loc) return unresolved('invalid_reference', `${ref.original} is not an Amazon ECR image`);
    const served: CacheResult[] = [];
    try {
      return await this.#resolveEcr(loc, ref, served);
    } catch (err) {
      // Defensive: every stage returns failures as values, so this is a bug, not an ECR answer.
      this.#log.error({ err, image: ref.original }, 'resolver failed unexpectedly');
      return unresolved('error', `internal error resolving ${ref.original}`);
    } finally {
      this.#observer.cache(
        served.includes('miss') ? 'miss' : served.includes('coalesced') ? 'coalesced' : 'hit',
      );
    }
  }

  /** Drops every cached answer (tests, and a future "refresh now" endpoint). */
  clear(): void {
    this.#tags.clear();
    this.#details.clear();
    this.#scans.clear();
  }

  async #resolveEcr(loc: EcrLocation, ref: ImageReference, served: CacheResult[]): Promise<Resolution> {
    const repoKey = `${loc.registryId}/${loc.region}/${loc.repository}`;
    let digest = ref.digest;
    let detail: DetailFacts | undefined;

    // Stage 1: tag → digest. A reference with a digest is pulled by digest (the runtime ignores the tag).
    if (!digest) {
      const tag = ref.tag ?? 'latest';
      const answer: TagAnswer = await this.#ask(
        `tag:${repoKey}:${tag}`,
        this.#tags,
        served,
        () => this.#enqueue(this.#ecr.resolveWith, loc, { imageTag: tag }),
        (found) => {
          // Keep the tag entry small; the detail it came with goes to the detail cache.
          this.#tags.set(`tag:${repoKey}:${tag}`, { ok: true, digest: found.digest }, this.#ecr.tagTTL);
          if (found.detail)
            this.#details.set(
              detailKey(repoKey, found.digest),
              { ok: true, detail: found.detail },
              this.#ecr.detailTTL,
            );
        },
      );
      if (!answer.ok) return unresolved(answer.reason, answer.message);
      digest = answer.digest;
      detail = answer.detail;
    }

    // Stage 2: digest → details (push time, pull time, size, status, legacy scan summary).
    if (!detail) {
      const key = detailKey(repoKey, digest);
      const answer: DetailAnswer = await this.#ask(
        key,
        this.#details,
        served,
        () => this.#enqueue('DescribeImages', loc, { imageDigest: digest }),
        (found) => this.#details.set(key, { ok: true, detail: found.detail }, this.#ecr.detailTTL),
      );
      if (!answer.ok) return unresolved(answer.reason, answer.message);
      detail = answer.detail;
    }

    // Stage 3: scan facts, from the detail when ECR put them there, else from the findings API.
    let scan = detail.scan;
    let scanError: FailureReason | null = null;
    if (!scan) {
      const key = `scan:${repoKey}@${digest}`;
      const answer = await this.#ask(
        key,
        this.#scans,
        served,
        () => this.#fetchScan(loc, digest),
        // "No scan yet" changes soon after a push: keep it only as long as a negative answer.
        (found) =>
          this.#scans.set(
            key,
            found,
            found.scan.status === 'NOT_SCANNED' ? this.#ecr.negativeTTL : this.#ecr.detailTTL,
          ),
      );
      if (answer.ok) scan = answer.scan;
      else scanError = answer.reason;
    }
    return { status: 'resolved', facts: toFacts(loc, digest, detail, scan, scanError) };
  }

  /**
   * Cache, then in-flight request, then a new request; records how the ask was served. `keep` stores
   * a successful answer; definite failures are cached for negativeTTL and transient ones not at all,
   * so the next ask tries again (coalesced while in flight).
   */
  async #ask<A extends TagAnswer | DetailAnswer | ScanAnswer>(
    key: string,
    cache: TtlCache<A>,
    served: CacheResult[],
    fetch: () => Promise<A>,
    keep: (answer: A & { ok: true }) => void,
  ): Promise<A> {
    const cached = cache.get(key);
    if (cached) {
      served.push('hit');
      return cached;
    }
    const inflight = this.#inflight.get(key) as Promise<A> | undefined;
    if (inflight) {
      served.push('coalesced');
      return inflight;
    }
    served.push('miss');
    const request = fetch().then((answer) => {
      if (answer.ok) keep(answer as A & { ok: true });
      else if (DEFINITE_REASONS.has(answer.reason)) cache.set(key, answer, this.#ecr.negativeTTL);
      return answer;
    });
    this.#inflight.set(key, request);
    try {
      return await request;
    } finally {
      this.#inflight.delete(key);
    }
  }

  /** Queues one image ID for the next batched call to its repository. */
  #enqueue(
    operation: 'DescribeImages' | 'BatchGetImage',
    loc: EcrLocation,
    id: ImageIdentifier,
  ): Promise<TagAnswer & DetailAnswer> {
    const groupKey = `${operation}|${loc.registryId}|${loc.region}|${loc.repository}`;
    let group = this.#pending.get(groupKey);
    if (!group) {
      group = { operation, loc, items: [] };
      this.#pending.set(groupKey, group);
    }
    const { promise, resolve } = Promise.withResolvers<TagAnswer & DetailAnswer>();
    group.items.push({
      key: id.imageTag ?? id.imageDigest ?? '',
      id,
      settle: resolve as PendingItem['settle'],
    });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // setImmediate, not a microtask: asks made across a chain of awaits in this turn share the batch.
      setImmediate(() => this.#flush());
    }
    return promise;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const groups = this.#pending;
    this.#pending = new Map();
    for (const group of groups.values()) {
      for (let i = 0; i < group.items.length; i += MAX_IDS_PER_CALL) {
        const chunk = group.items.slice(i, i + MAX_IDS_PER_CALL);
        const run =
          group.operation === 'DescribeImages'
            ? this.#describe(group.loc, chunk)
            : this.#batchGet(group.loc, chunk);
        run.catch((err: unknown) => {
          this.#log.error({ err }, 'batch failed unexpectedly');
          for (const item of chunk) item.settle(failure('error', 'internal error'));
        });
      }
    }
  }

  /**
   * DescribeImages for up to 100 IDs of one repository. ECR fails the whole call with
   * ImageNotFoundException when any one ID is missing, so on that error the batch is split in
   * halves: one missing ID among 100 costs 1 + 2·log2(100) ≈ 15 calls. When both halves fail too,
   * several IDs are missing and bisecting would approach one call per image, so the repository is
   * listed instead (1000 images a page) and the IDs matched locally.
   */
  async #describe(loc: EcrLocation, items: PendingItem[], knownToMiss = false): Promise<void> {
    if (!knownToMiss && (await this.#describeBatch(loc, items)) !== 'not_found') return;
    const half = Math.ceil(items.length / 2);
    const halves = [items.slice(0, half), items.slice(half)];
    const answers = await Promise.all(halves.map((h) => this.#describeBatch(loc, h)));
    if (answers.every((a) => a === 'not_found')) {
      await this.#describeByListing(loc, items);
      return;
    }
    await Promise.all(
      halves.filter((_, i) => answers[i] === 'not_found').map((h) => this.#describe(loc, h, true)),
    );
  }

  /** One DescribeImages call; settles every item unless it failed on a missing ID among several. */
  async #describeBatch(loc: EcrLocation, items: PendingItem[]): Promise<'settled' | 'not_found'> {
    const outcome = await this.#send('DescribeImages', loc, (client) =>
      client.send(
        new DescribeImagesCommand({
          registryId: loc.registryId,
          repositoryName: loc.repository,
          imageIds: items.map((item) => item.id),
          // ANY: an archived image must read as archived, not as missing.
          filter: { imageStatus: 'ANY' },
        }),
      ),
    );
    if (outcome.ok) {
      settleFromDetails(loc, items, outcome.value.imageDetails ?? []);
      return 'settled';
    }
    if (outcome.reason === 'not_found') {
      if (items.length > 1) return 'not_found';
      items[0]!.settle(notFound(loc, items[0]!.id));
      return 'settled';
    }
    const answer = failureOf(loc, outcome);
    for (const item of items) item.settle(answer);
    return 'settled';
  }

  /** Lists the whole repository (every tag status and image status) and answers the items from it. */
  async #describeByListing(loc: EcrLocation, items: PendingItem[]): Promise<void> {
    const details: ImageDetail[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const outcome = await this.#send('DescribeImages', loc, (client) =>
        client.send(
          new DescribeImagesCommand({
            registryId: loc.registryId,
            repositoryName: loc.repository,
            maxResults: LISTING_PAGE_SIZE,
            filter: { tagStatus: 'ANY', imageStatus: 'ANY' },
            ...(token ? { nextToken: token } : {}),
          }),
        ),
      );
      if (!outcome.ok) {
        const answer = failureOf(loc, outcome);
        for (const item of items) item.settle(answer);
        return;
      }
      details.push(...(outcome.value.imageDetails ?? []));
      nextToken = outcome.value.nextToken;
    } while (nextToken);
    settleFromDetails(loc, items, details);
  }

  /** BatchGetImage for tags: per-image failures instead of a whole-call error. Counts as a pull in ECR. */
  async #batchGet(loc: EcrLocation, items: PendingItem[]): Promise<void> {
    const outcome = await this.#send('BatchGetImage', loc, (client) =>
      client.send(
        new BatchGetImageCommand({
          registryId: loc.registryId,
          repositoryName: loc.repository,
          imageIds: items.map((item) => item.id),
          acceptedMediaTypes: ACCEPTED_MEDIA_TYPES,
        }),
      ),
    );
    if (!outcome.ok) {
      const answer = failureOf(loc, outcome);
      for (const item of items) item.settle(answer);
      return;
    }
    const images = outcome.value.images ?? [];
    const failures = outcome.value.failures ?? [];
    for (const item of items) {
      const tag = item.id.imageTag;
      const image = images.find((i) => i.imageId?.imageTag === tag && i.imageId?.imageDigest);
      if (image?.imageId?.imageDigest) {
        item.settle({ ok: true, digest: image.imageId.imageDigest } as TagAnswer & DetailAnswer);
        continue;
      }
      const f = failures.find((x) => x.imageId?.imageTag === tag);
      switch (f?.failureCode) {
        case 'KmsError':
          item.settle(failure('access_denied', f.failureReason ?? 'KMS error'));
          break;
        case undefined:
        case 'ImageNotFound':
        case 'ImageInaccessible':
          // Archived images cannot be pulled: BatchGetImage fails them as ImageInaccessible (the failure
          // code the archive storage class brought). DescribeImages (not a pull) tells an archived
          // image from a missing one.
          void this.#enqueue('DescribeImages', loc, item.id).then(item.settle);
          break;
        case 'ImageTagDoesNotMatchDigest':
          item.settle(notFound(loc, item.id));
          break;
        default:
          item.settle(failure('error', `${f?.failureCode}: ${f?.failureReason ?? ''}`.trim()));
      }
    }
  }

  /**
   * Scan facts for one digest from DescribeImageScanFindings: AWS-native basic scanning and enhanced
   * (Inspector) scanning leave DescribeImages' scan fields empty. One image per call; pages are read
   * only when ECR gives no severity counts and the findings themselves must be counted.
   */
  async #fetchScan(loc: EcrLocation, digest: string): Promise<ScanAnswer> {
    const pages: DescribeImageScanFindingsResponse[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const outcome = await this.#send('DescribeImageScanFindings', loc, (client) =>
        client.send(
          new DescribeImageScanFindingsCommand({
            registryId: loc.registryId,
            repositoryName: loc.repository,
            imageId: { imageDigest: digest },
            maxResults: FINDINGS_PAGE_SIZE,
            ...(token ? { nextToken: token } : {}),
          }),
        ),
      );
      if (!outcome.ok) {
        if (outcome.name === 'ScanNotFoundException') {
          return {
            ok: true,
            scan: { status: 'NOT_SCANNED', description: null, findings: {}, completedAt: null },
          };
        }
        return failure(outcome.reason, outcome.message);
      }
      pages.push(outcome.value);
      // Counts on the first page make the rest unnecessary.
      if (outcome.value.imageScanFindings?.findingSeverityCounts) break;
      nextToken = outcome.value.nextToken;
    } while (nextToken);
    return { ok: true, scan: scanFactsFromFindingsPages(pages) };
  }

  /** One ECR call for a registry: within the shared concurrency bound, timed, errors as reasons. */
  #send<T>(operation: string, loc: EcrLocation, send: (client: ECRClient) => Promise<T>) {
    const client = this.#clients.clientFor(loc.registryId, loc.region);
    return this.#limit(() => this.#call(operation, loc.region, () => send(client)));
  }

  /** Runs one ECR call, timing it and turning any error into a reason. */
  async #call<T>(
    operation: string,
    region: string,
    send: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; reason: FailureReason; name: string; message: string }> {
    const started = performance.now();
    try {
      const value = await send();
      this.#observer.ecrRequest(operation, region, 'success', (performance.now() - started) / 1000);
      return { ok: true, value };
    } catch (err) {
      const reason = reasonOf(err);
      const name = (err as { name?: string })?.name ?? 'Error';
      const message = err instanceof Error ? err.message : String(err);
      // A missing image or scan is an answer; anything else is worth a debug line.
      if (reason !== 'not_found' && name !== 'ScanNotFoundException') {
        this.#log.debug({ err, operation, region }, 'ECR call failed');
      }
      this.#observer.ecrRequest(operation, region, reason, (performance.now() - started) / 1000);
      return { ok: false, reason, name, message };
    }
  }
}

function detailFacts(detail: ImageDetail): DetailFacts {
  return {
    tags: detail.imageTags ?? [],
    // ECR omits imageStatus for images that were never archived: absent means ACTIVE.
    imageStatus: (detail.imageStatus as ImageStatus | undefined) ?? 'ACTIVE',
    pushedAt: detail.imagePushedAt ?? null,
    lastRecordedPullTime: detail.lastRecordedPullTime ?? null,
    sizeBytes: detail.imageSizeInBytes ?? null,
    manifestMediaType: detail.imageManifestMediaType ?? null,
    scan: scanFactsFromDetail(detail),
  };
}

function toFacts(
  loc: EcrLocation,
  digest: string,
  detail: DetailFacts,
  scan: ScanFacts | null,
  scanError: FailureReason | null,
): ImageFacts {
  return {
    registryId: loc.registryId,
    region: loc.region,
    repository: loc.repository,
    digest,
    tags: detail.tags,
    imageStatus: detail.imageStatus,
    pushedAt: detail.pushedAt,
    lastRecordedPullTime: detail.lastRecordedPullTime,
    sizeBytes: detail.sizeBytes,
    manifestMediaType: detail.manifestMediaType,
    scan,
    scanError,
  };
}

/** Answers each item from the details ECR returned: by digest, or by a tag the image carries. */
function settleFromDetails(
  loc: EcrLocation,
  items: readonly PendingItem[],
  details: readonly ImageDetail[],
): void {
  const byDigest = new Map<string, ImageDetail>();
  const byTag = new Map<string, ImageDetail>();
  for (const d of details) {
    if (!d.imageDigest) continue;
    byDigest.set(d.imageDigest, d);
    for (const tag of d.imageTags ?? []) byTag.set(tag, d);
  }
  for (const item of items) {
    const detail = item.id.imageDigest
      ? byDigest.get(item.id.imageDigest)
      : byTag.get(item.id.imageTag ?? '');
    if (detail?.imageDigest)
      item.settle({ ok: true, digest: detail.imageDigest, detail: detailFacts(detail) });
    else item.settle(notFound(loc, item.id));
  }
}

function detailKey(repoKey: string, digest: string): string {
  return `digest:${repoKey}@${digest}`;
}

function failure(reason: FailureReason, message: string): Failure {
  return { ok: false, reason, message };
}

function unresolved(reason: FailureReason, message: string): Resolution {
  return { status: 'unresolved', reason, message };
}

function notFound(loc: EcrLocation, id: ImageIdentifier): Failure {
  const what = id.imageDigest ? `digest ${id.imageDigest}` : `tag ${id.imageTag}`;
  return failure('not_found', `${what} not found in repository ${loc.repository}`);
}

/** A failed call's answer for every image it asked about. */
function failureOf(loc: EcrLocation, outcome: { reason: FailureReason; message: string }): Failure {
  return outcome.reason === 'repository_not_found'
    ? repositoryNotFound(loc)
    : failure(outcome.reason, outcome.message);
}

function repositoryNotFound(loc: EcrLocation): Failure {
  return failure(
    'repository_not_found',
    `repository ${loc.repository} not found in registry ${loc.registryId} (${loc.region})`,
  );
}
