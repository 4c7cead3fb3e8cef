import { invalidParameter, serializationError } from './errors.ts';

/**
 * Reading request fields the way the service does: a value of the wrong JSON type is a
 * SerializationException (the body cannot be bound to the model), while a well-typed value outside
 * the model's constraints is an InvalidParameterException naming the field.
 */

export type Body = Record<string, unknown>;

export interface ImageIdentifier {
  imageDigest?: string | undefined;
  imageTag?: string | undefined;
}

// The model's constraints: registry IDs are 12 digits; repository names 2–256 characters of lower-case
// path components; digests `algorithm:hex`; tags 1–300 characters.
export const REGISTRY_ID = /^[0-9]{12}$/;
export const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const DIGEST_PATTERN = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;
const MAX_TAG_LENGTH = 300;

/** Lists of image IDs carry 1–100 entries on every ECR operation that takes them. */
export const MAX_IMAGE_IDS = 100;
/** A paginated ECR operation called without maxResults answers up to 100 items, as documented. */
export const DEFAULT_PAGE_SIZE = 100;

export function parseBody(text: string): Body {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw serializationError('Unable to parse the request body as JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw serializationError('Start of structure or map expected');
  }
  return parsed as Body;
}

function typeError(field: string, expected: string): never {
  throw serializationError(`Field '${field}': expected ${expected}`);
}

export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') typeError(field, 'a string');
  return value;
}

export function optionalInteger(body: Body, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) typeError(field, 'an integer');
  return value;
}

export function optionalObject(body: Body, field: string): Body | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) typeError(field, 'a structure');
  return value as Body;
}

export function optionalStringList(body: Body, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    typeError(field, 'a list of strings');
  }
  return value as string[];
}

export function readImageIdentifier(value: unknown, field: string): ImageIdentifier {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    typeError(field, 'an ImageIdentifier');
  }
  const id = value as Body;
  return { imageDigest: optionalString(id, 'imageDigest'), imageTag: optionalString(id, 'imageTag') };
}

export function optionalImageIds(body: Body, field: string): ImageIdentifier[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) typeError(field, 'a list of ImageIdentifier');
  return value.map((item) => readImageIdentifier(item, field));
}

export function registryIdOf(body: Body, callerAccount: string): string {
  const registryId = optionalString(body, 'registryId');
  if (registryId === undefined) return callerAccount;
  if (!REGISTRY_ID.test(registryId)) {
    throw invalidParameter('registryId', 'Member must satisfy regular expression pattern: [0-9]{12}');
  }
  return registryId;
}

export function checkRepositoryName(name: string | undefined, field = 'repositoryName'): string {
  if (name === undefined) throw invalidParameter(field, 'Member must not be null');
  if (name.length < 2) throw invalidParameter(field, 'Member must have length greater than or equal to 2');
  if (name.length > 256) throw invalidParameter(field, 'Member must have length less than or equal to 256');
  if (!REPOSITORY_NAME.test(name)) {
    throw invalidParameter(
      field,
      'Member must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*',
    );
  }
  return name;
}

export function checkListLength(list: readonly unknown[] | undefined, field: string, max: number): void {
  if (list === undefined) return;
  if (list.length < 1) throw invalidParameter(field, 'Member must have length greater than or equal to 1');
  if (list.length > max) {
    throw invalidParameter(field, `Member must have length less than or equal to ${max}`);
  }
}

/** maxResults is 1–1000 on every paginated ECR operation. */
export function checkMaxResults(maxResults: number | undefined): void {
  if (maxResults === undefined) return;
  if (maxResults < 1) {
    throw invalidParameter('maxResults', 'Member must have value greater than or equal to 1');
  }
  if (maxResults > 1000) {
    throw invalidParameter('maxResults', 'Member must have value less than or equal to 1000');
  }
}

/** Field checks for an image identifier used to look an image up (DescribeImages, scan findings). */
export function checkImageIdentifier(id: ImageIdentifier, field: string): void {
  if (id.imageDigest === undefined && id.imageTag === undefined) {
    throw invalidParameter(field, 'imageDigest or imageTag must be specified');
  }
  if (id.imageDigest !== undefined && !DIGEST_PATTERN.test(id.imageDigest)) {
    throw invalidParameter(
      `${field}.imageDigest`,
      'Member must satisfy regular expression pattern: [a-zA-Z0-9-_+.]+:[a-fA-F0-9]+',
    );
  }
  if (id.imageTag !== undefined && (id.imageTag.length < 1 || id.imageTag.length > MAX_TAG_LENGTH)) {
    throw invalidParameter(`${field}.imageTag`, `Member must have length between 1 and ${MAX_TAG_LENGTH}`);
  }
}

export function isValidTag(tag: string): boolean {
  return tag.length >= 1 && tag.length <= MAX_TAG_LENGTH;
}
