import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
  type ResponseContext,
  Watch,
} from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { Backoff } from './backoff.ts';
import { parseOrText, readText } from './response.ts';
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
 * would wait for undici's 300 s body timeout, far past the watchdog that guards the watch.
 */
export const DEFAULT_LIST_PAGE_TIMEOUT_MS = 60_000;

/** A pod list page as the apiserver sends it; items stay raw JSON until trimmed. */
interface RawPodList {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

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
  readonly #http = new IsomorphicFetchHttpLibrary();
  readonly #watch: Watch;
  readonly #log: Logger;
  readonly #pool = new StringPool();
  readonly #scopes: Scope[];
  readonly #synced: Promise<void>;
  #resolveSynced!: () => void;
  #stopped = false;
  #loops: Promise<void>[] = [];

  constructor(options: PodWatcherOptions) {
    this.#o = options;
    this.#watch = new Watch(options.kubeConfig);
    // client-node's Watch aborts a stream that delivers no data (bookmarks included) for
    // requestTimeoutMs, 30 s by default: shorter than the apiserver's bookmark interval, so a quiet
    // watch would be torn down twice a minute. The field is public at run time but typed private;
    // setting it makes that inactivity timer our watchdog at kubernetes.watchIdleTimeout.
    (this.#watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.idleTimeoutMs;
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
    for (const scope of this.#scopes) {
      scope.controller?.abort();
      scope.backoff.cancel();
    }
    await Promise.allSettled(this.#loops);
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
    // Authenticated once for the whole list: client-node builds a new connection pool (a new TLS
    // context and handshake) on every authentication, and pages on one kept-alive connection are
    // cheaper in time and native memory than a connection each. A list lasts seconds, far less than
    // any credential it may carry.
    const cluster = this.#o.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const request = new RequestContext(cluster.server, HttpMethod.GET);
    request.setHeaderParam('Accept', 'application/json');
    await this.#o.kubeConfig.applySecurityAuthentication(request);
    try {
      do {
        const next = await this.#listPage(request, cluster.server, scope, limit, cont, pods);
        resourceVersion = next.resourceVersion ?? resourceVersion;
        cont = next.cont;
      } while (cont && !this.#stopped);
    } finally {
      // Its connection is not needed until the next list: closed now rather than left to idle out.
      await request
        .getDispatcher()
        ?.close()
        .catch(() => undefined);
    }
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
   * One page of pods, trimmed into `into`. Read as raw JSON through client-node's own request
   * context (authenticated by the caller), and fetch (as its Watch does), without its model deserializer: that
   * builds a full V1Pod, dates and all, for every pod, only for all but a few fields to be dropped by
   * trimPod. The body is decoded as it streams in rather than collected into one Buffer first, so no
   * page-sized native buffer is allocated (and freed) per page.
   */
  async #listPage(
    request: RequestContext,
    server: string,
    scope: Scope,
    limit: number,
    cont: string | undefined,
    into: TrackedPod[],
  ): Promise<{ resourceVersion: string | undefined; cont: string | undefined }> {
    const path = scope.namespace
      ? `/api/v1/namespaces/${encodeURIComponent(scope.namespace)}/pods`
      : '/api/v1/pods';
    const url = new URL(server + path);
    url.searchParams.set('limit', String(limit));
    if (this.#o.fieldSelector) url.searchParams.set('fieldSelector', this.#o.fieldSelector);
    if (cont) url.searchParams.set('continue', cont);
    request.setUrl(url.toString());
    const timeoutMs = this.#o.listPageTimeoutMs ?? DEFAULT_LIST_PAGE_TIMEOUT_MS;
    // Aborting fetch also fails the body's stream, so this bounds a body that stalls mid-stream too.
    request.setSignal(AbortSignal.timeout(timeoutMs));
    const { response, text } = await this.#fetchPage(request).catch((err: unknown) => {
      if ((err as { name?: string }).name !== 'TimeoutError') throw err;
      throw new WardenError('ERR_KUBE_TIMEOUT', `a pod list page was not complete within ${timeoutMs} ms`, {
        cause: err,
      });
    });
    if (response.httpStatusCode !== 200) {
      // The same error client-node's API clients throw, so callers read `code` and `body` as before.
      throw new ApiException(
        response.httpStatusCode,
        'listing pods failed',
        parseOrText(text),
        response.headers,
      );
    }
    // Trimmed here, so that nothing of the page outlives this call.
    const page = JSON.parse(text) as RawPodList;
    for (const item of page.items ?? []) {
      const pod = trimPod(item, this.#pool);
      if (pod) into.push(pod);
    }
    return { resourceVersion: page.metadata?.resourceVersion, cont: page.metadata?.continue || undefined };
  }

  async #fetchPage(request: RequestContext): Promise<{ response: ResponseContext; text: string }> {
    const response = await this.#http.send(request).toPromise();
    return { response, text: await readText(response) };
  }

  /** One watch stream, from `resourceVersion` until it ends; says why it ended and where it got to. */
  #watchOnce(
    scope: Scope,
    resourceVersion: string,
  ): Promise<{ reason: WatchRestartReason; resourceVersion: string }> {
    const path = scope.namespace
      ? `/api/v1/namespaces/${encodeURIComponent(scope.namespace)}/pods`
      : '/api/v1/pods';
    let latest = resourceVersion;
    let verdict: WatchRestartReason | null = null;
    return new Promise((resolve) => {
      const finish = (reason: WatchRestartReason) => {
        scope.controller = null;
        resolve({ reason: verdict ?? reason, resourceVersion: latest });
      };
      const onEvent = (type: string, object: unknown) => {
        // After a verdict the stream is being torn down: what it still delivers is not applied.
        if (this.#stopped || verdict) return;
        try {
          apply(type, object);
        } catch (err) {
          // client-node's Watch swallows whatever its callback throws, and the event would be lost
          // for good (the next one moves the resourceVersion past it). End the stream and relist, as
          // for a 410, so the pod store is rebuilt from the truth.
          verdict = 'apply_error';
          this.#log.error(
            { err, namespace: scope.namespace, type },
            'could not apply a watch event; relisting',
          );
          scope.controller?.abort();
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
            scope.controller?.abort();
            return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) latest = rv;
      };
      const onDone = (err: unknown) => {
        if (!err) return finish('closed');
        const e = err as { statusCode?: number; name?: string };
        if (e.statusCode === 410) return finish('gone');
        if (e.name === 'TimeoutError') return finish('idle');
        if (!verdict && !this.#stopped) this.#log.warn({ err, namespace: scope.namespace }, 'watch failed');
        finish('error');
      };
      this.#watch
        .watch(
          path,
          {
            allowWatchBookmarks: true,
            resourceVersion,
            ...(this.#o.fieldSelector ? { fieldSelector: this.#o.fieldSelector } : {}),
            // Spread reconnects of many replicas over time, as client-go does (5–10 minutes).
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          },
          onEvent,
          onDone,
        )
        .then((controller) => {
          scope.controller = controller;
          if (this.#stopped || verdict) controller.abort();
        })
        .catch((err: unknown) => onDone(err ?? new Error('watch failed')));
    });
  }
}
