import {
  invalidParameter,
  lifecyclePolicyNotFound,
  lifecyclePolicyPreviewInProgress,
  lifecyclePolicyPreviewNotFound,
} from '../errors.ts';
import { previewResultsOf } from '../lifecycle/run.ts';
import type { PreviewResult } from '../lifecycle/state.ts';
import { decodePageToken, encodePageToken, pageOf } from '../page-token.ts';
import {
  type Body,
  checkImageIdentifier,
  checkListLength,
  type ImageIdentifier,
  MAX_IMAGE_IDS,
  optionalImageIds,
  optionalInteger,
  optionalObject,
  optionalString,
} from '../params.ts';
import { epochSeconds, type OperationContext, openRepository } from './context.ts';
import { checkPolicyTextLength, readPolicy } from './lifecycle-policy.ts';

/** The model's LifecyclePreviewMaxResults: 1–100, and 100 when absent ("returns up to 100 results"). */
const MAX_PREVIEW_RESULTS = 100;
const TAG_STATUSES = new Set(['TAGGED', 'UNTAGGED', 'ANY']);

/**
 * StartLifecyclePolicyPreview: evaluates the given policy, or without one the repository's own ("If you
 * do not specify a policy, the current policy for the repository is used"), against the repository as it
 * is now. The answer is IN_PROGRESS until GetLifecyclePolicyPreview has been polled `previewPolls`
 * times; starting another preview meanwhile is LifecyclePolicyPreviewInProgressException ("The previous
 * lifecycle policy preview request has not completed").
 */
export function startLifecyclePolicyPreview(body: Body, ctx: OperationContext): unknown {
  const text = optionalString(body, 'lifecyclePolicyText');
  checkPolicyTextLength(text);
  const repository = openRepository(body, ctx, 'StartLifecyclePolicyPreview');
  const state = ctx.store.lifecycle.peek(repository);
  const policy = text === undefined ? state?.policy : readPolicy(text);
  if (!policy) throw lifecyclePolicyNotFound(repository.name, repository.registryId);
  if ((state?.preview?.pendingPolls ?? 0) > 0) {
    throw lifecyclePolicyPreviewInProgress(repository.name, repository.registryId);
  }
  const results = previewResultsOf(repository, policy, ctx.clock());
  const preview = ctx.store.lifecycle.startPreview(
    repository,
    policy,
    results,
    ctx.store.lifecycle.previewPolls,
  );
  return {
    registryId: repository.registryId,
    repositoryName: repository.name,
    lifecyclePolicyText: policy.text,
    status: preview.pendingPolls > 0 ? 'IN_PROGRESS' : 'COMPLETE',
  };
}

/** LifecyclePolicyPreviewResult. */
function resultShape(result: PreviewResult): Record<string, unknown> {
  return {
    imageTags: [...result.tags],
    imageDigest: result.digest,
    imagePushedAt: epochSeconds(result.pushedAt),
    action:
      result.action === 'transition'
        ? { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' }
        : { type: 'EXPIRE' },
    appliedRulePriority: result.rulePriority,
    storageClass: result.storageClass === 'archive' ? 'ARCHIVE' : 'STANDARD',
  };
}

/**
 * LifecyclePolicyPreviewSummary over the whole preview; transitioningImageTotalCounts "is only present if
 * at least one image will be transitoned".
 */
function summaryOf(results: readonly PreviewResult[]): Record<string, unknown> {
  const transitioning = results.filter((result) => result.action === 'transition').length;
  const summary: Record<string, unknown> = { expiringImageTotalCount: results.length - transitioning };
  if (transitioning > 0) {
    summary.transitioningImageTotalCounts = [
      { targetStorageClass: 'ARCHIVE', imageTotalCount: transitioning },
    ];
  }
  return summary;
}

function namedBy(result: PreviewResult, ids: readonly ImageIdentifier[]): boolean {
  return ids.some(
    (id) =>
      (id.imageDigest === undefined || id.imageDigest === result.digest) &&
      (id.imageTag === undefined || result.tags.includes(id.imageTag)),
  );
}

function tagStatusMatches(result: PreviewResult, tagStatus: string): boolean {
  if (tagStatus === 'TAGGED') return result.tags.length > 0;
  if (tagStatus === 'UNTAGGED') return result.tags.length === 0;
  return true;
}

/**
 * GetLifecyclePolicyPreview: the images the preview would expire or archive, paged (up to 100), or
 * only those `imageIds` name; `filter.tagStatus` narrows either. While the preview runs, the status
 * alone.
 */
export function getLifecyclePolicyPreview(body: Body, ctx: OperationContext): unknown {
  const imageIds = optionalImageIds(body, 'imageIds');
  const maxResults = optionalInteger(body, 'maxResults');
  const nextToken = optionalString(body, 'nextToken');
  const tagStatus = optionalString(optionalObject(body, 'filter') ?? {}, 'tagStatus') ?? 'ANY';
  checkListLength(imageIds, 'imageIds', MAX_IMAGE_IDS);
  if (maxResults !== undefined && maxResults < 1) {
    throw invalidParameter('maxResults', 'Member must have value greater than or equal to 1');
  }
  if (maxResults !== undefined && maxResults > MAX_PREVIEW_RESULTS) {
    throw invalidParameter(
      'maxResults',
      `Member must have value less than or equal to ${MAX_PREVIEW_RESULTS}`,
    );
  }
  if (!TAG_STATUSES.has(tagStatus)) {
    throw invalidParameter('filter.tagStatus', 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]');
  }
  // "This option cannot be used when you specify images with imageIds" (maxResults, nextToken).
  if (imageIds !== undefined && maxResults !== undefined) {
    throw invalidParameter('maxResults', 'maxResults cannot be used when imageIds are specified');
  }
  if (imageIds !== undefined && nextToken !== undefined) {
    throw invalidParameter('nextToken', 'nextToken cannot be used when imageIds are specified');
  }
  imageIds?.forEach((id) => {
    checkImageIdentifier(id, 'imageIds');
  });
  const repository = openRepository(body, ctx, 'GetLifecyclePolicyPreview');
  const preview = ctx.store.lifecycle.peek(repository)?.preview;
  if (!preview) throw lifecyclePolicyPreviewNotFound(repository.name, repository.registryId);

  const response: Record<string, unknown> = {
    registryId: repository.registryId,
    repositoryName: repository.name,
    lifecyclePolicyText: preview.policy.text,
  };
  if (preview.pendingPolls > 0) {
    preview.pendingPolls -= 1;
    response.status = 'IN_PROGRESS';
    return response;
  }
  response.status = 'COMPLETE';
  const keep = (result: PreviewResult): boolean =>
    tagStatusMatches(result, tagStatus) && (imageIds === undefined || namedBy(result, imageIds));
  if (imageIds !== undefined) {
    response.previewResults = preview.results.filter(keep).map(resultShape);
  } else {
    const scope = `lifecycle-preview:${repository.registryId}/${repository.region}/${repository.name}#${preview.id}`;
    const { page, next } = pageOf(
      preview.results,
      decodePageToken(nextToken, scope),
      maxResults ?? MAX_PREVIEW_RESULTS,
      keep,
    );
    response.previewResults = page.map(resultShape);
    if (next !== undefined) response.nextToken = encodePageToken(scope, next);
  }
  response.summary = summaryOf(preview.results);
  return response;
}
