/**
 * Builders and fixtures for the admission webhook tests (and its benchmark): pods, workloads and
 * AdmissionReviews without large literals; a webhook served over real HTTPS with a generated CA,
 * backed by the ECR simulator through the real resolver; a small HTTPS client; a JSONPatch applier.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { AdmissionObserver, Decision, WebhookName } from '../../src/admission/index.ts';
import { startWebhookServer, type WebhookServer } from '../../src/admission/index.ts';
import {
  generateCertificateAuthority,
  issueServingCertificate,
  type PemPair,
} from '../../sim/self-signed.ts';
import { buildCore, type Core } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { Config, WorkloadKind } from '../../src/config/types.ts';
import { silentLogger } from '../../src/log.ts';
import {
  type EcrScenario,
  type EcrSimulator,
  SIMULATOR_CREDENTIALS,
  startEcrSimulator,
} from '../../sim/ecr/index.ts';

// ---------------------------------------------------------------- images in the simulated registry

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

export function ecrImage(repository: string, tagOrDigest: string): string {
  return tagOrDigest.startsWith('sha256:')
    ? `${REGISTRY}/${repository}@${tagOrDigest}`
    : `${REGISTRY}/${repository}:${tagOrDigest}`;
}

const DAY_MS = 86_400_000;

/** The images the admission tests judge, one per verdict. Basic (Clair) scans: one DescribeImages call each. */
export const IMAGES = {
  /** COMPLETE scan, no findings: allowed. */
  clean: ecrImage('api', 'v8'),
  /** COMPLETE scan, 3 CRITICAL and 1 HIGH findings: denied by the default severity check. */
  critical: ecrImage('api', 'v7'),
  /** Scan IN_PROGRESS: a warning from scanComplete. */
  scanning: ecrImage('web', 'v1'),
  /** Archived: denied by the archived check. */
  archived: ecrImage('legacy', 'v1'),
  /** A tag the repository does not have: denied by imageExists. */
  missing: ecrImage('api', 'v9'),
  /** Not an ECR image: nothing to ask ECR. */
  dockerHub: 'nginx:1.27',
} as const;

export function admissionScenario(now = new Date()): EcrScenario {
  const pushedAt = new Date(now.getTime() - 10 * DAY_MS);
  const completedAt = new Date(pushedAt.getTime() + 60_000);
  return {
    callerAccount: ACCOUNT,
    registries: [
      {
        accountId: ACCOUNT,
        region: REGION,
        repositories: [
          {
            name: 'api',
            images: [
              {
                tags: ['v7'],
                pushedAt,
                scan: {
                  kind: 'legacy-basic',
                  status: 'COMPLETE',
                  findings: { CRITICAL: 3, HIGH: 1 },
                  completedAt,
                },
              },
              {
                tags: ['v8'],
                pushedAt,
                scan: { kind: 'legacy-basic', status: 'COMPLETE', findings: {}, completedAt },
              },
            ],
          },
          {
            name: 'web',
            images: [{ tags: ['v1'], pushedAt, scan: { kind: 'legacy-basic', status: 'IN_PROGRESS' } }],
          },
          {
            name: 'legacy',
            images: [
              {
                tags: ['v1'],
                pushedAt,
                imageStatus: 'ARCHIVED',
                scan: { kind: 'legacy-basic', status: 'COMPLETE', findings: {}, completedAt },
              },
            ],
          },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------- configuration

type Settings = Record<string, unknown>;

function merge(base: Settings, extra: Settings): Settings {
  const out: Settings = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    const bothObjects = [current, value].every(
      (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    );
    out[key] = bothObjects ? merge(current as Settings, value as Settings) : value;
  }
  return out;
}

/** A full Config through the real parser: enforce mode, the given settings on top (YAML-shaped). */
export function testConfig(settings: Settings = {}): Config {
  return parseConfig(merge({ logLevel: 'error', policy: { mode: 'enforce' } }, settings));
}

// ---------------------------------------------------------------- pods, workloads, reviews

export interface ContainerSpec {
  name: string;
  image?: string;
}

export function container(name: string, image?: string): ContainerSpec {
  return image === undefined ? { name } : { name, image };
}

export interface PodSpecParts {
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  ephemeralContainers?: ContainerSpec[];
}

export function podSpec(parts: PodSpecParts): Settings {
  return {
    ...(parts.initContainers ? { initContainers: parts.initContainers } : {}),
    containers: parts.containers ?? [],
    ...(parts.ephemeralContainers ? { ephemeralContainers: parts.ephemeralContainers } : {}),
    restartPolicy: 'Always',
  };
}

/** `containers` as image strings name them c0, c1, …; or give parts for init and ephemeral containers. */
export function pod(parts: PodSpecParts | string[], name = 'demo', namespace = 'team-a'): Settings {
  const spec = Array.isArray(parts)
    ? podSpec({ containers: parts.map((image, i) => container(`c${i}`, image)) })
    : podSpec(parts);
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec };
}

const API_VERSIONS: Record<WorkloadKind, string> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  ReplicationController: 'v1',
};

export const TEMPLATE_KINDS: readonly WorkloadKind[] = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'ReplicationController',
];

/** A workload of `kind` whose pod template holds `parts` (for Pod, the pod itself). */
export function workload(
  kind: WorkloadKind,
  parts: PodSpecParts | string[],
  name = 'demo',
  namespace = 'team-a',
): Settings {
  if (kind === 'Pod') return pod(parts, name, namespace);
  const spec = (pod(parts, name, namespace) as { spec: Settings }).spec;
  const template = { metadata: { labels: { app: name } }, spec };
  const body =
    kind === 'CronJob'
      ? { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } }
      : { selector: { matchLabels: { app: name } }, template };
  return { apiVersion: API_VERSIONS[kind], kind, metadata: { name, namespace }, spec: body };
}

export interface ReviewParts {
  kind?: WorkloadKind | { group: string; version: string; kind: string };
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: unknown;
  oldObject?: unknown;
  namespace?: string;
  subResource?: string;
  dryRun?: boolean;
  uid?: string;
}

function gvkOf(kind: WorkloadKind): { group: string; version: string; kind: string } {
  const [group, version] = API_VERSIONS[kind].includes('/')
    ? API_VERSIONS[kind].split('/')
    : ['', API_VERSIONS[kind]];
  return { group: group!, version: version!, kind };
}

/** An AdmissionReview v1 as the apiserver sends it. */
export function review(parts: ReviewParts = {}): Settings {
  const kind = typeof parts.kind === 'object' ? parts.kind : gvkOf(parts.kind ?? 'Pod');
  const namespace = parts.namespace ?? 'team-a';
  const plural = `${kind.kind.toLowerCase()}s`;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: parts.uid ?? randomUUID(),
      kind,
      resource: { group: kind.group, version: kind.version, resource: plural },
      requestKind: kind,
      requestResource: { group: kind.group, version: kind.version, resource: plural },
      ...(parts.subResource ? { subResource: parts.subResource } : {}),
      name: 'demo',
      namespace,
      operation: parts.operation ?? 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object: parts.object ?? null,
      oldObject: parts.oldObject ?? null,
      dryRun: parts.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** A review of a Pod (or workload) CREATE running `images` in namespace team-a. */
export function reviewOf(
  kind: WorkloadKind,
  parts: PodSpecParts | string[],
  extra: ReviewParts = {},
): Settings {
  return review({ kind, object: workload(kind, parts, 'demo', extra.namespace ?? 'team-a'), ...extra });
}

// ---------------------------------------------------------------- JSONPatch

export interface PatchOperation {
  op: string;
  path: string;
  value?: unknown;
}

/** RFC 6902 `replace` and `add` (the operations the webhook may send), on a deep copy of `document`. */
export function applyJsonPatch<T>(document: T, patch: readonly PatchOperation[]): T {
  const root = structuredClone(document) as unknown;
  for (const operation of patch) {
    const tokens = operation.path
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = tokens.pop();
    if (last === undefined) throw new Error(`cannot patch the root: ${operation.path}`);
    let parent = root as Record<string, unknown>;
    for (const token of tokens) {
      const next = parent[token];
      if (typeof next !== 'object' || next === null)
        throw new Error(`no ${token} on the way to ${operation.path}`);
      parent = next as Record<string, unknown>;
    }
    if (operation.op === 'replace') {
      if (!(last in parent)) throw new Error(`replace of a missing member: ${operation.path}`);
      parent[last] = operation.value;
    } else if (operation.op === 'add') {
      if (Array.isArray(parent))
        parent.splice(last === '-' ? parent.length : Number(last), 0, operation.value);
      else parent[last] = operation.value;
    } else {
      throw new Error(`unexpected patch operation ${operation.op}`);
    }
  }
  return root as T;
}

export function decodePatch(base64: string): PatchOperation[] {
  return JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as PatchOperation[];
}

// ---------------------------------------------------------------- certificates on disk

/**
 * Writes a pair the way the kubelet's atomic writer fills a Secret volume: the files live in a
 * timestamped directory, `..data` links to it, and `tls.crt`/`tls.key` link through `..data`.
 * Calling it again swaps `..data` in one rename, as a Secret update does.
 */
export async function writeSecretVolume(dir: string, pair: PemPair): Promise<void> {
  const version = `..${Date.now()}_${randomUUID().slice(0, 8)}`;
  await mkdir(join(dir, version), { recursive: true });
  await writeFile(join(dir, version, 'tls.crt'), pair.cert);
  await writeFile(join(dir, version, 'tls.key'), pair.key);
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const file of ['tls.crt', 'tls.key']) {
    await symlink(join('..data', file), join(dir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

export interface TestCertificates {
  ca: PemPair;
  serving: PemPair;
  dir: string;
  certFile: string;
  keyFile: string;
  cleanup(): Promise<void>;
}

export async function createTestCertificates(): Promise<TestCertificates> {
  const ca = await generateCertificateAuthority();
  const serving = await issueServingCertificate(ca);
  const dir = await mkdtemp(join(tmpdir(), 'ecr-warden-tls-'));
  await writeSecretVolume(dir, serving);
  return {
    ca,
    serving,
    dir,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------- HTTPS client

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface PostOptions {
  headers?: Record<string, string>;
  method?: string;
}

export class WebhookClient {
  readonly #agent: Agent;
  readonly #port: number;

  constructor(port: number, ca: string) {
    this.#port = port;
    this.#agent = new Agent({ keepAlive: true, ca, servername: 'localhost' });
  }

  /** Sends `body` (an object is JSON-encoded) and resolves with whatever comes back. */
  send(path: string, body: unknown, options: PostOptions = {}): Promise<HttpReply> {
    const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#port,
          path,
          method: options.method ?? 'POST',
          agent: this.#agent,
          headers: { 'Content-Type': 'application/json', ...options.headers },
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
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Posts a review and returns the parsed AdmissionReview reply and the HTTP status. */
  async review(
    path: '/validate' | '/mutate',
    body: unknown,
  ): Promise<{ status: number; response: AdmissionResponseJson }> {
    const reply = await this.send(path, body);
    const parsed = JSON.parse(reply.text) as { response: AdmissionResponseJson };
    return { status: reply.status, response: parsed.response };
  }

  close(): void {
    this.#agent.destroy();
  }
}

export interface AdmissionResponseJson {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason: string; status: string };
  warnings?: string[];
  patch?: string;
  patchType?: string;
  auditAnnotations?: Record<string, string>;
}

/** The SHA-256 fingerprint of the certificate a TLS server presents now (a fresh connection each time). */
export function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', ca, servername: 'localhost', agent: false },
      (res) => {
        const socket = res.socket as TLSSocket;
        resolve(socket.getPeerCertificate().fingerprint256);
        res.resume();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------- observer

export interface ObservedReview {
  webhook: WebhookName;
  kind: string;
  decision: Decision;
  seconds: number;
}

export class RecordingObserver implements AdmissionObserver {
  readonly reviews: ObservedReview[] = [];
  review(webhook: WebhookName, kind: string, decision: Decision, seconds: number): void {
    this.reviews.push({ webhook, kind, decision, seconds });
  }
}

// ---------------------------------------------------------------- the whole webhook

export interface WebhookFixture {
  server: WebhookServer;
  sim: EcrSimulator;
  core: Core;
  config: Config;
  client: WebhookClient;
  certs: TestCertificates;
  observer: RecordingObserver;
  close(): Promise<void>;
}

export interface FixtureOptions {
  settings?: Settings;
  scenario?: EcrScenario;
  latencyMs?: number;
  /** Replaces the core's assessor (tests of what happens when it misbehaves). */
  assessor?: Core['assessor'];
}

/** The simulator, the real core (resolver, SDK clients) against it, and the webhook on a free port. */
export async function startWebhookFixture(options: FixtureOptions = {}): Promise<WebhookFixture> {
  const certs = await createTestCertificates();
  const config = testConfig(
    merge(
      { webhook: { address: '127.0.0.1', port: 0, certFile: certs.certFile, keyFile: certs.keyFile } },
      options.settings ?? {},
    ),
  );
  const sim = await startEcrSimulator({
    scenario: options.scenario ?? admissionScenario(),
    latencyMs: options.latencyMs ?? 0,
  });
  const core = buildCore(config, {
    endpoint: sim.endpoint,
    credentials: SIMULATOR_CREDENTIALS,
    log: silentLogger,
  });
  const observer = new RecordingObserver();
  const server = await startWebhookServer({
    config: config.webhook,
    policy: config.policy,
    assessor: options.assessor ?? core.assessor,
    observer,
    log: silentLogger,
  });
  const client = new WebhookClient(server.address.port, certs.ca.cert);
  return {
    server,
    sim,
    core,
    config,
    client,
    certs,
    observer,
    async close() {
      client.close();
      await server.close();
      await sim.close();
      core.clients.destroy();
      await certs.cleanup();
    },
  };
}
