import { WardenError } from '../errors.ts';
import { isObject, type Json, Malformed, typeName } from './json-shape.ts';
import {
  ADMISSION_API_VERSION,
  ADMISSION_REVIEW_KIND,
  type AdmissionRequest,
  type GroupVersionKind,
  OPERATIONS,
  type Operation,
  type ReviewObjects,
} from './types.ts';

export type Decoded = { ok: true; request: AdmissionRequest } | { ok: false; uid: string; message: string };

/** Longest excerpt of a JSON syntax error echoed back: enough to locate the problem, never the body. */
const MAX_SYNTAX_MESSAGE = 200;

function stringField(parent: Json, key: string, path: string, required: boolean): string {
  const value = parent[key];
  if (value === undefined || value === null) {
    if (required) throw new Malformed(`${path}: missing`);
    return '';
  }
  if (typeof value !== 'string') throw new Malformed(`${path}: expected a string, got ${typeName(value)}`);
  return value;
}

function objectField(parent: Json, key: string, path: string): Json | null {
  const value = parent[key];
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new Malformed(`${path}: expected an object, got ${typeName(value)}`);
  return value;
}

function gvk(request: Json): GroupVersionKind {
  const kind = objectField(request, 'kind', 'request.kind');
  if (!kind) throw new Malformed('request.kind: missing');
  return {
    group: stringField(kind, 'group', 'request.kind.group', false),
    version: stringField(kind, 'version', 'request.kind.version', false),
    kind: stringField(kind, 'kind', 'request.kind.kind', true),
  };
}

function operation(request: Json): Operation {
  const value = stringField(request, 'operation', 'request.operation', true);
  if (!(OPERATIONS as readonly string[]).includes(value)) {
    throw new Malformed(
      `request.operation: expected one of ${OPERATIONS.join(', ')}, got "${value.slice(0, 20)}"`,
    );
  }
  return value as Operation;
}

function booleanField(parent: Json, key: string, path: string): boolean {
  const value = parent[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new Malformed(`${path}: expected a boolean, got ${typeName(value)}`);
  return value;
}

/** The request's uid when it is there and a string: echoed even when the rest is malformed. */
function uidOf(review: unknown): string {
  if (!isObject(review) || !isObject(review.request)) return '';
  const uid = review.request.uid;
  return typeof uid === 'string' ? uid : '';
}

/**
 * Reads an AdmissionReview v1 body. Checks the envelope and the type of every request field the
 * webhook reads; the object's inside is checked by the code that reads it (containers.ts). Never
 * throws: a body that is not a review comes back as a message for a 400.
 */
export function decodeReview(bytes: Buffer): Decoded {
  if (bytes.length === 0) return { ok: false, uid: '', message: 'request body is empty' };
  let review: unknown;
  try {
    review = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    const why = err instanceof Error ? err.message.slice(0, MAX_SYNTAX_MESSAGE) : 'syntax error';
    return { ok: false, uid: '', message: `request body is not valid JSON: ${why}` };
  }
  const uid = uidOf(review);
  try {
    if (!isObject(review)) throw new Malformed(`expected an AdmissionReview object, got ${typeName(review)}`);
    const apiVersion = review.apiVersion;
    if (apiVersion !== ADMISSION_API_VERSION) {
      throw new Malformed(`apiVersion: expected ${ADMISSION_API_VERSION}, got ${describe(apiVersion)}`);
    }
    if (review.kind !== ADMISSION_REVIEW_KIND) {
      throw new Malformed(`kind: expected ${ADMISSION_REVIEW_KIND}, got ${describe(review.kind)}`);
    }
    const request = objectField(review, 'request', 'request');
    if (!request) throw new Malformed('request: missing');
    const requestUid = stringField(request, 'uid', 'request.uid', true);
    if (requestUid === '') throw new Malformed('request.uid: empty');
    return {
      ok: true,
      request: {
        uid: requestUid,
        kind: gvk(request),
        subResource: stringField(request, 'subResource', 'request.subResource', false),
        name: stringField(request, 'name', 'request.name', false),
        namespace: stringField(request, 'namespace', 'request.namespace', false),
        operation: operation(request),
        objects: new HeldObjects(request.object ?? null, request.oldObject ?? null),
        dryRun: booleanField(request, 'dryRun', 'request.dryRun'),
      },
    };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, uid, message: err.message };
    throw err;
  }
}

/** ReviewObjects: the two objects until they are taken or released, then nothing. */
export class HeldObjects implements ReviewObjects {
  #objects: { object: unknown; oldObject: unknown } | null;

  constructor(object: unknown, oldObject: unknown) {
    this.#objects = { object, oldObject };
  }

  take(): { object: unknown; oldObject: unknown } {
    const objects = this.#objects;
    if (!objects)
      throw new WardenError('ERR_ADMISSION', 'the objects of a review were read after being handed out');
    this.#objects = null;
    return objects;
  }

  release(): void {
    this.#objects = null;
  }
}

/**
 * The request's uid, read from the first bytes of a body that was not read whole (a review refused
 * partway through its body). The apiserver serializes an AdmissionReview's fields in their Go order,
 * and `uid` is the request's first (k8s.io/api admission/v1 AdmissionRequest), so it is within the
 * first few hundred bytes: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":
 * {"uid":"…"`. '' when those bytes do not show it: nothing more is parsed to find it.
 */
export function uidFromPrefix(prefix: Buffer): string {
  const head = prefix.subarray(0, UID_PREFIX_BYTES).toString('latin1');
  return /"request"\s*:\s*\{\s*"uid"\s*:\s*"([A-Za-z0-9._:-]{1,128})"/.exec(head)?.[1] ?? '';
}

/** How much of a body is searched for the uid: the envelope before it is about 80 bytes. */
export const UID_PREFIX_BYTES = 1024;

/** A value quoted for a message, short whatever its size. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 60));
  return typeName(value);
}
