import { open } from 'node:fs/promises';
import { getSystemErrorMap } from 'node:util';
import { ConfigError } from '../errors.ts';
import { defaultConfig } from './defaults.ts';
import { parseConfigText } from './parse.ts';
import type { Config } from './types.ts';

/**
 * A configuration is a few kilobytes; a file past 1 MiB is a mistake (or an attack), and the YAML
 * parser's time grows with the input, so it is refused before parsing.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads and validates a configuration file; without a path, the defaults. Throws ConfigError for
 * a file that cannot be read, is too large, is not UTF-8, is not valid YAML or breaks the schema.
 */
export async function loadConfig(path?: string): Promise<Config> {
  if (path === undefined) return defaultConfig();
  return parseConfigText(await readConfigFile(path), path);
}

/** The file's text, read in bounded chunks so that even a device or a FIFO cannot make it read forever. */
async function readConfigFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      // One byte past the limit tells "exactly 1 MiB" from "more".
      const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      bytes = buffer.subarray(0, length);
    } finally {
      await file.close();
    }
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${path}: ${systemReason(err)}`, { cause: err });
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new ConfigError('', `config file ${path} is larger than 1 MiB; a configuration is a few kilobytes`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError('', `config file ${path} is not UTF-8 text`, { cause: err });
  }
}

/** `no such file or directory (ENOENT)`: the operating system's words, without the path again. */
function systemReason(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException | undefined)?.errno;
  const entry = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined;
  if (entry !== undefined) return `${entry[1]} (${entry[0]})`;
  return err instanceof Error ? (err.message.split('\n', 1)[0] ?? '') : String(err);
}
