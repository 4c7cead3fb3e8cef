import { invalidParameter } from '../errors.ts';
import {
  type Body,
  checkListLength,
  checkRepositoryName,
  DIGEST_PATTERN,
  type ImageIdentifier,
  isValidTag,
  MAX_IMAGE_IDS,
  optionalImageIds,
  optionalString,
  optionalStringList,
  registryIdOf,
} from '../params.ts';
import type { StoredImage, StoredRepository } from '../store.ts';
import { type OperationContext, openRepository } from './context.ts';

const MAX_MEDIA_TYPES = 100;

interface Failure {
  imageId: ImageIdentifier;
  failureCode: string;
  failureReason: string;
}

// failureReason texts as ECR returns them.
const NOT_FOUND = 'Requested image not found';
/**
 * An archived image (or one still being restored) cannot be pulled ("Archiving an image": "Archived
 * images cannot be pulled. Requests to pull the archived image will fail with a 404 error"). The API
 * model gained exactly one failure code, ImageInaccessible, in the release that added the archive
 * storage class (botocore 2025-11-19, "Add support for ECR archival storage class"): that is the code
 * here. The reason text is ours.
 */
const INACCESSIBLE = 'Requested image is archived and cannot be pulled until it is restored';

function failure(imageId: ImageIdentifier, failureCode: string, failureReason: string): Failure {
  return { imageId: echoId(imageId), failureCode, failureReason };
}

/** ECR echoes the identifier as it was asked for, without fields the caller left out. */
function echoId(id: ImageIdentifier): ImageIdentifier {
  const echoed: ImageIdentifier = {};
  if (id.imageDigest !== undefined) echoed.imageDigest = id.imageDigest;
  if (id.imageTag !== undefined) echoed.imageTag = id.imageTag;
  return echoed;
}

/** The image one identifier names, or the per-image failure ECR reports for it. */
function resolve(repository: StoredRepository, id: ImageIdentifier): StoredImage | Failure {
  const { imageDigest: digest, imageTag: tag } = id;
  if (digest === undefined && tag === undefined) {
    return failure(
      id,
      'MissingDigestAndTag',
      'Invalid request parameters: both tag and digest cannot be null',
    );
  }
  if (digest !== undefined && !DIGEST_PATTERN.test(digest)) {
    return failure(
      id,
      'InvalidImageDigest',
      "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    );
  }
  if (tag !== undefined && !isValidTag(tag)) {
    return failure(
      id,
      'InvalidImageTag',
      'Invalid request parameters: image tag should have length between 1 and 300',
    );
  }
  if (tag !== undefined) {
    const byTag = repository.byTag.get(tag);
    if (!byTag) return failure(id, 'ImageNotFound', NOT_FOUND);
    if (digest !== undefined && byTag.digest !== digest) {
      return failure(
        id,
        'ImageTagDoesNotMatchDigest',
        'Invalid request parameters: given tag does not map to the given digest',
      );
    }
    return byTag;
  }
  return repository.byDigest.get(digest as string) ?? failure(id, 'ImageNotFound', NOT_FOUND);
}

/**
 * BatchGetImage: manifests for up to 100 identifiers, with a failure entry (not an exception) per
 * identifier that cannot be served. Archived images cannot be pulled: they fail as ImageInaccessible.
 * It is the call a pull makes ("When an image is pulled, the BatchGetImage API is called once to
 * retrieve the image manifest", API reference), so every manifest returned gets its lastRecordedPullTime
 * moved to now; for an index that is the index alone, as only its manifest was served.
 *
 * An index is served as stored, with its own media type, when the caller accepts that type (or names no
 * types); ECR converts manifests only between single-image formats and only when pulling by tag ("If you
 * pull by digest, there is no translation available", user guide, "Container image manifest format
 * support"), so an index outside acceptedMediaTypes cannot be served.
 *
 * Under a pull through cache rule, a tag not cached yet is fetched from the upstream registry first,
 * creating the repository if needed: the model lists UnableToGetUpstreamImageException and the
 * Upstream* failure codes for this operation, the marks of a pull that goes upstream. Only pulls by tag
 * do (a digest alone names nothing the cache can ask the upstream for by tag).
 */
export function batchGetImage(body: Body, ctx: OperationContext): unknown {
  const imageIds = optionalImageIds(body, 'imageIds');
  const acceptedMediaTypes = optionalStringList(body, 'acceptedMediaTypes');
  if (imageIds === undefined) throw invalidParameter('imageIds', 'Member must not be null');
  checkListLength(imageIds, 'imageIds', MAX_IMAGE_IDS);
  checkListLength(acceptedMediaTypes, 'acceptedMediaTypes', MAX_MEDIA_TYPES);
  pullThroughCache(body, ctx, imageIds);
  const repository = openRepository(body, ctx, 'BatchGetImage');
  const now = ctx.clock();

  const images: Record<string, unknown>[] = [];
  const failures: Failure[] = [];
  const served = new Set<string>();
  for (const id of imageIds) {
    const result = resolve(repository, id);
    if ('failureCode' in result) {
      failures.push(result);
      continue;
    }
    if (result.imageStatus !== 'ACTIVE') {
      failures.push(failure(id, 'ImageInaccessible', INACCESSIBLE));
      continue;
    }
    // A manifest the caller does not accept cannot be served: the registry answers such pulls with
    // "manifest unknown".
    if (acceptedMediaTypes && !acceptedMediaTypes.includes(result.mediaType)) {
      failures.push(failure(id, 'ImageNotFound', NOT_FOUND));
      continue;
    }
    const key = `${result.digest} ${id.imageTag ?? ''}`;
    if (served.has(key)) continue;
    served.add(key);
    result.lastRecordedPullTime = now;
    const imageId: ImageIdentifier = { imageDigest: result.digest };
    if (id.imageTag !== undefined) imageId.imageTag = id.imageTag;
    images.push({
      registryId: repository.registryId,
      repositoryName: repository.name,
      imageId,
      imageManifest: result.manifest,
      imageManifestMediaType: result.mediaType,
    });
  }
  return { images, failures };
}

/** Fetches from the upstream registry every tag asked for that a pull through cache rule covers. */
function pullThroughCache(body: Body, ctx: OperationContext, imageIds: readonly ImageIdentifier[]): void {
  const registryId = registryIdOf(body, ctx.store.callerAccount);
  const name = checkRepositoryName(optionalString(body, 'repositoryName'));
  if (ctx.store.isDenied(registryId, ctx.region, name)) return;
  const ref = { registryId, region: ctx.region, repository: name };
  for (const id of imageIds) {
    if (id.imageTag === undefined || id.imageDigest !== undefined || !isValidTag(id.imageTag)) continue;
    if (ctx.store.repository(ref)?.byTag.has(id.imageTag)) continue;
    if (ctx.store.upstreamHas(ref, id.imageTag)) ctx.store.pullByTag(ref, id.imageTag);
  }
}
