import type { KubeConfig } from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { Backoff } from './backoff.ts';
import { KeptConnection } from './kept-connection.ts';
import { refusal } from './response.ts';
import { apiPath, type ListPage } from './rest.ts';
import { type WatchEnd, watchStream } from './watch-stream.ts';
import { StringPool, type TrackedPod, trimPod } from './trim.ts';

/** Where the watcher delivers pods. `scope` is the namespace a list covered, or null for all. */
export interface PodSink {
  replaceAll(pods: TrackedPod[], scope: string | null): void;
  upsert(pod: TrackedPod): void;
  remove(namespace: string, name: string): void;
}

export interface WatchObserver {
  watchRestart(reason: WatchRestartReason): void;
}

/**
 * Why a watch was restarted: the server closed it (normal, e.g. timeoutSeconds), it failed, its
 * resourceVersion was compacted away (410, so a relist follows), or it went silent past the watchdog.
 * A failed list (an error answer, or a page not complete within its timeout) counts as `list_error`;
 * an event that could not be applied (an exception in trimming or in the sink) as `apply_error`,
 * and a relist follows, so the event is not lost.
 */
export type WatchRestartReason = 'closed' | 'error' | 'gone' | 'idle' | 'list_error' | 'apply_error';

export interface PodWatcherOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch one by one; empty = one cluster-wide watch. */
  namespaces: readonly string[];
  /** A field selector for every list and watch (the namespaces left out: NamespaceScope.fieldSelector). */
  fieldSelector?: string | undefined;
  /** A watch that delivers nothing, bookmarks included, this long is restarted. */
  idleTimeoutMs: number;
  sink: PodSink;
  observer?: WatchObserver;
  log?: Logger;
  /** Pods per list page (default DEFAULT_PAGE_SIZE). */
  pageSize?: number;
  /** Builds each scope's backoff (tests pass short delays). */
  backoff?: () => Backoff;
  /** How long one list page, body included, may take (default DEFAULT_LIST_PAGE_TIMEOUT_MS). */
  listPageTimeoutMs?: number;
}

/**
 * Pods per list page. A page is held whole while it is parsed (about 3 KB of JSON per pod, several
 * times that once parsed): 100 pods keep that near a megabyte, and 10,000 pods still take only 100
 * round trips on one kept-alive connection.
 */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * The longest one list page may take, from the request to the last byte of its body. The apiserver
 * gives up on any request that is not a watch after its --request-timeout, 60 s by default, so a page
 * not complete by then will not complete: without a bound of its own, a body that stalls mid-stream
 * would wait as long as the connection stays open, far past the watchdog that guards the watch.
 */
export const DEFAULT_LIST_PAGE_TIMEOUT_MS = 60_000;

interface Scope {
  namespace: string | null;
  synced: boolean;
  controller: AbortController | null;
  backoff: Backoff;
}

/** A watch that lasted less than this before ending counts as a failure for backoff. */
const MIN_HEALTHY_WATCH_MS = 1_000;

/**
 * Owns the pod list/watch loop instead of client-node's informer, which caches whole objects and has
 * stalled silently or stormed on reconnect (client-node issues 795, 958, 1933, 2127, 3020):
 * paginated list → watch from the list's resourceVersion with bookmarks → on a closed stream, watch
 * again from the last resourceVersion seen → on 410 Gone, relist → on errors, back off with jitter →
 * a watchdog (the stream's inactivity timer) restarts a watch that goes quiet. Pods are trimmed the
 * moment they arrive.
 */
export class PodWatcher {
  readonly #o: PodWatcherOptions;
  /** Lists and watches share one kept-alive connection pool. */
  readonly #connection: KeptConnection;
  readonly #log: Logger;
  readonly #pool = new StringPool();
  readonly #scopes: Scope[];
  readonly #synced: Promise<void>;
  #resolveSynced!: () => void;
  #stopped = false;
  /** Aborted by stop(): ends the list requests in flight. */
  readonly #stopping = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: PodWatcherOptions) {
    this.#o = options;
    const scopes = Math.max(1, options.namespaces.length);
    // Each scope's watch holds a connection for minutes; its lists need one more now and then.
    this.#connection = new KeptConnection(options.kubeConfig, { maxSockets: scopes + 2 });
    this.#log = (options.log ?? silentLogger).child({ component: 'pod-watch' });
    const names = options.namespaces.length ? [...options.namespaces] : [null];
    this.#scopes = names.map((namespace) => ({
      namespace,
      synced: false,
      controller: null,
      backoff: options.backoff?.() ?? new Backoff(),
    }));
    this.#synced = new Promise((resolve) => {
      this.#resolveSynced = resolve;
    });
  }

  /** True once every scope's first list is in. */
  get synced(): boolean {
    return this.#scopes.every((s) => s.synced);
  }

  whenSynced(): Promise<void> {
    return this.#synced;
  }

  start(): void {
    this.#loops = this.#scopes.map((scope) => this.#run(scope));
  }

  /** Lists every scope once and delivers the pods, without watching (`report`). */
  async listOnce(): Promise<void> {
    try {
      await Promise.all(this.#scopes.map((scope) => this.#list(scope)));
    } catch (err) {
      const e = err as { code?: number; body?: unknown };
      const detail = e.code ? `HTTP ${e.code}` : (err as Error).message;
      throw new WardenError('ERR_KUBE_API', `cannot list pods: ${detail}`, { cause: err });
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    for (const scope of this.#scopes) {
      scope.controller?.abort();
      scope.backoff.cancel();
    }
    await Promise.allSettled(this.#loops);
    this.#connection.reset();
  }

  async #run(scope: Scope): Promise<void> {
    const { backoff } = scope;
    let resourceVersion: string | null = null;
    while (!this.#stopped) {
      if (resourceVersion === null) {
        try {
          // The backoff is reset by a healthy watch, not by a list: an apiserver that answers every
          // watch with 410 would otherwise be relisted from scratch several times a second.
          resourceVersion = await this.#list(scope);
          if (this.#stopped) return;
        } catch (err) {
          if (this.#stopped) return;
          this.#log.warn({ err, namespace: scope.namespace }, 'pod list failed; retrying');
          this.#o.observer?.watchRestart('list_error');
          await backoff.wait();
          continue;
        }
      }
      const started = performance.now();
      const ended = await this.#watchOnce(scope, resourceVersion);
      // A stream that ends at once, cleanly or with 410, again and again (a proxy cutting streams,
      // an apiserver answering 410 to every watch) must not become a tight reconnect loop.
      const shortLived = performance.now() - started < MIN_HEALTHY_WATCH_MS;
      if (this.#stopped) return;
      const relist = ended.reason === 'gone' || ended.reason === 'apply_error';
      resourceVersion = relist ? null : ended.resourceVersion;
      this.#o.observer?.watchRestart(ended.reason);
      this.#log.debug({ namespace: scope.namespace, reason: ended.reason }, 'watch restarting');
      if (ended.reason === 'error' || shortLived) await backoff.wait();
      else backoff.reset();
    }
  }

  /** Lists every pod in the scope page by page; returns the list's resourceVersion. */
  async #list(scope: Scope): Promise<string> {
    const pods: TrackedPod[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    const limit = this.#o.pageSize ?? DEFAULT_PAGE_SIZE;
    do {
      const next = await this.#listPage(scope, limit, cont, pods);
      resourceVersion = next.resourceVersion ?? resourceVersion;
      cont = next.cont;
    } while (cont && !this.#stopped);
    // Stopped meanwhile: the sink may already belong to someone else's truth (a follower's empty
    // inventory, or a newer watch), and a list cut short is no truth at all.
    if (this.#stopped) return resourceVersion;
    this.#o.sink.replaceAll(pods, scope.namespace);
    this.#log.info({ namespace: scope.namespace, pods: pods.length, resourceVersion }, 'pods listed');
    if (!scope.synced) {
      scope.synced = true;
      if (this.synced) this.#resolveSynced();
    }
    return resourceVersion;
  }

  /**
   * One page of pods, trimmed into `into`: read as raw JSON, without client-node's model
   * deserializer, which builds a full V1Pod, dates and all, for every pod, only for all but a few
   * fields to be dropped by trimPod. The body is decoded as it streams in rather than collected into
   * one Buffer first, so no page-sized native buffer is allocated (and freed) per page.
   */
  async #listPage(
    scope: Scope,
    limit: number,
    cont: string | undefined,
    into: TrackedPod[],
  ): Promise<{ resourceVersion: string | undefined; cont: string | undefined }> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (this.#o.fieldSelector) query.set('fieldSelector', this.#o.fieldSelector);
    if (cont) query.set('continue', cont);
    const timeoutMs = this.#o.listPageTimeoutMs ?? DEFAULT_LIST_PAGE_TIMEOUT_MS;
    // The timeout ends the request and the reading of its body, so it bounds a body that stalls
    // mid-stream too.
    const answer = await this.#connection
      .request({
        method: 'GET',
        path: `${podsPath(scope)}?${query}`,
        headers: REQUEST_HEADERS,
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#stopping.signal]),
      })
      .catch((err: unknown) => {
        if ((err as { name?: string }).name !== 'TimeoutError') throw err;
        throw new WardenError('ERR_KUBE_TIMEOUT', `a pod list page was not complete within ${timeoutMs} ms`, {
          cause: err,
        });
      });
    if (answer.status !== 200) throw refusal(answer, 'listing pods failed');
    // Items stay raw JSON until trimmed, here, so that nothing of the page outlives this call.
    const page = JSON.parse(answer.text) as ListPage<unknown>;
    for (const item of page.items ?? []) {
      const pod = trimPod(item, this.#pool);
      if (pod) into.push(pod);
    }
    return { resourceVersion: page.metadata?.resourceVersion, cont: page.metadata?.continue || undefined };
  }

  /** One watch stream, from `resourceVersion` until it ends; says why it ended and where it got to. */
  async #watchOnce(
    scope: Scope,
    resourceVersion: string,
  ): Promise<{ reason: WatchRestartReason; resourceVersion: string }> {
    let latest = resourceVersion;
    let verdict: WatchRestartReason | null = null;
    const controller = new AbortController();
    scope.controller = controller;
    if (this.#stopped) controller.abort();
    const onEvent = (type: string, object: unknown) => {
      // After a verdict the stream is being torn down: what it still delivers is not applied.
      if (this.#stopped || verdict) return;
      try {
        apply(type, object);
      } catch (err) {
        // An event that cannot be applied would be lost for good (the next one moves the
        // resourceVersion past it). End the stream and relist, as for a 410, so the pod store is
        // rebuilt from the truth.
        verdict = 'apply_error';
        this.#log.error(
          { err, namespace: scope.namespace, type },
          'could not apply a watch event; relisting',
        );
        controller.abort();
      }
    };
    const apply = (type: string, object: unknown) => {
      const obj = object as {
        metadata?: { resourceVersion?: string; name?: string; namespace?: string };
        code?: number;
      };
      switch (type) {
        case 'ADDED':
        case 'MODIFIED': {
          const pod = trimPod(obj, this.#pool);
          if (pod) this.#o.sink.upsert(pod);
          break;
        }
        case 'DELETED':
          if (obj.metadata?.namespace && obj.metadata.name)
            this.#o.sink.remove(obj.metadata.namespace, obj.metadata.name);
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR':
          // The apiserver reports a compacted resourceVersion on an open stream as an ERROR event.
          verdict = obj.code === 410 ? 'gone' : 'error';
          this.#log.info({ namespace: scope.namespace, status: obj }, 'watch error event');
          controller.abort();
          return;
      }
      const rv = obj.metadata?.resourceVersion;
      if (rv) latest = rv;
    };
    const query = new URLSearchParams({
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion,
      // Spread reconnects of many replicas over time, as client-go does (5–10 minutes).
      timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
    });
    if (this.#o.fieldSelector) query.set('fieldSelector', this.#o.fieldSelector);
    const end = await watchStream({
      connection: this.#connection,
      path: `${podsPath(scope)}?${query}`,
      headers: REQUEST_HEADERS,
      idleTimeoutMs: this.#o.idleTimeoutMs,
      signal: controller.signal,
      onEvent,
    });
    scope.controller = null;
    return { reason: verdict ?? this.#reasonOf(scope, end), resourceVersion: latest };
  }

  #reasonOf(scope: Scope, end: WatchEnd): WatchRestartReason {
    switch (end.kind) {
      case 'closed':
        return 'closed';
      case 'idle':
        return 'idle';
      case 'status':
        if (end.code === 410) return 'gone';
        if (!this.#stopped)
          this.#log.warn({ namespace: scope.namespace, code: end.code, status: end.body }, 'watch refused');
        return 'error';
      case 'malformed':
        // What the line held is lost: relisted, as for an event that could not be applied.
        this.#log.error(
          { namespace: scope.namespace, reason: end.message },
          'malformed watch stream; relisting',
        );
        return 'apply_error';
      case 'failed':
        if (!this.#stopped) this.#log.warn({ err: end.error, namespace: scope.namespace }, 'watch failed');
        return 'error';
    }
  }
}

/** What list and watch requests ask for. */
const REQUEST_HEADERS: Readonly<Record<string, string>> = { Accept: 'application/json' };

function podsPath(scope: Scope): string {
  return scope.namespace ? apiPath`/api/v1/namespaces/${scope.namespace}/pods` : '/api/v1/pods';
}
