import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { Database, type PendingWrite } from './db.ts';
import { type FailureOptions, Faults, matches, type RequestMatch, resourceLabel } from './faults.ts';
import { ApiHandler, type StaleWatchResponse } from './handler.ts';
import { kubeconfigYaml, loadKubeConfig } from './kubeconfig.ts';
import { mergePatch } from './patch.ts';
import { Registry } from './registry.ts';
import type { RequestInfo } from './request-info.ts';
import { keyOf, LEASES, NAMESPACES, PODS, RESOURCES, type ResourceDef } from './resources.ts';
import { invalid, StatusError, watchCompacted } from './status.ts';
import { type Stored, withTypeMeta } from './stored.ts';
import { canonical } from './strategy.ts';
import { type ServingCertificate, servingCertificate } from './tls.ts';
import type { KubeObject, LeaseJson, NamespaceJson, PodJson, PodStatusJson } from './types.ts';
import { type WatchCloseReason, WatchHub, type WatchInfo, type WatchStream } from './watch.ts';

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
  /** Clock for timestamps the server sets (creation, deletion), in epoch milliseconds. */
  clock?: () => number;
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
  watchOpen: [info: WatchInfo];
  watchClose: [info: WatchInfo, reason: WatchCloseReason];
}

/** Which open watches a fault applies to. */
export interface WatchMatch {
  resource?: string;
  namespace?: string;
  id?: number;
}

const DEFAULTS: Required<Omit<KubeSimulatorOptions, 'clock'>> = {
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
};

function watchMatches(match: WatchMatch | undefined, info: WatchInfo): boolean {
  if (!match) return true;
  if (match.resource !== undefined && match.resource !== info.resource) return false;
  if (match.namespace !== undefined && match.namespace !== info.namespace) return false;
  if (match.id !== undefined && match.id !== info.id) return false;
  return true;
}

/**
 * A Kubernetes API server on loopback: pods, namespaces and leases over the real wire protocol,
 * with direct state operations for tests and the demo (they emit watch events exactly like API
 * writes), request counters, and faults to inject. Start one with `startKubeSimulator`.
 */
export class KubeSimulator extends EventEmitter<KubeSimulatorEvents> {
  private readonly options: Required<Omit<KubeSimulatorOptions, 'clock'>> & KubeSimulatorOptions;
  private readonly db: Database;
  private readonly registry: Registry;
  private readonly hub = new WatchHub();
  private readonly faults = new Faults();
  private readonly handler: ApiHandler;
  private readonly counts = new Map<string, number>();
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
    this.db = new Database(RESOURCES, this.options.historyLimit);
    this.registry = new Registry(this.db, this.options.clock ?? Date.now);
    this.db.onChange((def, event) => this.hub.publish(def, event));
    this.handler = new ApiHandler({
      db: this.db,
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
      onWatchOpen: (stream) => this.emit('watchOpen', stream.info),
      onWatchClose: (stream, reason) => this.emit('watchClose', stream.info, reason),
    });
    for (const name of this.options.namespaces) this.createNamespace(name);
  }

  /** Listens and starts periodic compaction. Called by `startKubeSimulator`. */
  async listen(): Promise<void> {
    if (this.options.tls) this.certificate = await servingCertificate(this.options.host);
    await this.bind(this.options.port);
    this.scheduleCompaction();
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

  resetCounters(): void {
    this.counts.clear();
    this.connections = 0;
  }

  /** TCP connections accepted so far (since the last resetCounters): each one a TLS handshake. */
  connectionCount(): number {
    return this.connections;
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
    this.emit('request', info);
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
    if (errors.length) throw invalid(def.kind, obj.metadata.name ?? '', def, errors);
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
      const candidate = withTypeMeta(obj, def.kind, def.apiVersion);
      candidate.metadata = { ...candidate.metadata, resourceVersion: existing.obj.metadata.resourceVersion };
      if (canonical(candidate) === canonical(existing.obj)) return existing.obj;
    }
    return this.db.commit(def, key, namespace, obj).object.obj;
  }
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
