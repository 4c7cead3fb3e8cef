import { parseDuration } from './duration.ts';
import { parseSize } from './size.ts';
import { closestMatch } from './suggest.ts';
import type { Millis } from './types.ts';
import { ConfigViolation, type KeyPath, quote, violation } from './violation.ts';

/**
 * Readers for the kinds of values a configuration holds. Each takes the raw value and its key
 * path and either returns the checked value or throws a ConfigViolation naming the path.
 * Input is untrusted (parsed YAML, or anything a caller passes), so nothing here assumes a shape.
 */

export type Mapping = Readonly<Record<string, unknown>>;

/** A plain mapping: what YAML and JSON produce. Class instances, Maps and arrays are not. */
export function isMapping(value: unknown): value is Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function readMapping(value: unknown, path: KeyPath, knownKeys: readonly string[]): Mapping {
  if (!isMapping(value)) violation(path, 'expected a mapping');
  rejectUnknownKeys(value, path, knownKeys);
  return value;
}

/**
 * Every key must be one of `knownKeys`. `__proto__` and `constructor` are never known keys, so
 * they are refused here like any typo, and no later lookup can reach Object.prototype.
 */
export function rejectUnknownKeys(mapping: Mapping, path: KeyPath, knownKeys: readonly string[]): void {
  for (const key of Object.keys(mapping)) {
    if (!knownKeys.includes(key)) throw unknownKey([...path, key], key, knownKeys);
  }
}

function unknownKey(path: KeyPath, key: string, knownKeys: readonly string[]): ConfigViolation {
  const suggestion = closestMatch(key, knownKeys);
  const hint =
    suggestion !== undefined
      ? `; did you mean ${quote(suggestion)}?`
      : ` (known keys: ${knownKeys.join(', ')})`;
  return new ConfigViolation(path, `unknown key${hint}`, true);
}

/**
 * The value under `key`, or undefined when it is absent or null. Null counts as absent
 * everywhere, as it does in Helm values: an empty YAML section (`ecr:` with nothing under it)
 * means "the defaults", and a Helm user who nulls a key gets the default back.
 */
export function valueAt(mapping: Mapping, key: string): unknown {
  if (!Object.hasOwn(mapping, key)) return undefined;
  const value = mapping[key];
  return value === null ? undefined : value;
}

export type Reader<T> = (value: unknown, path: KeyPath) => T;

/** `mapping[key]` read with `read`, or `fallback` when absent. */
export function optional<T>(mapping: Mapping, key: string, path: KeyPath, fallback: T, read: Reader<T>): T {
  const value = valueAt(mapping, key);
  return value === undefined ? fallback : read(value, [...path, key]);
}

/** One mapping of the schema (`ecr`, `policy.checks.severity`, …) with its path, read key by key. */
export interface Section {
  readonly mapping: Mapping;
  readonly path: KeyPath;
  /** The value under `key` read with `read`, or `fallback` when absent. */
  get<T>(key: string, fallback: T, read: Reader<T>): T;
}

/**
 * The mapping under `key` of `parent` (at `parentPath`), with unknown keys refused; an absent
 * one reads as empty, so every key in it takes its default.
 */
export function section(
  parent: Mapping,
  parentPath: KeyPath,
  key: string,
  knownKeys: readonly string[],
): Section {
  const path = [...parentPath, key];
  const value = valueAt(parent, key);
  return sectionOf(value === undefined ? {} : readMapping(value, path, knownKeys), path);
}

export function sectionOf(mapping: Mapping, path: KeyPath): Section {
  return { mapping, path, get: (key, fallback, read) => optional(mapping, key, path, fallback, read) };
}

export function readBoolean(value: unknown, path: KeyPath): boolean {
  if (typeof value === 'boolean') return value;
  // YAML 1.1 read these as booleans; YAML 1.2 (what this file is) reads them as strings,
  // which is a surprise worth naming rather than a bare type error.
  if (typeof value === 'string' && /^(y|yes|n|no|on|off|true|false)$/i.test(value)) {
    violation(path, `expected true or false; ${quote(value)} is a string in YAML 1.2`);
  }
  return violation(path, 'expected true or false');
}

export function integerReader(min: number, max: number, expectation: string): Reader<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      violation(path, expectation);
    }
    return value;
  };
}

export const readNonNegativeInteger = integerReader(
  0,
  Number.MAX_SAFE_INTEGER,
  'expected a non-negative integer',
);

export function enumReader<T extends string>(choices: readonly T[]): Reader<T> {
  return (value, path) => {
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
    const suggestion = typeof value === 'string' ? closestMatch(value, choices) : undefined;
    const hint = suggestion !== undefined ? `; did you mean ${quote(suggestion)}?` : '';
    return violation(path, `expected one of ${choices.join(', ')}${hint}`);
  };
}

export interface DurationBounds {
  /** Zero is refused (it would mean "never" or "always" where neither makes sense). */
  positive?: boolean;
  /** A floor below which a loop would spin or hammer an API (`refreshInterval: 1ns`). */
  min?: { ms: Millis; reason: string };
  max?: { ms: Millis; reason: string };
}

/**
 * A duration string (`5m`). A YAML number is accepted only when it is 0: `tagTTL: 300` could be
 * seconds or milliseconds, and guessing wrong by a factor of a thousand is worse than asking.
 */
export function durationReader(bounds: DurationBounds = {}): Reader<Millis> {
  return (value, path) => {
    let ms: Millis;
    if (typeof value === 'string' || typeof value === 'number') {
      try {
        ms = typeof value === 'number' && value === 0 ? 0 : parseDuration(String(value));
      } catch (err) {
        return violation(path, (err as Error).message);
      }
    } else {
      return violation(path, 'expected a duration such as "5m"');
    }
    if (bounds.positive && ms === 0) violation(path, 'must be greater than 0');
    if (bounds.min !== undefined && ms < bounds.min.ms) violation(path, bounds.min.reason);
    if (bounds.max !== undefined && ms > bounds.max.ms) violation(path, bounds.max.reason);
    return ms;
  };
}

/**
 * A size (`64Mi`, or a number of bytes) within [min, max]; `reasons` say why a bound exists, in
 * the error that names the key.
 */
export function sizeReader(
  min: { bytes: number; reason: string },
  max: { bytes: number; reason: string },
): Reader<number> {
  return (value, path) => {
    let bytes: number;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) bytes = value;
    else if (typeof value === 'string') {
      try {
        bytes = parseSize(value);
      } catch (err) {
        return violation(path, (err as Error).message);
      }
    } else return violation(path, 'expected a size such as "64Mi"');
    if (bytes < min.bytes) violation(path, min.reason);
    if (bytes > max.bytes) violation(path, max.reason);
    return bytes;
  };
}

/** A list, each item checked by `readItem`; arrays replace the default as a whole. */
export function listReader<T>(readItem: Reader<T>): Reader<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) violation(path, 'expected a list');
    const items: T[] = [];
    // An index loop, not iteration: a sparse array's holes then read as undefined and are refused.
    for (let index = 0; index < value.length; index++) items.push(readItem(value[index], [...path, index]));
    return items;
  };
}

/** A string matching `test`, with one message for both a wrong type and a wrong shape. */
export function stringReader(test: (text: string) => boolean, expectation: string): Reader<string> {
  return (value, path) => {
    if (typeof value !== 'string' || !test(value)) violation(path, expectation);
    return value;
  };
}
