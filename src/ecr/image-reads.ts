import {
  BatchGetImageCommand,
  type BatchGetImageResponse,
  DescribeImagesCommand,
  type ImageDetail,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import type { EcrLocation } from '../images/types.ts';
import type { Logger } from '../log.ts';
import { Batcher, type BatchItem } from './batcher.ts';
import type { SendCall } from './calls.ts';
import { describeIds, type IdAnswer } from './describe.ts';
import { ACCEPTED_MEDIA_TYPES, type IndexEntry, isIndexMediaType, parseIndexManifest } from './indexes.ts';
import { scanFactsFromDetail } from './findings.ts';
import type { FailureReason, ImageFacts, ImageStatus, Lane, Resolution, ScanFacts } from './types.ts';

/** ECR accepts at most 100 image IDs per DescribeImages / BatchGetImage call. */
const MAX_IDS_PER_CALL = 100;
/** DescribeImages listings return at most 1000 images a page. */
const LISTING_PAGE_SIZE = 1000;

export type Failure = { ok: false; reason: FailureReason; message: string; dns?: boolean };

/**
 * What the facts take from an ImageDetail, and all the detail cache keeps: the SDK object carries
 * repository, digest, artifact and subject fields the facts never read, for every image in use.
 */
export type DetailFacts = Pick<
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

export type TagAnswer = { ok: true; digest: string; detail?: DetailFacts } | Failure;
export type DetailAnswer = { ok: true; detail: DetailFacts } | Failure;
export type IndexAnswer = { ok: true; platforms: IndexEntry[] } | Failure;

/** A batched call target: one repository of one registry, for one lane and operation. */
interface RepositoryGroup {
  lane: Lane;
  loc: EcrLocation;
}

/**
 * The resolver's reads of images by ID, batched: asks made in one turn of the event loop go out
 * together, one call per (lane, operation, registry, repository) and 100 IDs (batcher.ts). Tags and
 * digests are found with DescribeImages by describe.ts's strategy (which never counts as a pull), or
 * with BatchGetImage where ecr.resolveWith asks for it; index manifests with BatchGetImage by digest.
 * Each read answers with facts or a failure that names the repository: no caching here, that is the
 * resolver's.
 */
export class ImageReads {
  readonly #send: SendCall;
  readonly #describe: Batcher<RepositoryGroup, ImageIdentifier, IdAnswer>;
  readonly #batchGetTags: Batcher<RepositoryGroup, ImageIdentifier, TagAnswer>;
  readonly #batchGetIndexes: Batcher<RepositoryGroup, string, IndexAnswer>;

  constructor(send: SendCall, log: Logger) {
    this.#send = send;
    const lost = (err: unknown): Failure => {
      log.error({ err }, 'an ECR batch failed unexpectedly');
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
  }

  /** tag → digest (and, with DescribeImages, the image's details). */
  tag(
    lane: Lane,
    loc: EcrLocation,
    tag: string,
    resolveWith: 'DescribeImages' | 'BatchGetImage',
  ): Promise<TagAnswer> {
    const id = { imageTag: tag };
    if (resolveWith === 'BatchGetImage') {
      return this.#batchGetTags.ask(groupKey(lane, 'BatchGetImage:tags', loc), { lane, loc }, id);
    }
    return this.#describe
      .ask(groupKey(lane, 'DescribeImages', loc), { lane, loc }, id)
      .then((a) => tagAnswer(loc, id, a));
  }

  /** digest → the image's details (DescribeImages, every image status). */
  detail(lane: Lane, loc: EcrLocation, digest: string): Promise<DetailAnswer> {
    const id = { imageDigest: digest };
    return this.#describe
      .ask(groupKey(lane, 'DescribeImages', loc), { lane, loc }, id)
      .then((a) => detailAnswer(loc, id, a));
  }

  /** An index's platform images, from its manifest (BatchGetImage by digest, which ECR counts as a pull). */
  index(lane: Lane, loc: EcrLocation, digest: string): Promise<IndexAnswer> {
    return this.#batchGetIndexes.ask(groupKey(lane, 'BatchGetImage', loc), { lane, loc }, digest);
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

export function unresolved(reason: FailureReason, message: string): Resolution {
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
