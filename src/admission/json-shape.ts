/**
 * Reading untrusted JSON (an AdmissionReview and the object inside it) field by field: the one test
 * for "a JSON object", the one error for a field of the wrong shape, and its wording.
 */

export type Json = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field of the wrong shape, named by its path: thrown inside decoding only, it becomes a 400. */
export class Malformed extends Error {}

/** `null`, `an array`, `an object`, `a string`…: what a value is, for "expected …, got …". */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
