/**
 * The configuration module: SPEC section 2 read from YAML or plain data into a deeply frozen,
 * fully defaulted Config, with one-line ConfigError messages that name the key path.
 */
export { DEFAULT_CONFIG, defaultConfig } from './defaults.ts';
export { type ConfigDocument, toConfigDocument } from './document.ts';
export { formatDuration, parseDuration, parseDurationOption } from './duration.ts';
export { loadConfig, MAX_CONFIG_BYTES } from './load.ts';
export { parseConfig, parseConfigText } from './parse.ts';
export type * from './types.ts';
export { SEVERITIES, WORKLOAD_KINDS } from './types.ts';
