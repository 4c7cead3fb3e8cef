/**
 * Errors the simulated endpoint answers with, worded as real ECR words them (messages quoted from
 * service responses seen in the wild) so clients that log or match them behave as in production.
 * Every ECR error is HTTP 400 except ServerException (500); the SDK reads the name from `__type`.
 */
export class EcrApiError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = 'EcrApiError';
    this.type = type;
    this.status = status;
  }
}

/** How ECR prints an image ID inside messages: `{imageDigest:'null', imageTag:'v1'}`. */
export function formatImageId(id: {
  imageDigest?: string | undefined;
  imageTag?: string | undefined;
}): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

export function invalidParameter(field: string, constraint: string): EcrApiError {
  return new EcrApiError(
    'InvalidParameterException',
    `Invalid parameter at '${field}' failed to satisfy constraint: '${constraint}'`,
  );
}

export function serializationError(message: string): EcrApiError {
  return new EcrApiError('SerializationException', message);
}

export function repositoryNotFound(repository: string, registryId: string): EcrApiError {
  return new EcrApiError(
    'RepositoryNotFoundException',
    `The repository with name '${repository}' does not exist in the registry with id '${registryId}'`,
  );
}

export function imageNotFound(
  id: { imageDigest?: string | undefined; imageTag?: string | undefined },
  repository: string,
  registryId: string,
): EcrApiError {
  return new EcrApiError(
    'ImageNotFoundException',
    `The image with imageId ${formatImageId(id)} does not exist within the repository with name '${repository}' in the registry with id '${registryId}'`,
  );
}

export function scanNotFound(
  id: { imageDigest?: string | undefined; imageTag?: string | undefined },
  repository: string,
  registryId: string,
): EcrApiError {
  return new EcrApiError(
    'ScanNotFoundException',
    `Image scan does not exist for the image with '${formatImageId(id)}' in the repository with name '${repository}' in the registry with id '${registryId}'`,
  );
}

/** IAM's wording; `resource` is the repository ARN (or `*` for a registry-wide listing). */
export function accessDenied(callerArn: string, operation: string, resource: string): EcrApiError {
  return new EcrApiError(
    'AccessDeniedException',
    `User: ${callerArn} is not authorized to perform: ecr:${operation} on resource: ${resource} because no resource-based policy allows the ecr:${operation} action`,
  );
}

export function throttled(): EcrApiError {
  return new EcrApiError('ThrottlingException', 'Rate exceeded');
}

export function serverError(status: number): EcrApiError {
  return new EcrApiError('ServerException', 'We encountered an internal error. Please try again.', status);
}

/** A target that is not an ECR operation, or an ECR operation this endpoint does not simulate. */
export function unknownOperation(operation: string): EcrApiError {
  const message = operation
    ? `Operation ${operation} is not supported by this endpoint`
    : 'Unknown operation';
  return new EcrApiError('UnknownOperationException', message);
}

export function missingAuthentication(): EcrApiError {
  return new EcrApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
}

/**
 * StartImageScan on a manifest no scanner reads (an index, an attestation). The wording is ECR's, as a
 * scan action quoted it: "An artifact with media type 'application/vnd.oci.image.index.v1+json' cannot
 * be scanned. For more information, see the Amazon ECR documentation." (alexjurkiewicz/ecr-scan-image#43).
 */
export function unsupportedImageType(mediaType: string): EcrApiError {
  return new EcrApiError(
    'UnsupportedImageTypeException',
    `An artifact with media type '${mediaType}' cannot be scanned. For more information, see the Amazon ECR documentation.`,
  );
}

/**
 * A second basic scan of one image within 24 hours: "A basic image scan can only be started once per
 * 24 hours on an individual image. This limit includes if an image was scanned on initial push"
 * (StartImageScan, service model). The message is the one users quote.
 */
export function scanQuotaExceeded(): EcrApiError {
  return new EcrApiError(
    'LimitExceededException',
    'The scan quota per image has been exceeded. Wait and try again.',
  );
}

/** StartImageScan on an archived image ("Archived images cannot be scanned", ECR user guide). */
export function imageArchived(
  id: { imageDigest?: string | undefined; imageTag?: string | undefined },
  repository: string,
  registryId: string,
): EcrApiError {
  return new EcrApiError(
    'ImageArchivedException',
    `The image with imageId ${formatImageId(id)} in the repository with name '${repository}' in the registry with id '${registryId}' is archived and cannot be scanned`,
  );
}

export function validationError(message: string): EcrApiError {
  return new EcrApiError('ValidationException', message);
}

export function pullThroughCacheRuleNotFound(prefix: string, registryId: string): EcrApiError {
  return new EcrApiError(
    'PullThroughCacheRuleNotFoundException',
    `The pull through cache rule with repository prefix '${prefix}' does not exist in the registry with id '${registryId}'`,
  );
}

/** ECR's wording, as service responses quote it. */
export function lifecyclePolicyNotFound(repository: string, registryId: string): EcrApiError {
  return new EcrApiError(
    'LifecyclePolicyNotFoundException',
    `Lifecycle policy does not exist for the repository with name '${repository}' in the registry with id '${registryId}'`,
  );
}

/**
 * A policy ECR refuses: InvalidParameterException naming LifecyclePolicyText, as in the responses users
 * quote ("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy
 * validation failure: ...'").
 */
export function invalidLifecyclePolicy(detail: string): EcrApiError {
  return new EcrApiError(
    'InvalidParameterException',
    `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${detail}'`,
  );
}

/** The model's description ("There is no dry run for this repository"), in ECR's usual naming. */
export function lifecyclePolicyPreviewNotFound(repository: string, registryId: string): EcrApiError {
  return new EcrApiError(
    'LifecyclePolicyPreviewNotFoundException',
    `Lifecycle policy preview does not exist for the repository with name '${repository}' in the registry with id '${registryId}'`,
  );
}

/** The model's description: "The previous lifecycle policy preview request has not completed." */
export function lifecyclePolicyPreviewInProgress(repository: string, registryId: string): EcrApiError {
  return new EcrApiError(
    'LifecyclePolicyPreviewInProgressException',
    `The previous lifecycle policy preview request for the repository with name '${repository}' in the registry with id '${registryId}' has not completed. Wait and try again.`,
  );
}
