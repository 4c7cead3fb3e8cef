import { badRequest, type StatusError } from './status.ts';

/**
 * What the API server's JSON decoder does to typed fields before any validation runs: a value of
 * the wrong JSON type, or a time in the wrong layout, fails the whole request with a 400 whose
 * message starts `<Kind> in version "<v>" cannot be handled as a <Kind>:` (runtime.Decode errors
 * as the REST handlers wrap them). Times are normalised the way metav1.Time and metav1.MicroTime
 * marshal them back: UTC, whole seconds for Time, six fractional digits for MicroTime.
 */

/** metav1.MicroTime is parsed with Go's layout RFC3339Micro: exactly six fractional digits. */
export const MICRO_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';
/** metav1.Time is parsed with time.RFC3339, which also accepts any fractional seconds. */
export const TIME_LAYOUT = '2006-01-02T15:04:05Z07:00';

const MICRO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{6})(Z|[+-]\d{2}:\d{2})$/;
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;
/** Length of "2006-01-02T15:04:05", after which the fractional part or the zone must follow. */
const SECONDS_PREFIX = 19;

export type Fail = (detail: string) => StatusError;

/** The decoder's 400 for one kind and version. */
export function decodeFailure(kind: string, version: string): Fail {
  return (detail) => badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${detail}`);
}

/** encoding/json's name for a JSON value's type, as its UnmarshalTypeError prints it. */
export function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** `json: cannot unmarshal number into Go struct field Event.note of type string` */
export function typeMismatch(value: unknown, goField: string, goType: string): string {
  return `json: cannot unmarshal ${jsonType(value)} into Go struct field ${goField} of type ${goType}`;
}

/** Seconds since the epoch of `2006-01-02T15:04:05` at `zone` (Z or ±hh:mm). */
function utcSeconds(prefix: string, zone: string): string {
  const ms = Date.parse(`${prefix}${zone === 'Z' ? 'Z' : zone}`);
  return new Date(ms).toISOString().slice(0, SECONDS_PREFIX);
}

/**
 * A metav1.MicroTime from the wire, as stored: null when absent, else UTC with six digits. The
 * real decoder rejects any other precision, e.g. JavaScript's `Date.toISOString()` (milliseconds).
 */
export function decodeMicroTime(value: unknown, goField: string, fail: Fail): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw fail(typeMismatch(value, goField, 'string'));
  const match = MICRO_TIME.exec(value);
  if (!match) {
    const where = SECONDS.test(value)
      ? `"${value.slice(SECONDS_PREFIX)}" as ".000000"`
      : `"${value}" as "2006"`;
    throw fail(`parsing time "${value}" as "${MICRO_LAYOUT}": cannot parse ${where}`);
  }
  return `${utcSeconds(match[1]!, match[3]!)}.${match[2]}Z`;
}

/** A metav1.Time from the wire, as stored: null when absent, else UTC in whole seconds. */
export function decodeTime(value: unknown, goField: string, fail: Fail): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw fail(typeMismatch(value, goField, 'string'));
  const match = RFC3339.exec(value);
  if (!match) {
    const where = SECONDS.test(value)
      ? `"${value.slice(SECONDS_PREFIX)}" as "Z07:00"`
      : `"${value}" as "2006"`;
    throw fail(`parsing time "${value}" as "${TIME_LAYOUT}": cannot parse ${where}`);
  }
  return `${utcSeconds(match[1]!, match[3]!)}Z`;
}

/** A Go `string` field: null and absent are the empty string. */
export function decodeString(value: unknown, goField: string, fail: Fail): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw fail(typeMismatch(value, goField, 'string'));
  return value;
}

/** A Go `int32` field: null and absent are 0; a fraction or an out-of-range number fails. */
export function decodeInt32(value: unknown, goField: string, fail: Fail): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number') throw fail(typeMismatch(value, goField, 'int32'));
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
    throw fail(`json: cannot unmarshal number ${value} into Go struct field ${goField} of type int32`);
  }
  return value;
}
