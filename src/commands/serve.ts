import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AwsCredentialIdentity } from '@smithy/types';
import { startWebhookServer, type WebhookServer } from '../admission/server.ts';
import { buildCore, type Core } from '../app.ts';
import type { Config } from '../config/types.ts';
import { WardenError } from '../errors.ts';
import { Inventory } from '../inventory/inventory.ts';
import type { Backoff } from '../kube/backoff.ts';
import { LeaderElector } from '../kube/leader.ts';
import { KeepAlive } from '../lifecycle/keepalive.ts';
import { ResultWriters, type ResultWritersOptions } from '../reports/index.ts';
import { PodWatcher } from '../kube/pod-watcher.ts';
import type { Logger } from '../log.ts';
import { WardenMetrics } from '../metrics/registry.ts';
import { type HealthServer, startHealthServer } from '../metrics/server.ts';
import { VERSION } from '../version.ts';

export interface ControllerDeps {
  log: Logger;
  /** Needed when the inventory or leader election is on. */
  kubeConfig?: KubeConfig;
  /** ECR endpoint override (demo, tests); users set AWS_ENDPOINT_URL_ECR. */
  ecrEndpoint?: string;
  ecrCredentials?: AwsCredentialIdentity;
  /** A silent ECR socket fails the attempt after this long (default 10 s; tests shorten it). */
  ecrRequestTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Leader-election timings (tests shorten them). */
  leaderTimings?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  watchBackoff?: () => Backoff;
  /** How long one pod list page may take (default 60 s; tests shorten it). */
  listPageTimeoutMs?: number;
  /** Tuning of the Event and Report writers (tests and benchmarks shorten their intervals). */
  writers?: Pick<ResultWritersOptions, 'clock' | 'events' | 'openReports'>;
}

export interface Controller {
  core: Core;
  metrics: WardenMetrics;
  inventory: Inventory | null;
  metricsUrl: string;
  webhookUrl: string | null;
  isLeader(): boolean;
  notReadyReason(): string | null;
  /** Resolves once the inventory has its first list in (immediately when it does not run here). */
  whenInventorySynced(): Promise<void>;
  /** SIGTERM: stop accepting, finish reviews in flight, release the lease, close. */
  stop(): Promise<void>;
}

/**
 * `serve`: the inventory and its metrics (on the leader, or always with election off), the webhook
 * (on every replica), and /metrics /healthz /readyz. Wiring only; each part owns its logic.
 */
export async function startController(config: Config, deps: ControllerDeps): Promise<Controller> {
  const log = deps.log;
  const metrics = new WardenMetrics({ version: VERSION, webhookDeadline: config.webhook.deadline });
  const core = buildCore(config, {
    log,
    observer: metrics,
    ...(deps.ecrEndpoint ? { endpoint: deps.ecrEndpoint } : {}),
    ...(deps.ecrCredentials ? { credentials: deps.ecrCredentials } : {}),
    ...(deps.ecrRequestTimeoutMs ? { requestTimeoutMs: deps.ecrRequestTimeoutMs } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });

  let inventory: Inventory | null = null;
  let watcher: PodWatcher | null = null;
  let elector: LeaderElector | null = null;
  let leading = false;
  let syncedWaiters: (() => void)[] = [];

  const kubeConfig = deps.kubeConfig;
  if ((config.inventory.enabled || config.leaderElection.enabled) && !kubeConfig) {
    throw new WardenError('ERR_KUBE_CONFIG', 'the inventory needs a Kubernetes connection');
  }

  if (config.inventory.enabled && kubeConfig) {
    inventory = new Inventory({
      config,
      resolver: core.resolver,
      assessor: core.assessor,
      log,
      keepAlive:
        config.lifecycle.enabled && config.lifecycle.keepAlive
          ? new KeepAlive({
              send: core.send,
              withinMs: config.lifecycle.keepAliveWithin,
              now: deps.now ?? Date.now,
              observer: metrics,
              log,
            })
          : null,
      ...(deps.now ? { now: deps.now } : {}),
      onCounts: (pods, images) => {
        metrics.podsTracked.set(pods);
        metrics.imagesTracked.set(images);
      },
    });
    metrics.attachImages(inventory, config.ecr.maxImageSeries);
  }

  // Events and Reports come from the replica that runs the inventory, and only while it does.
  const env = deps.env ?? process.env;
  const writers =
    inventory && kubeConfig && (config.reports.events || config.reports.openReports)
      ? new ResultWriters({
          reports: config.reports,
          kubeConfig,
          source: inventory,
          log,
          ...(env.POD_NAME ? { instance: env.POD_NAME } : {}),
          ...deps.writers,
        })
      : null;

  const startInventory = () => {
    if (!inventory || !kubeConfig || watcher) return;
    leading = true;
    metrics.setLeader(true);
    watcher = new PodWatcher({
      kubeConfig,
      namespaces: inventory.scope.include,
      fieldSelector: inventory.scope.fieldSelector,
      idleTimeoutMs: config.kubernetes.watchIdleTimeout,
      sink: inventory,
      observer: metrics,
      log,
      ...(deps.watchBackoff ? { backoff: deps.watchBackoff } : {}),
      ...(deps.listPageTimeoutMs ? { listPageTimeoutMs: deps.listPageTimeoutMs } : {}),
    });
    watcher.start();
    const term = watcher;
    const synced = term.whenSynced().then(() => {
      for (const wake of syncedWaiters) wake();
      syncedWaiters = [];
    });
    inventory.startRefresh();
    // Writers start once the first list and its ECR answers are in: from an empty inventory they would
    // take every existing Report for stale and delete it.
    if (writers) {
      const current = inventory;
      void synced
        .then(() => current.settled())
        .then(() => {
          if (watcher === term) writers.start();
        });
    }
  };
  // Losing the lease and stop() both stop the inventory, and the lease may come back before the
  // watch has stopped: every caller waits for the same stop, and only clears what no new term fills.
  let inventoryStopped: Promise<void> = Promise.resolve();
  const stopInventory = (): Promise<void> => {
    leading = false;
    metrics.setLeader(false);
    const w = watcher;
    if (!w) return inventoryStopped;
    watcher = null;
    inventory?.stopRefresh();
    // The writers stop first: the emptied inventory below must not read as "nothing to report".
    const writersStopped = writers?.stop() ?? Promise.resolve();
    inventoryStopped = Promise.all([writersStopped, w.stop()]).then(() => {
      // A follower exports no inventory: another replica's numbers are the truth now.
      if (!watcher) inventory?.replaceAll([], null);
    });
    return inventoryStopped;
  };

  if (config.leaderElection.enabled && kubeConfig) {
    const namespace = config.leaderElection.namespace || env.POD_NAMESPACE || '';
    if (!namespace) {
      throw new WardenError(
        'ERR_CONFIG',
        'leaderElection.namespace: empty and POD_NAMESPACE is not set (the chart sets it from the downward API)',
      );
    }
    elector = new LeaderElector({
      kubeConfig,
      namespace,
      leaseName: config.leaderElection.leaseName,
      identity: `${env.POD_NAME || hostname()}_${process.pid}`,
      log,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.leaderTimings ?? {}),
      onStartedLeading: startInventory,
      onStoppedLeading: () => void stopInventory(),
    });
    elector.start();
  } else {
    startInventory();
    // With election off this replica always runs the inventory (or there is none to run).
    metrics.setLeader(true);
    leading = true;
  }

  let webhook: WebhookServer | null = null;
  const notReadyReason = (): string | null => {
    if (webhook && !webhook.ready()) return 'webhook certificate not loaded';
    if (inventory && leading && watcher && !watcher.synced) return 'first pod list not in yet';
    return null;
  };

  let health: HealthServer;
  try {
    if (config.webhook.enabled) {
      webhook = await startWebhookServer({
        config: config.webhook,
        policy: config.policy,
        assessor: core.assessor,
        observer: metrics,
        log,
      });
    }
    health = await startHealthServer({
      address: config.metrics.address,
      port: config.metrics.port,
      metrics,
      notReadyReason,
      log,
    });
  } catch (err) {
    // A listener could not start (a port in use, say): undo everything started so far, so the
    // process can exit with the error instead of running a headless inventory.
    await webhook?.close();
    await elector?.stop();
    await stopInventory();
    core.clients.destroy();
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    core,
    metrics,
    inventory,
    metricsUrl: health.url,
    webhookUrl: webhook ? `https://${hostFor(webhook.address.host)}:${webhook.address.port}` : null,
    isLeader: () => leading,
    notReadyReason,
    whenInventorySynced: () =>
      !inventory || !leading || watcher?.synced
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            syncedWaiters.push(resolve);
          }),
    stop: () => {
      stopping ??= (async () => {
        await webhook?.close();
        await elector?.stop();
        await stopInventory();
        await health.close();
        core.clients.destroy();
      })();
      return stopping;
    },
  };
}

function hostFor(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
