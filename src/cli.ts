#!/usr/bin/env node
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCore } from './app.ts';
import { runCheck } from './commands/check.ts';
import { runReport } from './commands/report.ts';
import { loadConfig } from './config/index.ts';
import type { Config, PolicyMode } from './config/types.ts';
import { startController } from './commands/serve.ts';
import { isWardenError, messageOf, UsageError } from './errors.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { createLogger } from './log.ts';

import { VERSION } from './version.ts';

const USAGE = `ecr-warden ${VERSION} — inventory, measure and police the Amazon ECR images your pods run

Usage:
  ecr-warden serve [--config FILE]
  ecr-warden report [-n NAMESPACE | -A] [-o table|json] [--fail-on deny|warn] [--config FILE]
  ecr-warden check IMAGE... [--config FILE] [-o table|json] [--mode audit|warn|enforce]
  ecr-warden demo

Run 'ecr-warden COMMAND --help' for a command's options.`;

const HELP: Record<string, string> = {
  serve: `Usage: ecr-warden serve [--config FILE]

The in-cluster process: the pod inventory and its metrics (on the leader when leader election is
on), the admission webhook when webhook.enabled, and /metrics /healthz /readyz on metrics.port.
Kubernetes: in-cluster, else KUBECONFIG or ~/.kube/config. AWS: the SDK's default credential chain;
AWS_ENDPOINT_URL_ECR overrides the ECR endpoint. Stops cleanly on SIGTERM or SIGINT.

Options:
  --config FILE   configuration file (YAML); defaults apply without one
  -h, --help      show this help`,
  report: `Usage: ecr-warden report [-n NAMESPACE | -A] [-o table|json] [--fail-on deny|warn] [--config FILE]

One-shot audit of the current kube context: every container's image, digest, drift, scan status,
findings, push and pull times and the policy's verdict.

Options:
  -n, --namespace NS    only this namespace (default: the context's namespace)
  -A, --all-namespaces  every namespace in scope (namespaces.include / exclude)
  -o, --output FORMAT   table (default) or json
  --fail-on LEVEL       exit 1 when any container would be denied (deny) or warned (warn)
                        under policy.mode enforce, whatever the configured mode
  --mode MODE           override policy.mode for the verdicts shown
  --config FILE         configuration file (YAML)
  -h, --help            show this help`,
  demo: `Usage: ecr-warden demo

Starts a simulated Kubernetes API and a simulated Amazon ECR in this process, seeded with a
realistic fleet, runs 'serve' against them through the real clients, prints where metrics and the
webhook listen and a report, and runs until Ctrl-C.`,
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
      case 'report':
        return await report(rest, io);
      case 'serve':
        return await serve(rest, io);
      case 'demo':
        return await demo(rest, io);
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

/** Resolves when the process is asked to stop (SIGTERM from the kubelet, Ctrl-C). */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return controller.signal;
}

async function serve(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('serve', args, { config: { type: 'string' } });
  if (values.help) {
    io.stdout.write(`${HELP.serve}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`serve: unexpected argument "${positionals[0]}"`);
  const config = await loadConfig(values.config);
  const log = createLogger(config.logLevel);
  // A long-running controller keeps serving through a bug in one request's path: log it loudly
  // (it is a bug) rather than let Node end the process and every other review with it.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const needsKube = config.inventory.enabled || config.leaderElection.enabled;
  const kubeConfig = needsKube ? loadKubeConfig(io.env) : undefined;
  const signal = stopSignal();
  const controller = await startController(config, {
    log,
    env: io.env,
    ...(kubeConfig ? { kubeConfig } : {}),
  });
  log.info(
    { metrics: controller.metricsUrl, webhook: controller.webhookUrl, version: VERSION },
    'ecr-warden serving',
  );
  if (!signal.aborted) await once(signal, 'abort');
  log.info('stopping');
  await controller.stop();
  log.flush();
  return 0;
}

async function report(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('report', args, {
    config: { type: 'string' },
    output: { type: 'string', short: 'o' },
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A' },
    'fail-on': { type: 'string' },
    mode: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${HELP.report}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`report: unexpected argument "${positionals[0]}"`);
  if (values.namespace !== undefined && values['all-namespaces']) {
    throw new UsageError('report: -n/--namespace and -A/--all-namespaces cannot be used together');
  }
  const failOn = values['fail-on'];
  if (failOn !== undefined && failOn !== 'deny' && failOn !== 'warn') {
    throw new UsageError(`--fail-on: expected deny or warn, got "${failOn}"`);
  }
  const output = outputFormat(values.output);
  const config = withMode(await loadConfig(values.config), values.mode);
  const kubeConfig = loadKubeConfig(io.env);
  const namespace = values['all-namespaces']
    ? null
    : (values.namespace ??
      kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ??
      'default');
  const log = oneShotLogger(config);
  const core = buildCore(config, { log });
  try {
    return await runReport(
      config,
      core,
      kubeConfig,
      { namespace, output, failOn: failOn ?? null },
      io.stdout,
      log,
    );
  } finally {
    core.clients.destroy();
  }
}

async function demo(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('demo', args, {});
  if (values.help) {
    io.stdout.write(`${HELP.demo}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`demo: unexpected argument "${positionals[0]}"`);
  const demoModule = await loadDemo();
  if (!demoModule) {
    io.stderr.write(
      'ecr-warden: the demo is not part of the container image; run it from the npm package: npx ecr-warden demo\n',
    );
    return 2;
  }
  return demoModule.runDemo(io.stdout, createLogger('warn'), stopSignal());
}

/** What the demo module gives; it lives with the simulators, which ship in the npm package only. */
interface DemoModule {
  runDemo(
    out: NodeJS.WritableStream,
    log: ReturnType<typeof createLogger>,
    signal: AbortSignal,
  ): Promise<number>;
}

/**
 * Loads the demo on demand, so `serve`, `check` and `report` never load a simulator. Built, this file
 * is dist/src/cli.js beside dist/sim/; run from source it is src/cli.ts beside sim/. The container
 * image carries no dist/sim: null then.
 */
async function loadDemo(): Promise<DemoModule | null> {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`../sim/demo/command.${extension}`, import.meta.url);
  try {
    return (await import(url.href)) as DemoModule;
  } catch (err) {
    if (
      (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      (err as Error).message.includes(url.pathname)
    ) {
      return null;
    }
    throw err;
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
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  process.exitCode = code;
  // The command is over: whatever still holds the event loop (a socket of a start that failed half
  // way, say) must not keep the process alive. Exit once stdout and stderr have drained, so piped
  // output (report -o json | jq) is never cut short.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
