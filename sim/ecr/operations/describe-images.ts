import { imageNotFound, invalidParameter } from '../errors.ts';
import { decodePageToken, encodePageToken, pageOf } from '../page-token.ts';
import {
  type Body,
  checkImageIdentifier,
  checkListLength,
  checkMaxResults,
  DEFAULT_PAGE_SIZE,
  MAX_IMAGE_IDS,
  optionalImageIds,
  optionalInteger,
  optionalObject,
  optionalString,
} from '../params.ts';
import { scanAt } from '../scan-state.ts';
import { findImage, imageIndexFrom, type StoredImage, type StoredRepository } from '../store.ts';
import { epochSeconds, type OperationContext, openRepository } from './context.ts';
import { hasFindings, scanStatusOf, scanTimes, severityCounts } from './scan-view.ts';

const TAG_STATUSES = new Set(['TAGGED', 'UNTAGGED', 'ANY']);
const IMAGE_STATUSES = new Set(['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY']);

interface Filter {
  tagStatus: string;
  imageStatus: string;
}

function readFilter(body: Body): Filter {
  const filter = optionalObject(body, 'filter') ?? {};
  const tagStatus = optionalString(filter, 'tagStatus') ?? 'ANY';
  // Absent means ACTIVE only: archived images stay hidden unless asked for.
  const imageStatus = optionalString(filter, 'imageStatus') ?? 'ACTIVE';
  if (!TAG_STATUSES.has(tagStatus)) {
    throw invalidParameter('filter.tagStatus', 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]');
  }
  if (!IMAGE_STATUSES.has(imageStatus)) {
    throw invalidParameter(
      'filter.imageStatus',
      'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]',
    );
  }
  return { tagStatus, imageStatus };
}

function statusMatches(image: StoredImage, imageStatus: string): boolean {
  return imageStatus === 'ANY' || image.imageStatus === imageStatus;
}

function tagMatches(image: StoredImage, tagStatus: string): boolean {
  if (tagStatus === 'TAGGED') return image.tags.length > 0;
  if (tagStatus === 'UNTAGGED') return image.tags.length === 0;
  return true;
}

/**
 * ImageDetail as of `now`. Only legacy (Clair) basic scanning fills imageScanStatus and
 * imageScanFindingsSummary: under AWS-native basic and enhanced scanning DescribeImages carries neither,
 * and clients must ask DescribeImageScanFindings. An index is never scanned, so it never carries them.
 */
export function imageDetail(
  repository: StoredRepository,
  image: StoredImage,
  now: Date,
): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    registryId: repository.registryId,
    repositoryName: repository.name,
    imageDigest: image.digest,
  };
  if (image.tags.length > 0) detail.imageTags = [...image.tags];
  detail.imageSizeInBytes = image.sizeBytes;
  detail.imagePushedAt = epochSeconds(image.pushedAt);
  const scan = scanAt(image, repository.registry.scanning, now);
  if (scan?.kind === 'legacy-basic') {
    detail.imageScanStatus = scanStatusOf(scan);
    if (hasFindings(scan)) {
      const times = scanTimes(image, scan);
      detail.imageScanFindingsSummary = {
        imageScanCompletedAt: times.completedAt,
        vulnerabilitySourceUpdatedAt: times.sourceUpdatedAt,
        findingSeverityCounts: severityCounts(scan),
      };
    }
  }
  detail.imageManifestMediaType = image.mediaType;
  if (image.artifactMediaType) detail.artifactMediaType = image.artifactMediaType;
  if (image.lastRecordedPullTime) detail.lastRecordedPullTime = epochSeconds(image.lastRecordedPullTime);
  detail.imageStatus = image.imageStatus;
  if (image.lastArchivedAt) detail.lastArchivedAt = epochSeconds(image.lastArchivedAt);
  if (image.lastActivatedAt) detail.lastActivatedAt = epochSeconds(image.lastActivatedAt);
  return detail;
}

/**
 * DescribeImages: by imageIds (all of them must exist, or the whole call fails with
 * ImageNotFoundException naming the first missing one), or a paginated listing. Never counts as a pull.
 */
export function describeImages(body: Body, ctx: OperationContext): unknown {
  const imageIds = optionalImageIds(body, 'imageIds');
  const maxResults = optionalInteger(body, 'maxResults');
  const nextToken = optionalString(body, 'nextToken');
  const filter = readFilter(body);
  checkListLength(imageIds, 'imageIds', MAX_IMAGE_IDS);
  checkMaxResults(maxResults);
  if (imageIds !== undefined && maxResults !== undefined) {
    throw invalidParameter('maxResults', 'maxResults cannot be used when imageIds are specified');
  }
  if (imageIds !== undefined && nextToken !== undefined) {
    throw invalidParameter('nextToken', 'nextToken cannot be used when imageIds are specified');
  }
  imageIds?.forEach((id) => {
    checkImageIdentifier(id, 'imageIds');
  });
  const repository = openRepository(body, ctx, 'DescribeImages');

  if (imageIds !== undefined) {
    const found = new Set<StoredImage>();
    for (const id of imageIds) {
      const image = findImage(repository, { digest: id.imageDigest, tag: id.imageTag });
      if (!image || !statusMatches(image, filter.imageStatus)) {
        throw imageNotFound(id, repository.name, repository.registryId);
      }
      found.add(image);
    }
    const now = ctx.clock();
    return { imageDetails: [...found].map((image) => imageDetail(repository, image, now)) };
  }

  // The token holds the `seq` of the image the next page starts at, not its index: an image removed
  // between two pages (a lifecycle expiry) then neither hides nor repeats any other image.
  const scope = `images:${repository.registryId}/${repository.region}/${repository.name}`;
  const { page, next } = pageOf(
    repository.images,
    imageIndexFrom(repository, decodePageToken(nextToken, scope)),
    maxResults ?? DEFAULT_PAGE_SIZE,
    (image) => statusMatches(image, filter.imageStatus) && tagMatches(image, filter.tagStatus),
  );
  const now = ctx.clock();
  const response: Record<string, unknown> = {
    imageDetails: page.map((image) => imageDetail(repository, image, now)),
  };
  const following = next === undefined ? undefined : repository.images[next];
  if (following) response.nextToken = encodePageToken(scope, following.seq);
  return response;
}
