import type { KubeObject, StatusCause } from './types.ts';

/**
 * Per-resource rules of the API server's registry (pkg/registry/<group>/<resource>/strategy.go):
 * defaulting, what create and update may change, validation, and the store's policy flags.
 * Functions receive mutable copies; the store stamps system fields (uid, resourceVersion,
 * timestamps) itself.
 */
export interface Strategy {
  /** PUT may create a missing object (leases yes, pods no). */
  readonly allowCreateOnUpdate: boolean;
  /** PUT without metadata.resourceVersion overwrites whatever is stored (pods yes, leases no). */
  readonly allowUnconditionalUpdate: boolean;
  /** DELETE answers with the deleted object rather than a Status (pods yes, leases no). */
  readonly returnDeletedObject: boolean;
  /** Subresources reachable under an object, e.g. `status`. */
  readonly subresources: readonly string[];
  /**
   * What the JSON decoder does before any validation runs: a 400 for what it rejects, and for
   * kinds whose unknown fields it drops, the dropped fields' paths pushed onto `unknown` (the
   * registry answers them by the request's fieldValidation). Returns the decoded object when it
   * is a new one.
   */
  decode(obj: KubeObject, unknown: string[]): KubeObject | void;
  /** API defaulting, applied to every object that comes in, as the decoder does. */
  applyDefaults(obj: KubeObject): void;
  /** Clears or sets what a client may not choose at creation (a pod's status, for one). */
  prepareForCreate(obj: KubeObject): void;
  validate(obj: KubeObject): StatusCause[];
  /** Returns the object to store, given the client's object and the stored one, for the main resource or a subresource. */
  prepareForUpdate(next: KubeObject, prev: KubeObject, subresource: string | undefined): KubeObject;
  validateUpdate(next: KubeObject, prev: KubeObject, subresource: string | undefined): StatusCause[];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Limits from k8s.io/apimachinery/pkg/util/validation. */
const DNS1123_LABEL_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;

export function fieldRequired(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

export function fieldInvalid(field: string, value: unknown, detail: string): StatusCause {
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${detail}`, field };
}

export function fieldForbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
}

export function fieldDuplicate(field: string, value: string): StatusCause {
  return { reason: 'FieldValueDuplicate', message: `Duplicate value: "${value}"`, field };
}

export function dnsLabelErrors(field: string, value: string): StatusCause[] {
  const errors: StatusCause[] = [];
  if (value.length > DNS1123_LABEL_MAX) {
    errors.push(fieldInvalid(field, value, `must be no more than ${DNS1123_LABEL_MAX} characters`));
  }
  if (!DNS1123_LABEL.test(value)) {
    errors.push(
      fieldInvalid(
        field,
        value,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ),
    );
  }
  return errors;
}

export function dnsSubdomainErrors(field: string, value: string): StatusCause[] {
  const errors: StatusCause[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) {
    errors.push(fieldInvalid(field, value, `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`));
  }
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errors.push(
      fieldInvalid(
        field,
        value,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
  return errors;
}

/** The object-meta checks every resource shares (ValidateObjectMeta). */
export function validateMetadata(obj: KubeObject, nameIsLabel: boolean): StatusCause[] {
  const name = obj.metadata.name;
  if (!name) {
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ];
  }
  const errors = nameIsLabel
    ? dnsLabelErrors('metadata.name', name)
    : dnsSubdomainErrors('metadata.name', name);
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    if (typeof value !== 'string')
      errors.push(fieldInvalid(`metadata.labels`, value, `label ${key} must be a string`));
  }
  return errors;
}

/** Metadata a client may not change on update: the stored values win (rest.BeforeUpdate). */
export function keepSystemMetadata(next: KubeObject, prev: KubeObject): StatusCause[] {
  const errors: StatusCause[] = [];
  if (next.metadata.uid && next.metadata.uid !== prev.metadata.uid) {
    errors.push(fieldInvalid('metadata.uid', next.metadata.uid, 'field is immutable'));
  }
  next.metadata.uid = prev.metadata.uid;
  next.metadata.creationTimestamp = prev.metadata.creationTimestamp;
  setOrDelete(next.metadata, 'deletionTimestamp', prev.metadata.deletionTimestamp);
  setOrDelete(next.metadata, 'deletionGracePeriodSeconds', prev.metadata.deletionGracePeriodSeconds);
  setOrDelete(next.metadata, 'generation', prev.metadata.generation);
  delete next.metadata.generateName;
  if (prev.metadata.generateName) next.metadata.generateName = prev.metadata.generateName;
  return errors;
}

export function setOrDelete<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K] | undefined,
): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Canonical JSON for deep equality: key order does not matter, as Go's semantic DeepEqual. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
