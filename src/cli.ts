#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCore } from './app.ts';
import { runCheck } from './commands/check.ts';
import { loadConfig } from './config/index.ts';
import type { Config, PolicyMode } from './config/types.ts';
import { isWardenError, messageOf, UsageError } from './errors.ts';
import { createLogger } from './log.ts';

import { VERSION } from './version.ts';

const USAGE = `ecr-warden ${VERSION} — inventory, measure and police the Amazon ECR images your pods run

Usage:
  ecr-warden serve --config FILE
  ecr-warden report [-n NAMESPACE | -A] [-o table|json] [--fail-on deny] [--config FILE]
  ecr-warden check IMAGE... [--config FILE] [-o table|json] [--mode audit|warn|enforce]
  ecr-warden demo

Run 'ecr-warden COMMAND --help' for a command's options.`;

const HELP: Record<string, string> = {
  check: `Usage: ecr-warden check IMAGE... [--config FILE] [-o table|json] [--mode MODE]

Evaluate the policy on image references without a cluster, e.g. as a CI gate before deploy.
ECR images are resolved through the ECR API with the SDK's default credentials
(AWS_ENDPOINT_URL_ECR overrides the endpoint).

Options:
  --config FILE        configuration file (YAML); defaults apply without one
  -o, --output FORMAT  table (default) or json
  --mode MODE          override policy.mode: audit, warn or enforce
  -h, --help           show this help

Exit status: 0 when every image is allowed or warned, 1 when any is denied, 2 on a usage or
configuration error. Under policy.mode audit nothing is denied: use --mode enforce to gate.`,
};

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Runs one command and returns its exit status. Never throws: errors become one line and a status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      case '--version':
      case 'version':
        io.stdout.write(`${VERSION}\n`);
        return 0;
      case 'check':
        return await check(rest, io);
      default:
        throw new UsageError(`unknown command "${command}" (expected serve, report, check or demo)`);
    }
  } catch (err) {
    if (isWardenError(err) && (err.code === 'ERR_USAGE' || err.code === 'ERR_CONFIG')) {
      io.stderr.write(`ecr-warden: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`ecr-warden: ${messageOf(err)}\n`);
    return isWardenError(err) && err.code === 'ERR_KUBE_CONFIG' ? 2 : 3;
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(
  command: string,
  args: readonly string[],
  options: T,
) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // node:util's messages name the flag; keep them on one line.
    throw new UsageError(`${command}: ${messageOf(err).split('\n')[0]}`);
  }
}

function outputFormat(value: string | undefined): 'table' | 'json' {
  if (value === undefined || value === 'table' || value === 'json') return value ?? 'table';
  throw new UsageError(`-o/--output: expected table or json, got "${value}"`);
}

function withMode(config: Config, mode: string | undefined): Config {
  if (mode === undefined) return config;
  if (mode !== 'audit' && mode !== 'warn' && mode !== 'enforce') {
    throw new UsageError(`--mode: expected audit, warn or enforce, got "${mode}"`);
  }
  return { ...config, policy: { ...config.policy, mode: mode as PolicyMode } };
}

/** One-shot commands log only problems unless the config asks for detail: stdout is the product. */
function oneShotLogger(config: Config) {
  return createLogger(config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'error');
}

async function check(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('check', args, {
    config: { type: 'string' },
    output: { type: 'string', short: 'o' },
    mode: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${HELP.check}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('check: give at least one IMAGE');
  const output = outputFormat(values.output);
  const config = withMode(await loadConfig(values.config), values.mode);
  const core = buildCore(config, { log: oneShotLogger(config) });
  try {
    return await runCheck(core, { images: positionals, output }, io.stdout);
  } finally {
    core.clients.destroy();
  }
}

/** True when this file is the program (node src/cli.ts, dist/cli.js, or the npm bin link to it). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  process.exitCode = code;
}
