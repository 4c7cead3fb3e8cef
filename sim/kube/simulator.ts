import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { Catalog } from './catalog.ts';
import { type CrdJson, isCrdResource, resourcesFromCrd } from './crd.ts';
import { Database, type PendingWrite } from './db.ts';
import type { ChangeEvent } from './event-log.ts';
import { type FailureOptions, Faults, matches, type RequestMatch, resourceLabel } from './faults.ts';
import { ApiHandler, type StaleWatchResponse } from './handler.ts';
import { kubeconfigYaml, loadKubeConfig } from './kubeconfig.ts';
import { mergePatch } from './patch.ts';
import { Registry } from './registry.ts';
import type { RequestInfo } from './request-info.ts';
import {
  EVENTS,
  EVENTS_V1,
  keyOf,
  LEASES,
  NAMESPACES,
  PODS,
  type ResourceDef,
  storageKey,
  storageOf,
} from './resources.ts';
import { invalid, qualifiedKind, StatusError, watchCompacted } from './status.ts';
import { type Stored, withTypeMeta } from './stored.ts';
import { canonical } from './strategy.ts';
import { type ServingCertificate, servingCertificate } from './tls.ts';
import type { KubeObject, LeaseJson, NamespaceJson, PodJson, PodStatusJson } from './types.ts';
import { present } from './views.ts';
import { type WatchCloseReason, WatchHub, type WatchInfo, type WatchStream } from './watch.ts';
import { WRITE_VERBS, type WriteMatch, type WriteRecord, WriteLog, type WriteWindow } from './write-log.ts';

export interface KubeSimulatorOptions {
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /**
   * Serve HTTPS with a generated CA that the kubeconfig trusts (the default), like a real
   * cluster. With false, plain HTTP, and the kubeconfig sets insecure-skip-tls-verify because
   * client-node 2.x refuses an http server otherwise.
   */
  tls?: boolean;
  /** Period of BOOKMARK events on watches that allow them. The API server sends one about every minute. */
  bookmarkIntervalMs?: number;
  /** Changes per resource type kept for watches to resume from (the watch cache window); older resourceVersions get 410. */
  historyLimit?: number;
  /**
   * etcd compaction period: each run forgets versions older than the previous run, expiring
   * continue tokens and exact reads before it. The API server's default is 5 minutes; 0 disables.
   */
  compactionIntervalMs?: number;
  /** How long a read for a future resourceVersion waits before a 504 (3 s in the API server). */
  freshnessWaitMs?: number;
  /** Watches without timeoutSeconds end after between this and twice this (--min-request-timeout, 1800 s). */
  minRequestTimeoutSeconds?: number;
  /** A watch from a compacted resourceVersion: ERROR event in a 200 stream (as kube-apiserver does) or HTTP 410. */
  staleWatchResponse?: StaleWatchResponse;
  /** Unread bytes after which a watch is ended as too slow. */
  maxWatchBufferBytes?: number;
  /** Namespaces that exist at start; a new cluster's four by default. */
  namespaces?: readonly string[];
  /** The namespace of the kubeconfig context. */
  defaultNamespace?: string;
  /**
   * Clock for timestamps the server sets (creation, deletion), the event TTL and the write log,
   * in epoch milliseconds.
   */
  clock?: () => number;
  /**
   * How long an Event lives after its last write (kube-apiserver's --event-ttl, 1 h): etcd
   * forgets it then, and watchers see it DELETED. 0 keeps Events forever.
   */
  eventTtlMs?: number;
  /** Writes the write log keeps (the oldest go first); 100,000 by default. */
  writeLogLimit?: number;
  /** CustomResourceDefinitions installed at start, e.g. `openReportsCrds()`. */
  crds?: readonly KubeObject[];
}

export interface RestartOptions {
  /** Time during which connections are refused, as while an API server restarts. */
  downtimeMs?: number;
  /**
   * A restarted API server rebuilds its watch cache from the current state, so resuming a watch
   * from an older resourceVersion gets 410 (default true). False keeps the history.
   */
  resetWatchCache?: boolean;
}

export interface KubeSimulatorEvents {
  request: [info: RequestInfo];
  /** A write was answered (any status); `record` is what the write log holds. */
  write: [record: WriteRecord];
  watchOpen: [info: WatchInfo];
  watchClose: [info: WatchInfo, reason: WatchCloseReason];
}

/** Which open watches a fault applies to. */
export interface WatchMatch {
  /** '' for core; Events are `events` in both groups. */
  group?: string;
  resource?: string;
  namespace?: string;
  id?: number;
}

type Defaulted = Required<Omit<KubeSimulatorOptions, 'clock' | 'crds'>>;

const DEFAULTS: Defaulted = {
  host: '127.0.0.1',
  port: 0,
  tls: true,
  bookmarkIntervalMs: 60_000,
  historyLimit: 1000,
  compactionIntervalMs: 5 * 60_000,
  freshnessWaitMs: 3000,
  minRequestTimeoutSeconds: 1800,
  staleWatchResponse: 'error-event',
  maxWatchBufferBytes: 128 * 1024 * 1024,
  namespaces: ['default', 'kube-system', 'kube-public', 'kube-node-lease'],
  defaultNamespace: 'default',
  eventTtlMs: 60 * 60_000,
  writeLogLimit: 100_000,
};

/** How often expired Events are looked for (etcd revokes leases as they expire; a minute is close enough). */
const EVENT_EXPIRY_SWEEP_MS = 60_000;

/** Which Events `events()` returns; every given field must match. */
export interface EventFilter {
  namespace?: string;
  /** The object the Event is about (`regarding`, `involvedObject` in core v1). */
  regarding?: { kind?: string; namespace?: string; name?: string; uid?: string };
  reason?: string;
  type?: string;
  reportingController?: string;
  /** The form to return: events.k8s.io/v1 (the default) or core `v1`. */
  apiVersion?: 'events.k8s.io/v1' | 'v1';
}

function watchMatches(match: WatchMatch | undefined, info: WatchInfo): boolean {
  if (!match) return true;
  if (match.group !== undefined && match.group !== info.group) return false;
  if (match.resource !== undefined && match.resource !== info.resource) return false;
  if (match.namespace !== undefined && match.namespace !== info.namespace) return false;
  if (match.id !== undefined && match.id !== info.id) return false;
  return true;
}

/**
 * A Kubernetes API server on loopback: pods, namespaces, leases, Events (core v1 and
 * events.k8s.io/v1), CustomResourceDefinitions and the custom resources they define, over the
 * real wire protocol, with direct state operations for tests and the demo (they emit watch events
 * exactly like API writes), request counters, a write log, and faults to inject. Start one with
 * `startKubeSimulator`.
 */
export class KubeSimulator extends EventEmitter<KubeSimulatorEvents> {
  private readonly options: Defaulted & KubeSimulatorOptions;
  private readonly clock: () => number;
  private readonly catalog: Catalog;
  private readonly db: Database;
  private readonly registry: Registry;
  private readonly hub = new WatchHub();
  private readonly faults = new Faults();
  private readonly handler: ApiHandler;
  private readonly counts = new Map<string, number>();
  private readonly writeLog: WriteLog;
  /** Arrival times of writes being served, by request, until their answer is sent. */
  private readonly arrivals = new WeakMap<RequestInfo, number>();
  /** When each stored Event expires (its etcd lease), by storage key; as many as there are Events. */
  private readonly eventExpiry = new Map<string, number>();
  private eventTimer: NodeJS.Timeout | undefined;
  private connections = 0;
  /** Raw TCP sockets by remote address and port, to reset the one under a TLS stream. */
  private readonly sockets = new Map<string, Socket>();
  private server: Server | undefined;
  private certificate: ServingCertificate | undefined;
  private port = 0;
  private compactionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly token = 'ecr-warden-sim-token';

  constructor(options: KubeSimulatorOptions = {}) {
    super();
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    this.options = { ...DEFAULTS, ...given };
    this.clock = this.options.clock ?? Date.now;
    this.writeLog = new WriteLog(this.options.writeLogLimit);
    this.catalog = new Catalog(() => this.registry.timestamp());
    this.db = new Database(this.catalog.all(), this.options.historyLimit);
    this.registry = new Registry(this.db, this.clock, this.catalog);
    this.db.onChange((def, event) => this.onChange(def, event));
    this.handler = new ApiHandler({
      db: this.db,
      catalog: this.catalog,
      registry: this.registry,
      hub: this.hub,
      faults: this.faults,
      freshnessWaitMs: this.options.freshnessWaitMs,
      bookmarkIntervalMs: this.options.bookmarkIntervalMs,
      minRequestTimeoutSeconds: this.options.minRequestTimeoutSeconds,
      maxWatchBufferBytes: this.options.maxWatchBufferBytes,
      staleWatchResponse: this.options.staleWatchResponse,
      serverAddress: () => `${this.options.host}:${this.port}`,
      resetConnection: (socket) => this.resetConnection(socket),
      onRequest: (info) => this.countRequest(info),
      onResponse: (info, code, name) => this.logWrite(info, code, name),
      onWatchOpen: (stream) => this.emit('watchOpen', stream.info),
      onWatchClose: (stream, reason) => this.emit('watchClose', stream.info, reason),
    });
    for (const name of this.options.namespaces) this.createNamespace(name);
    for (const crd of this.options.crds ?? []) this.installCrd(crd);
  }

  /** Listens and starts periodic compaction and Event expiry. Called by `startKubeSimulator`. */
  async listen(): Promise<void> {
    if (this.options.tls) this.certificate = await servingCertificate(this.options.host);
    await this.bind(this.options.port);
    this.scheduleCompaction();
    this.scheduleEventExpiry();
  }

  get url(): string {
    const scheme = this.options.tls ? 'https' : 'http';
    return `${scheme}://${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${this.port}`;
  }

  /** The CA that signed the serving certificate (PEM), or undefined when serving plain HTTP. */
  get caPem(): string | undefined {
    return this.certificate?.caPem;
  }

  /** The newest resourceVersion, as a string like every resourceVersion on the wire. */
  resourceVersion(): string {
    return String(this.db.rv);
  }

  // ---- kubeconfig -------------------------------------------------------------------------

  kubeconfigYaml(namespace = this.options.defaultNamespace): string {
    return kubeconfigYaml({ server: this.url, namespace, token: this.token, caPem: this.certificate?.caPem });
  }

  async writeKubeconfig(path: string, namespace?: string): Promise<void> {
    await writeFile(path, this.kubeconfigYaml(namespace), { mode: 0o600 });
  }

  /** A client-node KubeConfig pointing at this simulator. */
  kubeConfig(namespace?: string): KubeConfig {
    return loadKubeConfig(this.kubeconfigYaml(namespace));
  }

  // ---- state ------------------------------------------------------------------------------

  /** Creates a namespace unless it exists; returns it either way. */
  createNamespace(name: string, labels?: Record<string, string>): NamespaceJson {
    const existing = this.db.table(NAMESPACES).current(name);
    if (existing) return existing.obj as NamespaceJson;
    const body = { metadata: { name, ...(labels ? { labels } : {}) } };
    return this.registry.create(NAMESPACES, undefined, body).body as NamespaceJson;
  }

  /** Deletes a namespace and everything in it, as the namespace controller would. */
  deleteNamespace(name: string): boolean {
    if (!this.db.table(NAMESPACES).current(name)) return false;
    this.registry.delete(NAMESPACES, undefined, name);
    return true;
  }

  namespaces(): NamespaceJson[] {
    return [...this.db.table(NAMESPACES).scan('', '')].map((s) => s.obj as NamespaceJson);
  }

  /**
   * Stores `pod` as given, status included, as if the API server had accepted it and a kubelet
   * had reported on it: ADDED for a new pod, MODIFIED for an existing one (uid and creation time
   * kept unless the pod sets them). Its namespace is created when missing.
   */
  upsertPod(pod: PodJson): PodJson {
    return this.upsert(PODS, pod) as PodJson;
  }

  /** Loads many pods at once (one index sort); each still becomes its own watch event. */
  bulkLoad(pods: readonly PodJson[]): void {
    const writes: PendingWrite[] = [];
    const table = this.db.table(PODS);
    const seen = new Set<string>();
    for (const pod of pods) {
      const obj = this.prepareUpsert(PODS, pod);
      const key = keyOf(PODS, obj.metadata.namespace, obj.metadata.name!);
      if (seen.has(key)) throw new Error(`bulkLoad: pod ${key} appears twice`);
      seen.add(key);
      // Replacements are written at once, each a MODIFIED event; new pods go in one batch.
      if (table.current(key)) this.commitUpsert(PODS, pod, obj);
      else writes.push({ key, namespace: obj.metadata.namespace!, obj });
    }
    this.db.commitMany(PODS, writes);
  }

  /** Deletes a pod at once (no grace period, finalizers ignored); returns whether it existed. */
  deletePod(namespace: string, name: string): boolean {
    const key = keyOf(PODS, namespace, name);
    if (!this.db.table(PODS).current(key)) return false;
    this.db.commit(PODS, key, namespace, undefined);
    return true;
  }

  /** JSON-merge-patches a pod's status (a kubelet's report): one MODIFIED event. */
  patchPodStatus(
    namespace: string,
    name: string,
    status: Partial<PodStatusJson> | ((current: PodStatusJson) => PodStatusJson),
  ): PodJson {
    const current = this.registry.get(PODS, namespace, name);
    const next = structuredClone(current.obj) as PodJson;
    const before = (current.obj as PodJson).status ?? {};
    next.status =
      typeof status === 'function'
        ? status(structuredClone(before))
        : (mergePatch(before, status) as PodStatusJson);
    return this.writeIfChanged(PODS, keyOf(PODS, namespace, name), namespace, next, current) as PodJson;
  }

  pod(namespace: string, name: string): PodJson | undefined {
    return this.db.table(PODS).current(keyOf(PODS, namespace, name))?.obj as PodJson | undefined;
  }

  /** Every pod now (in one namespace when given), frozen. */
  pods(namespace?: string): PodJson[] {
    return [...this.db.table(PODS).scan(namespace ? `${namespace}/` : '', '')].map((s) => s.obj as PodJson);
  }

  podCount(): number {
    return this.db.table(PODS).size;
  }

  lease(namespace: string, name: string): LeaseJson | undefined {
    return this.db.table(LEASES).current(keyOf(LEASES, namespace, name))?.obj as LeaseJson | undefined;
  }

  leases(namespace?: string): LeaseJson[] {
    return [...this.db.table(LEASES).scan(namespace ? `${namespace}/` : '', '')].map(
      (s) => s.obj as LeaseJson,
    );
  }

  /**
   * Stores any served object as given (status included), by its apiVersion and kind, after the
   * same decoding and validation an API write gets: the way to seed Events or Reports. Its
   * namespace is created when missing. Returns the object as its API shows it.
   */
  upsertObject(obj: KubeObject): KubeObject {
    const def = this.catalog.all().find((d) => d.apiVersion === obj.apiVersion && d.kind === obj.kind);
    if (!def) throw new StatusError(404, 'NotFound', `no resource serves ${obj.apiVersion} ${obj.kind}`);
    return this.upsert(def, obj);
  }

  /**
   * Events now, as events.k8s.io/v1 shows them unless `filter.apiVersion` is `v1`, ordered by
   * namespace and name, whichever API wrote them.
   */
  events(filter: EventFilter = {}): KubeObject[] {
    const def = filter.apiVersion === 'v1' ? EVENTS : EVENTS_V1;
    const prefix = filter.namespace === undefined ? '' : `${filter.namespace}/`;
    const out: KubeObject[] = [];
    for (const stored of this.db.table(EVENTS).scan(prefix, '')) {
      const e = stored.obj as KubeObject & {
        involvedObject: Record<string, string | undefined>;
        reason?: string;
        type?: string;
        reportingComponent: string;
      };
      const r = filter.regarding;
      if (r?.kind !== undefined && e.involvedObject.kind !== r.kind) continue;
      if (r?.namespace !== undefined && e.involvedObject.namespace !== r.namespace) continue;
      if (r?.name !== undefined && e.involvedObject.name !== r.name) continue;
      if (r?.uid !== undefined && e.involvedObject.uid !== r.uid) continue;
      if (filter.reason !== undefined && e.reason !== filter.reason) continue;
      if (filter.type !== undefined && e.type !== filter.type) continue;
      if (filter.reportingController !== undefined && e.reportingComponent !== filter.reportingController)
        continue;
      out.push(present(def, stored).obj);
    }
    return out;
  }

  /**
   * Deletes Events whose time to live (`eventTtlMs` after their last write) has passed by the
   * simulator's clock, as etcd does when their leases expire; also done every minute on its own.
   * Returns how many went.
   */
  expireEvents(): number {
    const now = this.clock();
    const expired = [...this.eventExpiry].filter(([, at]) => at <= now).map(([key]) => key);
    for (const key of expired) {
      const stored = this.db.table(EVENTS).current(key);
      if (stored) this.db.commit(EVENTS, key, stored.obj.metadata.namespace ?? '', undefined);
      this.eventExpiry.delete(key);
    }
    return expired.length;
  }

  /**
   * Installs a CustomResourceDefinition (or replaces the spec of an installed one), as
   * `kubectl apply -f crd.yaml` would: its resources are served at once. Returns the stored CRD.
   */
  installCrd(crd: KubeObject): KubeObject {
    const body = JSON.parse(JSON.stringify(crd)) as KubeObject;
    const name = body.metadata?.name ?? '';
    const existing = this.db.table(this.catalog.crds).current(name);
    if (!existing) return this.registry.create(this.catalog.crds, undefined, body).body as KubeObject;
    body.metadata = { ...body.metadata, resourceVersion: existing.obj.metadata.resourceVersion };
    return this.registry.update(this.catalog.crds, undefined, name, undefined, body).body as KubeObject;
  }

  /** Deletes a CRD and every object of its resources; returns whether it was installed. */
  uninstallCrd(name: string): boolean {
    if (!this.db.table(this.catalog.crds).current(name)) return false;
    this.registry.delete(this.catalog.crds, undefined, name);
    return true;
  }

  crd(name: string): KubeObject | undefined {
    return this.db.table(this.catalog.crds).current(name)?.obj;
  }

  /**
   * The objects of a custom resource now (in one namespace when given), ordered by namespace and
   * name, e.g. `customObjects('openreports.io', 'reports')`. Empty when the resource is not served.
   */
  customObjects(group: string, plural: string, namespace?: string): KubeObject[] {
    const def = this.catalog.all().find((d) => d.group === group && d.resource === plural && !d.storage);
    if (!def || !this.db.hasTable(def)) return [];
    return [...this.db.table(def).scan(namespace ? `${namespace}/` : '', '')].map((s) => s.obj);
  }

  customObject(
    group: string,
    plural: string,
    namespace: string | undefined,
    name: string,
  ): KubeObject | undefined {
    const def = this.catalog.all().find((d) => d.group === group && d.resource === plural && !d.storage);
    if (!def || !this.db.hasTable(def)) return undefined;
    return this.db.table(def).current(keyOf(def, namespace, name))?.obj;
  }

  /** OpenReports Reports (openreports.io/v1alpha1), in one namespace when given. */
  reports(namespace?: string): KubeObject[] {
    return this.customObjects('openreports.io', 'reports', namespace);
  }

  report(namespace: string, name: string): KubeObject | undefined {
    return this.customObject('openreports.io', 'reports', namespace, name);
  }

  /** OpenReports ClusterReports. */
  clusterReports(): KubeObject[] {
    return this.customObjects('openreports.io', 'clusterreports');
  }

  // ---- observation ------------------------------------------------------------------------

  /** Requests served so far by verb and resource, e.g. `list pods`, `watch pods`, `update leases`, `get /version`. */
  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Requests with this verb (and resource, e.g. `pods` or `pods/status`, when given). */
  requestCount(verb: string, resource?: string): number {
    let total = 0;
    for (const [key, count] of this.counts) {
      const [v, r] = key.split(' ', 2);
      if (v === verb && (resource === undefined || r === resource)) total += count;
    }
    return total;
  }

  /** Clears the request counters and the write log (a benchmark does it once its setup is done). */
  resetCounters(): void {
    this.counts.clear();
    this.writeLog.clear();
    this.connections = 0;
  }

  /** TCP connections accepted so far (since the last resetCounters): each one a TLS handshake. */
  connectionCount(): number {
    return this.connections;
  }

  /**
   * Writes answered so far (the newest `writeLogLimit`), each with its arrival time by the
   * simulator's clock, verb, group, resource, namespace, name and status, e.g.
   * `writes({ group: 'events.k8s.io', resource: 'events', verb: 'create' })`.
   */
  writes(match?: WriteMatch): WriteRecord[] {
    return this.writeLog.list(match);
  }

  writeCount(match?: WriteMatch): number {
    return this.writeLog.list(match).length;
  }

  /** Matching writes per consecutive window of `windowMs` from `from` (default: the first one). */
  writesPerWindow(windowMs: number, match?: WriteMatch, from?: number): WriteWindow[] {
    return this.writeLog.perWindow(windowMs, match, from);
  }

  /** The largest number of matching writes within any `windowMs`: how bursty the writer is. */
  maxWritesInWindow(windowMs: number, match?: WriteMatch): number {
    return this.writeLog.maxInWindow(windowMs, match);
  }

  /** Writes the log forgot because it was full. */
  writesDropped(): number {
    return this.writeLog.dropped;
  }

  openWatches(match?: WatchMatch): WatchInfo[] {
    return this.hub
      .all()
      .filter((s) => !s.isClosed && watchMatches(match, s.info))
      .map((s) => s.info);
  }

  /** Resolves with the first watch that opens after this call and matches. */
  nextWatch(match?: WatchMatch): Promise<WatchInfo> {
    return new Promise((resolve) => {
      const listener = (info: WatchInfo) => {
        if (!watchMatches(match, info)) return;
        this.off('watchOpen', listener);
        resolve(info);
      };
      this.on('watchOpen', listener);
    });
  }

  /** Resolves once at least `count` matching watches are open. */
  async waitForWatches(count: number, match?: WatchMatch): Promise<WatchInfo[]> {
    for (;;) {
      const open = this.openWatches(match);
      if (open.length >= count) return open;
      await this.nextWatch(match);
    }
  }

  /** Resolves with the next request that matches. */
  nextRequest(match: RequestMatch = {}): Promise<RequestInfo> {
    return new Promise((resolve) => {
      const listener = (info: RequestInfo) => {
        if (!matches(match, info)) return;
        this.off('request', listener);
        resolve(info);
      };
      this.on('request', listener);
    });
  }

  // ---- faults -----------------------------------------------------------------------------

  /** Resets the connections of open watches: clients see a network error. Returns how many. */
  dropWatches(match?: WatchMatch): number {
    const streams = this.streams(match);
    for (const stream of streams) stream.drop();
    return streams.length;
  }

  /**
   * Open watches stop sending anything (events, bookmarks, even their end) while the connection
   * stays up, as behind a stalled network path. Returns how many.
   */
  stallWatches(match?: WatchMatch): number {
    const streams = this.streams(match).filter((s) => !s.isStalled);
    for (const stream of streams) stream.stall();
    return streams.length;
  }

  /** Stalled watches deliver what they held back and carry on. */
  resumeWatches(match?: WatchMatch): void {
    for (const stream of this.streams(match)) stream.resume();
  }

  /** The next `count` matching requests fail (500 InternalError unless `code` says otherwise). */
  failNext(count: number, options?: FailureOptions): void {
    this.faults.failNext(count, options);
  }

  /** Delays matching requests by `ms` (cumulative with other latency rules). */
  addLatency(ms: number, match?: RequestMatch): void {
    this.faults.addLatency(ms, match);
  }

  /**
   * The next `count` matching lists (pods, unless `match` says otherwise) send their headers and the
   * start of their items, then stall: nothing more arrives while the connection stays up, as behind
   * a stalled network path. The response ends only when the client gives up on it.
   */
  stallListBodies(count: number, match: RequestMatch = { resource: 'pods' }): void {
    this.faults.stallNext(count, { ...match, verb: 'list' });
  }

  /** Removes pending failures, latency and stalls. */
  clearFaults(): void {
    this.faults.clear();
  }

  /**
   * Compacts history at `resourceVersion` (default: now): watches from an older resourceVersion,
   * continue tokens and exact lists before it get 410 Expired.
   */
  compact(resourceVersion?: string | number): void {
    const rv = resourceVersion === undefined ? this.db.rv : Number(resourceVersion);
    if (!Number.isSafeInteger(rv) || rv < 0)
      throw new RangeError(`not a resourceVersion: ${resourceVersion}`);
    this.db.compact(rv, true);
  }

  /**
   * Ends open watches with an ERROR event carrying a 410 Expired Status, as the API server does
   * for a watcher whose position was compacted away. Returns how many.
   */
  expireWatches(match?: WatchMatch): number {
    const streams = this.streams(match);
    for (const stream of streams) stream.fail(watchCompacted().toStatus());
    return streams.length;
  }

  /** Sends a BOOKMARK now on every open watch that allows them (and is not stalled). Returns how many. */
  sendBookmarks(match?: WatchMatch): number {
    return this.streams(match).filter((s) => s.bookmark()).length;
  }

  /** Ends open watches cleanly, as when their timeout elapses. Returns how many. */
  endWatches(match?: WatchMatch): number {
    const streams = this.streams(match);
    for (const stream of streams) stream.end('timeout');
    return streams.length;
  }

  /**
   * Emulates an API server restart: every connection is reset, connections are refused during
   * `downtimeMs`, then the server listens on the same port with the same state.
   */
  async restart(options: RestartOptions = {}): Promise<void> {
    for (const stream of this.hub.all()) stream.drop();
    await this.shutdownHttp();
    if (options.resetWatchCache ?? true) this.db.resetWatchHistory();
    if (options.downtimeMs) await new Promise((resolve) => setTimeout(resolve, options.downtimeMs));
    if (this.closed) return;
    await this.bind(this.port);
  }

  /** Stops everything promptly: open watches are ended, connections closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.compactionTimer);
    clearInterval(this.eventTimer);
    for (const stream of this.hub.all()) stream.end('shutdown');
    await this.shutdownHttp();
    this.removeAllListeners();
  }

  // ---- internals --------------------------------------------------------------------------

  private streams(match?: WatchMatch): WatchStream[] {
    return this.hub.all().filter((s) => !s.isClosed && watchMatches(match, s.info));
  }

  private countRequest(info: RequestInfo): void {
    const key = `${info.verb} ${resourceLabel(info)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (info.isResource && WRITE_VERBS.has(info.verb)) this.arrivals.set(info, this.clock());
    this.emit('request', info);
  }

  private logWrite(info: RequestInfo, code: number, createdName: string | undefined): void {
    const at = this.arrivals.get(info);
    if (at === undefined) return;
    this.arrivals.delete(info);
    const record: WriteRecord = {
      at,
      verb: info.verb,
      group: info.group,
      version: info.version,
      resource: resourceLabel(info),
      namespace: info.namespace,
      name: info.name || (createdName ?? ''),
      code,
    };
    this.writeLog.add(record);
    this.emit('write', record);
  }

  /** Every committed change: custom resources follow their CRDs, Events get their TTL, watchers hear of it. */
  private onChange(def: ResourceDef, event: ChangeEvent): void {
    if (isCrdResource(def)) this.syncCrd(event);
    if (storageKey(def) === storageKey(EVENTS) && this.options.eventTtlMs > 0) {
      // Every write of an Event attaches a fresh lease (the event store's TTL), so it lives on from now.
      if (event.type === 'DELETED') this.eventExpiry.delete(event.key);
      else this.eventExpiry.set(event.key, this.clock() + this.options.eventTtlMs);
    }
    this.hub.publish(def, event);
  }

  /** A CRD written: its resources are served (or no longer) before anyone hears of the change. */
  private syncCrd(event: ChangeEvent): void {
    const name = event.key;
    if (event.type === 'DELETED') {
      for (const def of this.catalog.removeCrd(name)) {
        if (def.storage) continue;
        for (const stream of this.hub.of(def)) stream.end('shutdown');
        this.db.dropTable(def);
      }
      return;
    }
    const defs = resourcesFromCrd(event.object.obj as CrdJson);
    for (const def of defs) this.db.ensureTable(def);
    this.catalog.setCrd(name, defs);
  }

  private scheduleEventExpiry(): void {
    if (!this.options.eventTtlMs) return;
    this.eventTimer = setInterval(
      () => this.expireEvents(),
      Math.min(this.options.eventTtlMs, EVENT_EXPIRY_SWEEP_MS),
    );
    this.eventTimer.unref();
  }

  private createHttpServer(): Server {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      void this.handler.handle(req, res);
    };
    // Idle keep-alive connections live as long as the API server's (60 s) so clients reuse them.
    const options = { keepAliveTimeout: 60_000 };
    const server = this.certificate
      ? createHttpsServer(
          { ...options, cert: this.certificate.certPem, key: this.certificate.keyPem },
          handle,
        )
      : createServer(options, handle);
    server.on('connection', (socket: Socket) => {
      this.connections++;
      const key = socketKey(socket);
      this.sockets.set(key, socket);
      socket.on('close', () => {
        if (this.sockets.get(key) === socket) this.sockets.delete(key);
      });
    });
    return server;
  }

  /** Sends an RST on the TCP connection under `socket` (which may be a TLS socket over it). */
  private resetConnection(socket: Socket): void {
    const raw = this.sockets.get(socketKey(socket)) ?? socket;
    try {
      raw.resetAndDestroy();
    } catch {
      raw.destroy();
    }
    socket.destroy();
  }

  private bind(port: number): Promise<void> {
    const server = this.createHttpServer();
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, this.options.host, () => {
        server.off('error', onError);
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private shutdownHttp(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = undefined;
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of this.sockets.values()) socket.destroy();
      server.closeAllConnections();
    });
  }

  /** Like the API server's compactor: each run compacts at the revision the previous run saw. */
  private scheduleCompaction(): void {
    if (!this.options.compactionIntervalMs) return;
    let previous = this.db.rv;
    this.compactionTimer = setInterval(() => {
      this.db.compact(previous, false);
      previous = this.db.rv;
    }, this.options.compactionIntervalMs);
    this.compactionTimer.unref();
  }

  /**
   * The object to store for a programmatic upsert: defaulted and validated, status kept. Its
   * namespace is created once the object is known to be valid.
   */
  private prepareUpsert(def: ResourceDef, input: KubeObject): KubeObject {
    const namespace = input.metadata?.namespace;
    if (def.namespaced && !namespace) {
      throw new StatusError(400, 'BadRequest', `${def.kind} needs metadata.namespace`);
    }
    // A trip through JSON copies the caller's object and gives it its wire form (Dates become strings).
    const obj = this.registry.decode(def, namespace, JSON.parse(JSON.stringify(input)));
    delete obj.metadata.resourceVersion;
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= this.registry.timestamp();
    const errors = def.strategy.validate(obj);
    if (errors.length) throw invalid(qualifiedKind(def), obj.metadata.name ?? '', def, errors);
    if (namespace) this.createNamespace(namespace);
    return obj;
  }

  private upsert(def: ResourceDef, input: KubeObject): KubeObject {
    return this.commitUpsert(def, input, this.prepareUpsert(def, input));
  }

  /** Writes a prepared object; a replacement keeps the stored uid and creation time unless the input set them. */
  private commitUpsert(def: ResourceDef, input: KubeObject, obj: KubeObject): KubeObject {
    const key = keyOf(def, obj.metadata.namespace, obj.metadata.name!);
    const existing = this.db.table(def).current(key);
    if (def.crd) obj.metadata.generation = nextGeneration(obj, existing);
    if (existing && !input.metadata.uid) obj.metadata.uid = existing.obj.metadata.uid;
    if (existing && !input.metadata.creationTimestamp) {
      obj.metadata.creationTimestamp = existing.obj.metadata.creationTimestamp;
    }
    return this.writeIfChanged(def, key, obj.metadata.namespace ?? '', obj, existing);
  }

  /** Like etcd3's GuaranteedUpdate, a write that changes nothing keeps its resourceVersion and sends no event. */
  private writeIfChanged(
    def: ResourceDef,
    key: string,
    namespace: string,
    obj: KubeObject,
    existing: Stored | undefined,
  ): KubeObject {
    if (existing) {
      const storage = storageOf(def);
      const candidate = withTypeMeta(obj, storage.kind, storage.apiVersion);
      candidate.metadata = { ...candidate.metadata, resourceVersion: existing.obj.metadata.resourceVersion };
      if (canonical(candidate) === canonical(existing.obj)) return present(def, existing).obj;
    }
    return present(def, this.db.commit(def, key, namespace, obj).object).obj;
  }
}

/** A custom resource's generation: 1 when new, one more when anything but metadata changed. */
function nextGeneration(obj: KubeObject, existing: Stored | undefined): number {
  if (!existing) return 1;
  const previous = existing.obj.metadata.generation ?? 1;
  const content = ({ metadata: _metadata, kind: _kind, apiVersion: _apiVersion, ...rest }: KubeObject) =>
    rest;
  return canonical(content(obj)) === canonical(content(existing.obj)) ? previous : previous + 1;
}

function socketKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** Starts a simulator listening on loopback (a free port unless `port` is given). */
export async function startKubeSimulator(options?: KubeSimulatorOptions): Promise<KubeSimulator> {
  const sim = new KubeSimulator(options);
  await sim.listen();
  return sim;
}
