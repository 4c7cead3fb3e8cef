import { canonical, fieldInvalid, fieldRequired, isPlainObject } from './strategy.ts';
import type { StatusCause } from './types.ts';

/**
 * A custom resource checked against its CRD's structural openAPIV3Schema, as the
 * apiextensions-apiserver does on every write:
 *
 * - pruning (structural-schema pruning, apiextensions-apiserver/pkg/apiserver/schema/pruning):
 *   fields the schema does not declare are dropped, unless `x-kubernetes-preserve-unknown-fields`;
 *   the dropped paths go back to the caller, which answers them by the request's fieldValidation
 *   (Strict: 400, Warn: a warning header, Ignore: nothing);
 * - defaulting of `default` values for absent properties;
 * - validation (kube-openapi's validate package through apiextensions' ValidateCustomResource):
 *   type, nullable, enum, required, numeric and length bounds, pattern, with the messages and
 *   field paths a real server writes (`results[0].result: Unsupported value: "bad": ...`).
 *
 * CEL rules (x-kubernetes-validations) and formats are not checked.
 */

export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  nullable?: boolean;
  default?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  [keyword: string]: unknown;
}

/** Top-level fields every object has, which the schema does not govern beyond their type. */
const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata']);

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Removes undeclared fields in place; returns nothing, pushes each dropped path onto `unknown`. */
export function prune(value: unknown, schema: JsonSchema, path: string, unknown: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => prune(item, schema.items!, `${path}[${i}]`, unknown));
    return;
  }
  if (!isPlainObject(value)) return;
  // The root, and an embedded object, keep their own apiVersion, kind and metadata.
  const keepEnvelope = path === '' || schema['x-kubernetes-embedded-resource'] === true;
  const properties = schema.properties;
  const additional = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    const child = childPath(path, key);
    if (keepEnvelope && ENVELOPE.has(key)) continue;
    const declared = properties?.[key];
    if (declared) prune(value[key], declared, child, unknown);
    else if (isPlainObject(additional)) prune(value[key], additional, child, unknown);
    else if (additional === true || schema['x-kubernetes-preserve-unknown-fields']) continue;
    else {
      delete value[key];
      unknown.push(child);
    }
  }
}

/** Fills `default` values of absent properties, depth first (structural defaulting). */
export function applyDefaults(value: unknown, schema: JsonSchema): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && property.default !== undefined)
      value[key] = structuredClone(property.default);
    if (value[key] !== undefined) applyDefaults(value[key], property);
  }
  if (isPlainObject(schema.additionalProperties)) {
    for (const key of Object.keys(value)) applyDefaults(value[key], schema.additionalProperties);
  }
}

/** The JSON type of a value as the validator names it. */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  // An integer is also a number.
  return expected === 'number' && actual === 'integer';
}

function shown(value: unknown): string {
  return JSON.stringify(value);
}

/** Validates `value` at `path` against `schema`; the envelope of the root is checked only for its type. */
export function validate(value: unknown, schema: JsonSchema, path = ''): StatusCause[] {
  const errors: StatusCause[] = [];
  const where = path || '<root>';
  if (value === null || value === undefined) {
    if (value === null && !schema.nullable && schema.type) {
      errors.push(fieldInvalid(where, 'null', `${where} in body must be of type ${schema.type}: "null"`));
    }
    return errors;
  }
  const actual = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (actual !== 'integer' && actual !== 'string') {
      errors.push(
        fieldInvalid(where, actual, `${where} in body must be of type integer,string: "${actual}"`),
      );
      return errors;
    }
  } else if (schema.type && !typeMatches(schema.type, actual)) {
    errors.push(fieldInvalid(where, actual, `${where} in body must be of type ${schema.type}: "${actual}"`));
    return errors;
  }
  if (schema.enum && !schema.enum.some((allowed) => canonical(allowed) === canonical(value))) {
    errors.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${shown(value)}: supported values: ${schema.enum.map(shown).join(', ')}`,
      field: where,
    });
  }
  if (typeof value === 'number') errors.push(...numberBounds(value, schema, where));
  if (typeof value === 'string') errors.push(...stringBounds(value, schema, where));
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push(
        fieldInvalid(where, value.length, `${where} in body should have at least ${schema.minItems} items`),
      );
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push({
        reason: 'FieldValueTooMany',
        message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
        field: where,
      });
    }
    if (schema.items)
      value.forEach((item, i) => errors.push(...validate(item, schema.items!, `${path}[${i}]`)));
  }
  if (isPlainObject(value)) {
    for (const key of schema.required ?? []) {
      if (value[key] === undefined) errors.push(fieldRequired(childPath(path, key)));
    }
    for (const [key, child] of Object.entries(value)) {
      if (path === '' && key === 'metadata') continue;
      const declared = schema.properties?.[key];
      const childSchema =
        declared ?? (isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (childSchema) errors.push(...validate(child, childSchema, childPath(path, key)));
    }
  }
  return errors;
}

function numberBounds(value: number, schema: JsonSchema, where: string): StatusCause[] {
  const errors: StatusCause[] = [];
  if (schema.minimum !== undefined) {
    const below = schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum;
    if (below) {
      const relation = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      errors.push(fieldInvalid(where, value, `${where} in body should be ${relation} ${schema.minimum}`));
    }
  }
  if (schema.maximum !== undefined) {
    const above = schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum;
    if (above) {
      const relation = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
      errors.push(fieldInvalid(where, value, `${where} in body should be ${relation} ${schema.maximum}`));
    }
  }
  return errors;
}

function stringBounds(value: string, schema: JsonSchema, where: string): StatusCause[] {
  const errors: StatusCause[] = [];
  // Lengths count characters (runes), not UTF-16 units.
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    errors.push(
      fieldInvalid(where, value, `${where} in body should be at least ${schema.minLength} chars long`),
    );
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    errors.push({
      reason: 'FieldValueTooLong',
      message: `Too long: may not be longer than ${schema.maxLength}`,
      field: where,
    });
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push(fieldInvalid(where, value, `${where} in body should match '${schema.pattern}'`));
  }
  return errors;
}
