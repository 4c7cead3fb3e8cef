/** One step of a key path: a mapping key or a list index. */
export type PathSegment = string | number;
export type KeyPath = readonly PathSegment[];

/**
 * A configuration problem found while validating, before it is known where the input came from.
 * `parseConfig` turns it into a ConfigError; `loadConfig` also adds the file position of the key.
 */
export class ConfigViolation extends Error {
  readonly keyPath: KeyPath;
  readonly problem: string;
  /** The problem lies in the key itself (an unknown key), not in its value: point at the key. */
  readonly atKey: boolean;
  constructor(keyPath: KeyPath, problem: string, atKey = false) {
    super(`${formatKeyPath(keyPath)}: ${problem}`);
    this.name = 'ConfigViolation';
    this.keyPath = keyPath;
    this.problem = problem;
    this.atKey = atKey;
  }
}

export function violation(keyPath: KeyPath, problem: string): never {
  throw new ConfigViolation(keyPath, problem);
}

// Keys made only of these characters read unambiguously after a dot; anything else
// (dots, spaces, control characters) is shown quoted so the path stays one readable line.
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `policy.checks.severity.max.CRITICAL`, `webhook.kinds[2]`, `ecr.assumeRoles["a b"]`. */
export function formatKeyPath(keyPath: KeyPath): string {
  let text = '';
  for (const segment of keyPath) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${quote(segment)}]`;
  }
  return text;
}

// A user's value is echoed in a one-line message; past this length it is cut, since a
// message that scrolls off the terminal no longer helps anyone find the key.
const MAX_QUOTED_LENGTH = 60;

/** A user-supplied string as a JSON string literal (escapes keep it on one line), shortened. */
export function quote(text: string): string {
  const shown = text.length > MAX_QUOTED_LENGTH ? `${text.slice(0, MAX_QUOTED_LENGTH)}…` : text;
  return JSON.stringify(shown);
}
