import { ConfigError } from '../errors.ts';
import { deepFreeze } from './freeze.ts';
import { validateConfig } from './schema.ts';
import type { Config } from './types.ts';
import { ConfigViolation, formatKeyPath } from './violation.ts';
import { formatPosition, parseYaml } from './yaml.ts';

/**
 * Validates a plain value (parsed YAML or JSON; null or undefined = no settings) against SPEC
 * section 2, fills in the defaults and returns a deeply frozen Config.
 * Throws ConfigError, whose message is one line: `<key path>: <problem>`.
 */
export function parseConfig(input: unknown): Config {
  try {
    return deepFreeze(validateConfig(input));
  } catch (err) {
    if (err instanceof ConfigViolation) throw new ConfigError(formatKeyPath(err.keyPath), err.problem);
    throw err;
  }
}

/**
 * Parses configuration YAML, as `loadConfig` does with a file's contents. `source` names the
 * text in messages; problems with a key also say where it is written:
 * `ecr.tagTTL: invalid duration "5 minutes" (config.yaml:4:11)`.
 */
export function parseConfigText(text: string, source = 'configuration'): Config {
  const parsed = parseYaml(text, source);
  try {
    return deepFreeze(validateConfig(parsed.value));
  } catch (err) {
    if (!(err instanceof ConfigViolation)) throw err;
    const position = parsed.locate(err.keyPath, err.atKey);
    const where = position === undefined ? source : `${source}:${formatPosition(position)}`;
    throw new ConfigError(formatKeyPath(err.keyPath), `${err.problem} (${where})`);
  }
}
