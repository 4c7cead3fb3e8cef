import { UsageError } from '../errors.ts';
import type { Millis } from './types.ts';
import { quote } from './violation.ts';

/**
 * Go's `time.ParseDuration` grammar (`1h30m`, `1.5h`, `800ms`, `0`) with a day unit added, since
 * retention-style settings (`staleAfter: 90d`) read badly in hours. Arithmetic is done in whole
 * nanoseconds with BigInt, as Go does, so `1.1h` is exactly 3 960 000 ms rather than a float's
 * 3 960 000.0000000005.
 */

const NANOS_PER_MILLI = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_MINUTE = 60n * NANOS_PER_SECOND;
const NANOS_PER_HOUR = 60n * NANOS_PER_MINUTE;
const NANOS_PER_DAY = 24n * NANOS_PER_HOUR;

const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5 MICRO SIGN, as Go accepts
  ['μs', 1_000n], // U+03BC GREEK SMALL LETTER MU, as Go accepts
  ['ms', NANOS_PER_MILLI],
  ['s', NANOS_PER_SECOND],
  ['m', NANOS_PER_MINUTE],
  ['h', NANOS_PER_HOUR],
  ['d', NANOS_PER_DAY],
]);
const UNIT_LIST = 'ns, us, ms, s, m, h or d';

// Results are plain numbers of milliseconds, exact only up to Number.MAX_SAFE_INTEGER.
const MAX_NANOS = BigInt(Number.MAX_SAFE_INTEGER) * NANOS_PER_MILLI;
// MAX_NANOS has 22 digits; an integer part longer than that (after leading zeros) is too large
// whatever its unit, and is refused before BigInt parses a hostile megabyte of digits.
const MAX_INTEGER_DIGITS = 22;
// Even in days (8.64e13 ns) the digits past the 15th of a fraction add less than a tenth of a
// nanosecond, so they are dropped rather than fed to BigInt.
const MAX_FRACTION_DIGITS = 15;

const NUMBER = /^(\d*)(?:\.(\d*))?/;
// µ and μ (micro sign, Greek mu) escaped: the program's one non-ASCII character would make V8 hold
// the whole bundled source as a two-byte string (scripts/bundle.ts).
const UNIT = /^[a-zA-Z\u00b5\u03bc]+/;

/**
 * Parses a duration into milliseconds (fractional below one millisecond: `1500us` → 1.5).
 * Throws a plain Error whose message completes `<key path>: …`.
 */
export function parseDuration(text: string): Millis {
  const invalid = (detail?: string): Error =>
    new Error(`invalid duration ${quote(text)}${detail ? `: ${detail}` : ''}`);
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  // Go accepts a bare zero and nothing else without a unit.
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let nanos = 0n;
  while (rest !== '') {
    const number = NUMBER.exec(rest);
    const integerDigits = number?.[1] ?? '';
    const fractionDigits = number?.[2] ?? '';
    if (integerDigits === '' && fractionDigits === '') throw invalid();
    rest = rest.slice(number?.[0].length ?? 0);
    const unitMatch = UNIT.exec(rest);
    if (unitMatch === null) throw invalid(rest === '' ? `missing unit (${UNIT_LIST})` : undefined);
    const unit = unitMatch[0];
    const unitNanos = UNIT_NANOS.get(unit);
    if (unitNanos === undefined) throw invalid(`unknown unit ${quote(unit)} (${UNIT_LIST})`);
    rest = rest.slice(unit.length);
    const significant = integerDigits.replace(/^0+/, '');
    if (significant.length > MAX_INTEGER_DIGITS) throw invalid('too large');
    const fraction = fractionDigits.slice(0, MAX_FRACTION_DIGITS);
    nanos += BigInt(significant || '0') * unitNanos;
    if (fraction !== '') nanos += (BigInt(fraction) * unitNanos) / 10n ** BigInt(fraction.length);
    if (nanos > MAX_NANOS) throw invalid('too large');
  }
  if (negative && nanos > 0n) throw new Error('must not be negative');
  return nanosToMillis(nanos);
}

function nanosToMillis(nanos: bigint): Millis {
  if (nanos % NANOS_PER_MILLI === 0n) return Number(nanos / NANOS_PER_MILLI);
  // One division of the whole count rounds once, so 7637us reads as 7.637, the same number as
  // 7637 / 1000; adding a whole and a fractional part would round twice (7.6370000000000005).
  return Number(nanos) / 1e6;
}

function millisToNanos(ms: Millis): bigint {
  const whole = Math.trunc(ms);
  return BigInt(whole) * NANOS_PER_MILLI + BigInt(Math.round((ms - whole) * 1e6));
}

/**
 * A duration for messages, in the form parseDuration reads back: `5m`, `1h30m`, `30d`, `1.5s`,
 * `800ms`, `0s`. Zero components are left out (`1h30m`, where Go would print `1h30m0s`).
 */
export function formatDuration(ms: Millis): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const nanos = millisToNanos(ms);
  if (nanos === 0n) return '0s';
  if (nanos < NANOS_PER_SECOND) {
    if (nanos >= NANOS_PER_MILLI) return withFraction(nanos, NANOS_PER_MILLI, 'ms');
    if (nanos >= 1_000n) return withFraction(nanos, 1_000n, 'us');
    return `${nanos}ns`;
  }
  let text = '';
  let remaining = nanos;
  for (const [unit, size] of [
    ['d', NANOS_PER_DAY],
    ['h', NANOS_PER_HOUR],
    ['m', NANOS_PER_MINUTE],
  ] as const) {
    const count = remaining / size;
    if (count > 0n) text += `${count}${unit}`;
    remaining %= size;
  }
  if (remaining > 0n) text += withFraction(remaining, NANOS_PER_SECOND, 's');
  return text;
}

function withFraction(nanos: bigint, unitNanos: bigint, unit: string): string {
  const whole = nanos / unitNanos;
  const part = nanos % unitNanos;
  if (part === 0n) return `${whole}${unit}`;
  const digits = String(unitNanos).length - 1;
  const fraction = String(part).padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${fraction}${unit}`;
}

/**
 * A duration given on the command line (`--timeout 30s`): the same grammar as the file, with a
 * UsageError that names the option, e.g. `--timeout: invalid duration "30"`.
 */
export function parseDurationOption(option: string, text: string): Millis {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UsageError(`${option}: ${(err as Error).message}`);
  }
}
