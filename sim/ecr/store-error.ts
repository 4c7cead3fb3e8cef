/** A scenario or control call the simulator refuses: something ECR could never hold or do. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * A push that names a tag the repository holds immutable, on another image. ECR refuses it with
 * ImageTagAlreadyExistsException; the registry API (docker push) words it as below (seen verbatim in
 * CI logs: "tag invalid: The image tag '0.0.7' already exists in the 'golang_example' repository and
 * cannot be overwritten because the repository is immutable.").
 */
export class ImageTagAlreadyExistsError extends StoreError {
  readonly code = 'ImageTagAlreadyExistsException';
  readonly tag: string;
  constructor(tag: string, repository: string) {
    super(
      `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the repository is immutable.`,
    );
    this.name = 'ImageTagAlreadyExistsError';
    this.tag = tag;
  }
}
