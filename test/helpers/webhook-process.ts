/**
 * The webhook in a process of its own, with V8's heap capped as the Helm chart caps it, against an
 * ECR simulator in the calling process: for a test or benchmark that floods it, measures its resident
 * memory, and must see it survive. The child samples its RSS every few milliseconds and reports the
 * peak on request.
 */
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { startWebhookServer } from '../../src/admission/index.ts';
import { buildCore } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { SIMULATOR_CREDENTIALS } from '../../sim/ecr/index.ts';
import { createTestCertificates, review, testConfig } from './reviews.ts';
import { IMAGE_NODE_FLAGS } from '../../bench/image.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD_FLAG = '--webhook-process';
/** How often the child samples its RSS: often enough to catch a peak that lasts a garbage collection. */
const SAMPLE_MS = 10;

/**
 * The NODE_OPTIONS the chart gives the controller (V8's heap size), read from its rendered Deployment
 * (the default values, webhook on), so the process here is sized exactly as in a cluster.
 */
export async function chartNodeOptions(): Promise<string> {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/helm'), [
    'template',
    'warden',
    join(ROOT, 'charts/ecr-warden'),
    '--set',
    'webhook.enabled=true',
  ]);
  for (const doc of parseAllDocuments(stdout)) {
    const object = doc.toJS() as {
      kind?: string;
      spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } };
    } | null;
    if (object?.kind !== 'Deployment') continue;
    const env = object.spec?.template?.spec?.containers?.[0]?.env ?? [];
    const options = env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    if (/--max-old-space-size=\d+/.test(options)) return options;
  }
  throw new Error('the chart sets no --max-old-space-size in NODE_OPTIONS');
}

type ToChild = { type: 'peak' } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; port: number; ca: string }
  | { type: 'peak'; rss: number; heapLimit: number; nodeOptions: string };

export interface WebhookProcess {
  port: number;
  /** The CA that signed the webhook's serving certificate. */
  ca: string;
  /**
   * The highest RSS the child saw since it started or since the last call, in bytes; its V8 heap limit
   * (heap_size_limit: old space and young generation) and the NODE_OPTIONS it runs with.
   */
  peak(): Promise<{ rss: number; heapLimit: number; nodeOptions: string }>;
  /** Whether the child is still running. */
  alive(): boolean;
  /** How it ended, once it has: exit code or signal. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | null;
  stop(): Promise<void>;
}

/**
 * Forks the webhook with `nodeOptions` as its NODE_OPTIONS (as the chart sets them) and the given
 * settings (YAML-shaped, on top of the test defaults), resolving ECR images through `ecrEndpoint`.
 */
export async function startWebhookProcess(options: {
  nodeOptions: string;
  ecrEndpoint: string;
  settings?: Record<string, unknown>;
}): Promise<WebhookProcess> {
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
    // Node run as the image runs it; the heap as the chart sizes it (NODE_OPTIONS, below).
    execArgv: [...IMAGE_NODE_FLAGS],
    env: {
      ...process.env,
      NODE_OPTIONS: options.nodeOptions,
      WEBHOOK_PROCESS_OPTIONS: JSON.stringify({
        ecrEndpoint: options.ecrEndpoint,
        settings: options.settings,
      }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let ended: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.once('exit', (code, signal) => {
    ended = { code, signal };
  });
  const [ready] = (await once(child, 'message')) as [FromChild];
  if (ready.type !== 'ready') throw new Error(`unexpected first message ${ready.type}`);
  const ask = async (message: ToChild): Promise<FromChild> => {
    const answer = once(child, 'message');
    child.send(message);
    return ((await answer) as [FromChild])[0];
  };
  return {
    port: ready.port,
    ca: ready.ca,
    async peak() {
      const answer = await ask({ type: 'peak' });
      if (answer.type !== 'peak') throw new Error(`unexpected answer ${answer.type}`);
      return { rss: answer.rss, heapLimit: answer.heapLimit, nodeOptions: answer.nodeOptions };
    },
    alive: () => ended === null,
    exit: () => ended,
    async stop() {
      if (ended) return;
      const exited = once(child, 'exit');
      child.send({ type: 'stop' } satisfies ToChild);
      await exited;
    },
  };
}

/** Replies to one POST: status, headers and body text. Each on a connection of its own. */
export function post(
  port: number,
  ca: string,
  path: string,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
        servername: 'localhost',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    // A refused body is answered before it is all sent; the server then closes the connection, which
    // may cut the rest of the upload short: that is not a failure of the review.
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A Pod CREATE review just under `bytes` of JSON, running `image`, its bulk in many small objects (env
 * entries: the costliest shape for a JSON parser's heap, far more than one long string).
 */
export function bulkyReview(image: string, bytes: number): Buffer {
  const entry = (i: number) => ({ name: `SETTING_${i}`, value: `value-${i}-${'x'.repeat(24)}` });
  const perEntry = JSON.stringify(entry(100_000)).length + 1;
  const skeleton = (env: unknown[]) =>
    review({
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bulky', namespace: 'team-a' },
        spec: { containers: [{ name: 'app', image, env }] },
      },
    });
  const base = Buffer.byteLength(JSON.stringify(skeleton([])));
  const count = Math.floor((bytes - base) / perEntry) - 1;
  const text = JSON.stringify(skeleton(Array.from({ length: count }, (_, i) => entry(100_000 + i))));
  if (Buffer.byteLength(text) > bytes) throw new RangeError('the review came out larger than asked');
  return Buffer.from(text);
}

// ---------------------------------------------------------------- the child

async function child(): Promise<void> {
  const { ecrEndpoint, settings } = JSON.parse(process.env.WEBHOOK_PROCESS_OPTIONS ?? '{}') as {
    ecrEndpoint: string;
    settings?: Record<string, unknown>;
  };
  const certs = await createTestCertificates();
  const config = testConfig({
    ...settings,
    webhook: {
      ...(settings?.webhook as object | undefined),
      address: '127.0.0.1',
      port: 0,
      certFile: certs.certFile,
      keyFile: certs.keyFile,
    },
  });
  const core = buildCore(config, {
    endpoint: ecrEndpoint,
    credentials: SIMULATOR_CREDENTIALS,
    log: silentLogger,
  });
  const server = await startWebhookServer({
    config: config.webhook,
    policy: config.policy,
    assessor: core.assessor,
    log: silentLogger,
  });
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, SAMPLE_MS);
  const { getHeapStatistics } = await import('node:v8');
  process.on('message', (message: ToChild) => {
    void (async () => {
      if (message.type === 'peak') {
        peak = Math.max(peak, process.memoryUsage.rss());
        process.send?.({
          type: 'peak',
          rss: peak,
          heapLimit: getHeapStatistics().heap_size_limit,
          nodeOptions: process.env.NODE_OPTIONS ?? '',
        } satisfies FromChild);
        peak = process.memoryUsage.rss();
        return;
      }
      clearInterval(sampler);
      await server.close();
      core.clients.destroy();
      await certs.cleanup();
      process.disconnect();
    })();
  });
  process.send?.({ type: 'ready', port: server.address.port, ca: certs.ca.cert } satisfies FromChild);
}

if (process.argv.includes(CHILD_FLAG)) await child();
