import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../src/config/index.ts';
import { type Controller, type ControllerDeps, startController } from '../../src/commands/serve.ts';
import { Backoff } from '../../src/kube/backoff.ts';
import { silentLogger } from '../../src/log.ts';
import {
  type EcrScenario,
  type EcrSimulator,
  SIMULATOR_CREDENTIALS,
  type SimImage,
  startEcrSimulator,
} from '../../sim/ecr/index.ts';
import {
  buildPod,
  type ContainerInput,
  type KubeSimulator,
  type KubeSimulatorOptions,
  type PodJson,
  type PodPhase,
  startKubeSimulator,
} from '../../sim/kube/index.ts';
import { ACCOUNT, DAY, HOST, NOW, REGION } from './ecr.ts';

export { ACCOUNT, DAY, HOST, NOW, REGION };

/** Both simulators, as a cluster pulling from one ECR registry. */
export interface World {
  kube: KubeSimulator;
  ecr: EcrSimulator;
  /** The digest a tag of a repository in the test registry points to now. */
  digest(repository: string, tag: string): string;
  /**
   * A running pod whose containers run what their tags point to in ECR now (unless
   * `options.running` says otherwise); `containers` maps container names to image references.
   */
  pod(namespace: string, name: string, containers: Record<string, string>, options?: PodOptions): PodJson;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Repositories of the test registry (ACCOUNT, REGION). */
  repositories: EcrScenario['registries'][number]['repositories'];
  kube?: KubeSimulatorOptions;
  /** ECR's clock, for tests that move time (a lifecycle run, a scan finishing); NOW by default. */
  clock?: { now: number };
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const ecr = await startEcrSimulator({
    scenario: { registries: [{ accountId: ACCOUNT, region: REGION, repositories: options.repositories }] },
    clock: () => new Date(options.clock?.now ?? NOW),
  });
  // Compaction on a timer would make 410s happen whenever it fires; tests compact when they mean to.
  const kube = await startKubeSimulator({ compactionIntervalMs: 0, ...options.kube });
  const current = (repository: string, tag: string) =>
    ecr.image({ registryId: ACCOUNT, region: REGION, repository, tag })?.digest;
  return {
    kube,
    ecr,
    digest(repository, tag) {
      const found = current(repository, tag);
      if (!found) throw new Error(`no image ${repository}:${tag} in the ECR simulator`);
      return found;
    },
    pod(namespace, name, containers, options = {}) {
      const running: Record<string, string> = {};
      const all = { ...options.init, ...containers, ...options.ephemeral };
      for (const [container, image] of Object.entries(all)) {
        const match = image.startsWith(`${HOST}/`) ? /^[^/]+\/(.+):([^:/@]+)$/.exec(image) : null;
        const digest = match ? current(match[1]!, match[2]!) : undefined;
        if (digest) running[container] = digest;
      }
      return pod(namespace, name, containers, { ...options, running: { ...running, ...options.running } });
    },
    async close() {
      await Promise.all([kube.close(), ecr.close()]);
    },
  };
}

/** An image of the test registry as ECR holds it, pushed ten days ago and pulled yesterday. */
export function ecrImage(tags: string[], extra: Partial<SimImage> = {}): SimImage {
  return { tags, pushedAt: new Date(NOW - 10 * DAY), lastRecordedPullTime: new Date(NOW - DAY), ...extra };
}

/** `repository:tag` of the test registry as a pod spec names it. */
export function ecrRef(repository: string, tag: string): string {
  return `${HOST}/${repository}:${tag}`;
}

export interface PodOptions {
  init?: Record<string, string>;
  ephemeral?: Record<string, string>;
  /** Digest each container runs, by container name (default: a digest derived from its reference). */
  running?: Record<string, string>;
  /** Not scheduled yet: no container has started, so none has an imageID. */
  pending?: boolean;
  /** A scheduled pod's phase (Running by default); Succeeded and Failed pods' containers have terminated. */
  phase?: PodPhase;
}

/** A scheduled, running pod: `containers` maps container names to image references. */
export function pod(
  namespace: string,
  name: string,
  containers: Record<string, string>,
  options: PodOptions = {},
): PodJson {
  const inputs = (map: Record<string, string> | undefined): ContainerInput[] =>
    Object.entries(map ?? {}).map(([n, image]) => ({ name: n, image }));
  return buildPod({
    namespace,
    name,
    containers: inputs(containers),
    initContainers: inputs(options.init),
    ephemeralContainers: inputs(options.ephemeral),
    ...(options.pending ? {} : { nodeName: 'ip-10-0-1-1.ec2.internal' }),
    ...(options.phase ? { phase: options.phase } : {}),
    ...(options.running ? { imageIDs: options.running } : {}),
  });
}

/** Reconnect delays short enough that a test sees several retries in well under a second. */
export const fastBackoff = (): Backoff => new Backoff({ initialMs: 10, maxMs: 100 });

/**
 * A controller against the world through the real clients: metrics on a free loopback port, short
 * watch backoff, and the fixed test clock unless `deps.now` says otherwise.
 */
export function startWarden(
  world: World,
  config: Record<string, unknown> = {},
  deps: Partial<ControllerDeps> = {},
): Promise<Controller> {
  const metrics = { address: '127.0.0.1', port: 0, ...(config.metrics as object | undefined) };
  return startController(parseConfig({ ...config, metrics }), {
    log: silentLogger,
    kubeConfig: world.kube.kubeConfig(),
    ecrEndpoint: world.ecr.endpoint,
    ecrCredentials: SIMULATOR_CREDENTIALS,
    now: () => NOW,
    watchBackoff: fastBackoff,
    ...deps,
  });
}

/** GET a path of the controller's metrics server. */
export async function get(controller: Controller, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${controller.metricsUrl}${path}`);
  return { status: res.status, body: await res.text() };
}

/** The /metrics exposition text. */
export async function scrape(controller: Controller): Promise<string> {
  const { status, body } = await get(controller, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}: ${body}`);
  return body;
}

/** Every sample line of one metric family (name with or without labels), sorted. */
export function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .sort();
}

/** The value of one exact series (`name{labels}` as exposed, or a bare name), or undefined if absent. */
export function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Retries `check` (which throws, typically an assertion) until it passes or `timeoutMs` runs out,
 * then rethrows its last failure, so a test fails with the assertion's own diff. The short pause
 * between tries only paces the polling: nothing is asserted about how long anything takes.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await delay(15);
  }
}

/**
 * Every container of every pod the simulator holds that has not finished (phase Succeeded or Failed
 * pods run nothing), as `namespace/pod kind container image running`, read straight from the pod
 * objects (not through the code under test's trimming).
 */
export function truth(kube: KubeSimulator, inScope: (namespace: string) => boolean = () => true): string[] {
  const rows: string[] = [];
  for (const p of kube.pods()) {
    const ns = p.metadata.namespace ?? '';
    if (!inScope(ns)) continue;
    const status = p.status ?? {};
    if (status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    const kinds = [
      ['init', p.spec?.initContainers, status.initContainerStatuses],
      ['regular', p.spec?.containers, status.containerStatuses],
      ['ephemeral', p.spec?.ephemeralContainers, status.ephemeralContainerStatuses],
    ] as const;
    for (const [kind, specs, statuses] of kinds) {
      for (const c of specs ?? []) {
        const imageID = statuses?.find((s) => s.name === c.name)?.imageID ?? '';
        const running = imageID.includes('@') ? imageID.slice(imageID.lastIndexOf('@') + 1) : null;
        rows.push(`${ns}/${p.metadata.name} ${kind} ${c.name} ${c.image} ${running}`);
      }
    }
  }
  return rows.sort();
}

/** The inventory's containers in the same form as {@link truth}. */
export function inventoryRows(controller: Controller): string[] {
  if (!controller.inventory) throw new Error('the controller runs no inventory');
  return controller.inventory
    .containers()
    .map(
      (r) =>
        `${r.namespace}/${r.pod} ${r.container.kind} ${r.container.name} ${r.container.image} ${r.runningDigest}`,
    )
    .sort();
}

/**
 * A TCP relay in front of the Kubernetes simulator: a replica that talks through it can be cut off
 * from the API server (a network partition, or a process that froze) while others keep talking.
 */
export interface Relay {
  /** A kubeconfig like the simulator's own, pointing at the relay. */
  kubeConfig(): KubeConfig;
  /** Resets every relayed connection and refuses new ones. */
  cut(): void;
  close(): Promise<void>;
}

export async function startRelay(kube: KubeSimulator): Promise<Relay> {
  const target = new URL(kube.url);
  const sockets = new Set<Socket>();
  let severed = false;
  const server: Server = createServer((client) => {
    if (severed) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    kubeConfig() {
      const kc = new KubeConfig();
      // The simulator's certificate names 127.0.0.1 whatever the port, so TLS verifies through the relay.
      kc.loadFromString(kube.kubeconfigYaml().replace(kube.url, `https://127.0.0.1:${port}`));
      return kc;
    },
    cut() {
      severed = true;
      for (const s of sockets) s.resetAndDestroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
