import type { StatusCause, StatusDetails, StatusJson, StatusReason } from './types.ts';

/**
 * An API error as the real API server reports it: an HTTP code plus a metav1.Status body.
 * Handlers throw it; the HTTP layer writes it. The message texts follow
 * k8s.io/apimachinery/pkg/api/errors so clients that log or match them see familiar words.
 */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  /** Set on an expired continue token: the token that resumes the list from the newest state. */
  readonly continueToken: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: number,
    reason: StatusReason,
    message: string,
    options: { details?: StatusDetails; continueToken?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'StatusError';
    this.code = code;
    this.reason = reason;
    this.details = options.details;
    this.continueToken = options.continueToken;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toStatus(): StatusJson {
    const status: StatusJson = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: this.continueToken ? { continue: this.continueToken } : {},
      status: 'Failure',
      message: this.message,
      ...(this.reason ? { reason: this.reason } : {}),
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** Identifies the resource an error is about, as `details.kind` / `details.group` do. */
export interface ResourceRef {
  group: string;
  resource: string;
}

/** `pods` for the core group, `leases.coordination.k8s.io` otherwise, as error messages write it. */
export function qualifiedResource(ref: ResourceRef): string {
  return ref.group ? `${ref.resource}.${ref.group}` : ref.resource;
}

/** schema.GroupKind's String(): `Pod`, `Event.events.k8s.io`, `Report.openreports.io`, as Invalid errors name the kind. */
export function qualifiedKind(def: { group: string; kind: string }): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind;
}

/** The 415 for a patch content type the resource does not take (custom resources take no strategic merge patch). */
export function unsupportedPatchType(accepted: readonly string[]): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

function details(ref: ResourceRef, name: string, extra: Partial<StatusDetails> = {}): StatusDetails {
  return { name, ...(ref.group ? { group: ref.group } : {}), kind: ref.resource, ...extra };
}

export function notFound(ref: ResourceRef, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(ref)} "${name}" not found`, {
    details: details(ref, name),
  });
}

export function alreadyExists(ref: ResourceRef, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualifiedResource(ref)} "${name}" already exists`, {
    details: details(ref, name),
  });
}

export const MODIFIED_SINCE_READ =
  'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(ref: ResourceRef, name: string, why: string = MODIFIED_SINCE_READ): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(ref)} "${name}": ${why}`,
    { details: details(ref, name) },
  );
}

/** 422 with one cause per field error, as validation failures are reported. */
export function invalid(kind: string, name: string, ref: ResourceRef, causes: StatusCause[]): StatusError {
  const list = causes.map((c) => `${c.field ?? ''}: ${c.message}`.replace(/^: /, ''));
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    details: details(ref, name, { causes }),
  });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function methodNotAllowed(): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

/** The body the real API server sends for a path it does not serve. */
export function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

export function internalError(cause: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${cause}`, {
    details: { causes: [{ message: cause }] },
  });
}

/**
 * etcd refuses a value over its --max-request-bytes (1.5 MiB by default); the API server passes
 * the error on as a reasonless 500 (ErrorToAPIStatus of a plain error), which kubectl prints as
 * `Error from server: etcdserver: request is too large`.
 */
export function requestTooLarge(): StatusError {
  return new StatusError(500, '', 'etcdserver: request is too large');
}

/** A watch or exact list from a resourceVersion whose history is gone. */
export function tooOldResourceVersion(requested: number, oldest: number): StatusError {
  return new StatusError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/** What a running watch gets when etcd compacts past its position (interpretWatchError). */
export function watchCompacted(): StatusError {
  return new StatusError(410, 'Expired', 'The resourceVersion for the provided watch is too old.');
}

/** A read that must be at least as new as a resourceVersion the server has not reached. */
export function tooLargeResourceVersion(requested: number, current: number): StatusError {
  return new StatusError(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    details: {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
    retryAfterSeconds: 1,
  });
}
