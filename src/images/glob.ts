/**
 * Globs over full image references, for `policy.exemptImages`.
 *
 * `*` matches any run of characters inside one path segment (never `/`), `**` any run across
 * segments, `?` exactly one character other than `/`; every other character matches itself, so
 * `.`, `[`, `+` or `@` need no escaping. A glob matches the whole reference, not a part of it.
 *
 * Matching simulates the glob as a small automaton over the reference (one pass, a set of positions in
 * the pattern), so its cost is bounded by pattern length × reference length whatever the pattern:
 * a backtracking regular expression would take exponential time on globs such as `**a**a**a**b`.
 */
import { ConfigError } from '../errors.ts';
import { MAX_REFERENCE_LENGTH } from './reference.ts';
import type { ImageReference } from './types.ts';

/** A compiled glob: call it with a reference string; `pattern` is kept for messages and logs. */
export type ImageGlob = ((reference: string) => boolean) & { readonly pattern: string };

/** Pattern elements: a literal is its UTF-16 code unit (non-negative); wildcards are negative. */
const ANY_ONE = -1;
const ANY_IN_SEGMENT = -2;
const ANY_ACROSS_SEGMENTS = -3;
const SLASH = 0x2f;
const STAR = 0x2a;
const QUESTION_MARK = 0x3f;

const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;

/**
 * What is wrong with a glob, or null when it is usable. Refuses what could never match a reference
 * (empty, longer than any reference, whitespace or control characters, a URL scheme) and `***`,
 * which could mean either wildcard.
 */
export function validateImageGlob(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'an image glob must be a string';
  if (pattern.length === 0) return 'an image glob must not be empty';
  if (pattern.length > MAX_REFERENCE_LENGTH) {
    return `an image glob must not be longer than ${MAX_REFERENCE_LENGTH} characters, as no reference is`;
  }
  if (WHITESPACE_OR_CONTROL.test(pattern)) {
    return `image glob ${JSON.stringify(pattern)} contains whitespace or a control character, which no image reference contains`;
  }
  if (pattern.includes('://')) {
    return `image glob ${JSON.stringify(pattern)} has a URL scheme; image references have none`;
  }
  if (pattern.includes('***')) {
    return `image glob ${JSON.stringify(pattern)} has "***": use "*" within one path segment or "**" across segments`;
  }
  return null;
}

/**
 * Compile a glob. Throws a ConfigError naming `keyPath` when the glob is not usable
 * (see validateImageGlob); config loading validates first and passes the element's path.
 */
export function compileImageGlob(pattern: string, keyPath = 'policy.exemptImages'): ImageGlob {
  const problem = validateImageGlob(pattern);
  if (problem) throw new ConfigError(keyPath, problem);
  const program = compile(pattern);
  const matches = (reference: string): boolean =>
    typeof reference === 'string' && reference.length <= MAX_REFERENCE_LENGTH && run(program, reference);
  return Object.assign(matches, { pattern });
}

/** Compile several globs, naming each one's index in errors: `policy.exemptImages[2]`. */
export function compileImageGlobs(patterns: readonly string[], keyPath = 'policy.exemptImages'): ImageGlob[] {
  return patterns.map((pattern, index) => compileImageGlob(pattern, `${keyPath}[${index}]`));
}

/**
 * Whether any glob matches the reference as written or in its normalized form, so that both
 * `nginx*` and `docker.io/library/*` match the pod spec's `nginx`. Hosts are case-insensitive, so the
 * normalized form with a lowercased registry is tried as well.
 */
export function matchesAnyImageGlob(globs: readonly ImageGlob[], ref: ImageReference): boolean {
  if (globs.length === 0) return false;
  const candidates = [ref.original, ref.normalized];
  const lowerRegistry = ref.registry.toLowerCase();
  if (lowerRegistry !== ref.registry) {
    candidates.push(lowerRegistry + ref.normalized.slice(ref.registry.length));
  }
  return globs.some((glob) => candidates.some((candidate) => glob(candidate)));
}

function compile(pattern: string): Int32Array {
  const program: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const code = pattern.charCodeAt(i);
    if (code === STAR) {
      if (pattern.charCodeAt(i + 1) === STAR) {
        program.push(ANY_ACROSS_SEGMENTS);
        i++;
      } else {
        program.push(ANY_IN_SEGMENT);
      }
    } else if (code === QUESTION_MARK) {
      program.push(ANY_ONE);
    } else {
      program.push(code);
    }
  }
  return Int32Array.from(program);
}

/**
 * Run the automaton: state i means "the first i pattern elements have matched the input so far".
 * Each input character moves every live state once, so the cost is states × characters.
 */
function run(program: Int32Array, input: string): boolean {
  const size = program.length + 1;
  let current = new Uint8Array(size);
  let next = new Uint8Array(size);
  current[0] = 1;
  skipEmptyStars(program, current);
  for (let position = 0; position < input.length; position++) {
    const code = input.charCodeAt(position);
    next.fill(0);
    let alive = false;
    for (let state = 0; state < program.length; state++) {
      if (current[state] === 0) continue;
      const element = program[state]!;
      if (element === ANY_ACROSS_SEGMENTS || (element === ANY_IN_SEGMENT && code !== SLASH)) {
        next[state] = 1;
        alive = true;
      } else if (element === code || (element === ANY_ONE && code !== SLASH)) {
        next[state + 1] = 1;
        alive = true;
      }
    }
    if (!alive) return false;
    skipEmptyStars(program, next);
    [current, next] = [next, current];
  }
  return current[program.length] === 1;
}

/** Marks the state after each reached star: a star may match nothing. */
function skipEmptyStars(program: Int32Array, states: Uint8Array): void {
  for (let state = 0; state < program.length; state++) {
    if (
      states[state] === 1 &&
      (program[state] === ANY_IN_SEGMENT || program[state] === ANY_ACROSS_SEGMENTS)
    ) {
      states[state + 1] = 1;
    }
  }
}
