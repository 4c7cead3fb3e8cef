import type { KubeConfig } from '@kubernetes/client-node';
import { KeptConnection } from '../kube/kept-connection.ts';
import { apiPath, KubeRest, MAX_RESPONSE_BYTES } from '../kube/rest.ts';
import { type Logger, silentLogger } from '../log.ts';
import { apiFailure, backoffMs } from './api-errors.ts';
import { systemClock, type WriterClock } from './clock.ts';
import { LogThrottle } from './log-throttle.ts';
import { TickLoop } from './loop.ts';
import {
  buildReport,
  DEFAULT_REPORT_LIMITS,
  namespaceResults,
  REPORT_NAME,
  REPORT_SOURCE,
  type ReportBody,
  type ReportLimits,
  reportDigest,
  resultKey,
} from './open-report.ts';
import type { FindingsSource, PodFindings } from './types.ts';

/**
 * OpenReports (SPEC section 11): one `Report` named `ecr-warden` per namespace that has something to
 * report, written as custom objects through KubeRest.
 *
 * Each tick, when the inventory's version has changed, the writer builds every namespace's Report
 * (open-report.ts) and compares its digest with the digest of what the apiserver holds; a namespace
 * that differs is written — created, replaced with its resourceVersion, or deleted when it has nothing
 * left — but not sooner than `minIntervalMs` after its previous write, so a namespace whose pods churn
 * costs at most one write per interval. A replace refused with 409 Conflict (someone wrote in
 * between) re-reads the Report and tries again with the new resourceVersion; a create refused with
 * AlreadyExists reads it and replaces it. At start the writer lists the Reports named `ecr-warden`
 * with `source: ecr-warden` cluster-wide, so a restart or a new leader rewrites only what changed and
 * deletes the Reports of namespaces that have nothing left.
 */

/** The Reports of every namespace (openreports.io/v1alpha1). */
const REPORTS = '/apis/openreports.io/v1alpha1/reports';
/**
 * Reports per list page at most. A page holds fewer when that many Reports of the largest size
 * (limits.maxBytes, plus STORED_OVERHEAD_BYTES for what the apiserver adds: metadata, managedFields)
 * would not fit in one answer of MAX_RESPONSE_BYTES, which the client refuses to read past: 500
 * Reports near the default 768 KiB bound would be some 400 MiB, so by default a page holds 19.
 */
const LIST_PAGE = 500;
const STORED_OVERHEAD_BYTES = 64 * 1024;
/** Attempts at one write when each is refused with a conflict, before waiting for the next tick. */
const CONFLICT_ATTEMPTS = 3;

export interface OpenReportsWriterOptions {
  kubeConfig: KubeConfig;
  source: FindingsSource;
  log?: Logger;
  clock?: WriterClock;
  /** How often the writer looks at the inventory (default 1 s). */
  tickMs?: number;
  /** A namespace's Report is written at most this often (default 5 s). */
  minIntervalMs?: number;
  /** Size bounds of one Report (default 1,000 results, 768 KiB, 1 KiB messages). */
  limits?: Partial<ReportLimits>;
  /** Reports written at once (default 4). */
  maxConcurrent?: number;
  /** Namespaces with a Report at most (default 10,000); past it, more namespaces get none (counted). */
  maxNamespaces?: number;
  /** One request's time limit (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest wait between retries of a failing write (default 5 minutes). */
  maxBackoffMs?: number;
  /**
   * The Reports are listed again this often (default 10 minutes), so one deleted or edited by
   * someone else is put right even while the inventory does not change.
   */
  resyncMs?: number;
}

export interface OpenReportsWriterStats {
  /** Namespaces whose Report in the apiserver differs from what the inventory says now. */
  pending: number;
  /** Namespaces with a Report written by this writer (or read back at start). */
  reports: number;
  created: number;
  replaced: number;
  deleted: number;
  /** Writes refused with 409 and retried after a read. */
  conflicts: number;
  failed: number;
  /** Namespaces that got no Report because `maxNamespaces` had one already. */
  dropped: number;
  /** Results left out of Reports by the size bound, at the last build. */
  omitted: number;
}

interface NamespaceState {
  /** The Report exists in the apiserver, as far as the writer knows. */
  exists: boolean;
  resourceVersion: string | undefined;
  /** reportDigest of what the apiserver holds; null when there is none or it is unknown. */
  written: string | null;
  lastWriteAt: number;
  retryAt: number;
  failures: number;
  /** When each current result was first seen (epoch seconds), by resultKey. */
  firstSeen: Map<string, number>;
}

interface Wanted {
  report: ReportBody;
  digest: string;
}

export class OpenReportsWriter {
  readonly #source: FindingsSource;
  readonly #log: Logger;
  readonly #warn: LogThrottle;
  readonly #clock: WriterClock;
  readonly #connection: KeptConnection;
  readonly #api: KubeRest;
  readonly #listPage: number;
  readonly #loop: TickLoop;
  readonly #minIntervalMs: number;
  readonly #limits: ReportLimits;
  readonly #maxConcurrent: number;
  readonly #maxNamespaces: number;
  readonly #requestTimeoutMs: number;
  readonly #maxBackoffMs: number;
  readonly #resyncMs: number;

  #states = new Map<string, NamespaceState>();
  #wanted = new Map<string, Wanted>();
  #version: number | undefined;
  /** When the Reports were last listed from the apiserver; -Infinity: list them first. */
  #readBackAt = -Infinity;
  #pausedUntil = 0;
  #pauseFailures = 0;
  #stats = OpenReportsWriter.#zeroStats();

  constructor(options: OpenReportsWriterOptions) {
    this.#source = options.source;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? silentLogger).child({ component: 'open-reports' });
    this.#warn = new LogThrottle(this.#log, 60_000, this.#clock.now);
    this.#minIntervalMs = nonNegative(options.minIntervalMs ?? 5000, 'minIntervalMs');
    this.#limits = { ...DEFAULT_REPORT_LIMITS, ...options.limits };
    for (const [key, value] of Object.entries(this.#limits)) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`limits.${key} must be a positive integer`);
    }
    this.#maxConcurrent = nonNegative(options.maxConcurrent ?? 4, 'maxConcurrent') || 1;
    this.#maxNamespaces = nonNegative(options.maxNamespaces ?? 10_000, 'maxNamespaces');
    this.#requestTimeoutMs = nonNegative(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs');
    this.#maxBackoffMs = nonNegative(options.maxBackoffMs ?? 5 * 60_000, 'maxBackoffMs');
    this.#resyncMs = nonNegative(options.resyncMs ?? 10 * 60_000, 'resyncMs');
    this.#connection = new KeptConnection(options.kubeConfig);
    this.#api = new KubeRest(this.#connection);
    const fit = Math.floor(MAX_RESPONSE_BYTES / (this.#limits.maxBytes + STORED_OVERHEAD_BYTES));
    this.#listPage = Math.max(1, Math.min(LIST_PAGE, fit));
    const tickMs = options.tickMs ?? 1000;
    if (!(tickMs > 0)) throw new RangeError(`tickMs must be positive, got ${tickMs}`);
    this.#loop = new TickLoop(this.#clock, tickMs, (signal) => this.#tick(signal), this.#log);
  }

  static #zeroStats() {
    return { created: 0, replaced: 0, deleted: 0, conflicts: 0, failed: 0, dropped: 0, omitted: 0 };
  }

  get running(): boolean {
    return this.#loop.running;
  }

  /** Starts writing; what an earlier term knew is forgotten and read back from the apiserver. */
  start(): void {
    if (this.#loop.running) return;
    this.#states = new Map();
    this.#wanted = new Map();
    this.#version = undefined;
    this.#readBackAt = -Infinity;
    this.#pausedUntil = 0;
    this.#pauseFailures = 0;
    this.#loop.start();
  }

  /** Stops writing; requests in flight are aborted. Resolves when the writer is quiet. */
  async stop(): Promise<void> {
    await this.#loop.stop();
    this.#connection.reset();
  }

  idle(): Promise<void> {
    return this.#loop.idle();
  }

  stats(): OpenReportsWriterStats {
    let reports = 0;
    for (const state of this.#states.values()) if (state.exists) reports++;
    return { ...this.#stats, pending: this.#outdated().length, reports };
  }

  async #tick(signal: AbortSignal): Promise<void> {
    if (this.#clock.now() < this.#pausedUntil) return;
    if (this.#clock.now() >= this.#readBackAt + this.#resyncMs) {
      if (!(await this.#readBackReports(signal))) return;
      this.#readBackAt = this.#clock.now();
    }
    const version = this.#source.version();
    if (version !== this.#version) {
      this.#version = version;
      this.#build();
    }
    const now = this.#clock.now();
    const due = this.#outdated().filter((ns) => {
      const state = this.#states.get(ns);
      return !state || (now >= state.lastWriteAt + this.#minIntervalMs && now >= state.retryAt);
    });
    this.#connection.signal = AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
    try {
      // A few namespaces at a time: each write is a whole Report, up to maxBytes.
      let next = 0;
      const worker = async () => {
        while (next < due.length && !signal.aborted && this.#clock.now() >= this.#pausedUntil) {
          await this.#write(due[next++]!, signal);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#maxConcurrent, due.length) }, worker));
    } finally {
      this.#connection.signal = undefined;
    }
  }

  /** Every namespace's Report as the inventory has it now. */
  #build(): void {
    const byNamespace = new Map<string, PodFindings[]>();
    for (const pod of this.#source.podFindings()) {
      let pods = byNamespace.get(pod.namespace);
      if (!pods) byNamespace.set(pod.namespace, (pods = []));
      pods.push(pod);
    }
    const tallies = this.#source.namespaceTallies();
    const nowSeconds = Math.floor(this.#clock.now() / 1000);
    const wanted = new Map<string, Wanted>();
    let omitted = 0;
    let dropped = 0;
    for (const [namespace, pods] of byNamespace) {
      let state = this.#states.get(namespace);
      if (!state) {
        if (this.#states.size >= this.#maxNamespaces) {
          dropped++;
          continue;
        }
        state = newState();
        this.#states.set(namespace, state);
      }
      const seen = state.firstSeen;
      const current = new Map<string, number>();
      const results = namespaceResults(
        pods,
        (key) => {
          const at = seen.get(key) ?? nowSeconds;
          current.set(key, at);
          return at;
        },
        this.#limits.maxMessageBytes,
      );
      state.firstSeen = current;
      const report = buildReport(namespace, results, tallies.get(namespace), this.#limits);
      if (!report) continue;
      omitted += results.length - report.results.length;
      wanted.set(namespace, { report, digest: reportDigest(report as unknown as Record<string, unknown>) });
    }
    // Namespaces without findings keep no first-seen times; those without a Report, no state at all.
    for (const [namespace, state] of this.#states) {
      if (!byNamespace.has(namespace)) state.firstSeen = new Map();
      if (!wanted.has(namespace) && !state.exists) this.#states.delete(namespace);
    }
    this.#wanted = wanted;
    this.#stats.omitted = omitted;
    this.#stats.dropped = dropped;
  }

  /** Namespaces whose Report in the apiserver is not what the inventory says. */
  #outdated(): string[] {
    const out: string[] = [];
    for (const [namespace, wanted] of this.#wanted) {
      if (this.#states.get(namespace)?.written !== wanted.digest) out.push(namespace);
    }
    for (const [namespace, state] of this.#states) {
      if (state.exists && !this.#wanted.has(namespace)) out.push(namespace);
    }
    return out;
  }

  async #write(namespace: string, signal: AbortSignal): Promise<void> {
    let state = this.#states.get(namespace);
    if (!state) this.#states.set(namespace, (state = newState()));
    const wanted = this.#wanted.get(namespace);
    try {
      if (wanted) await this.#upsert(namespace, state, wanted);
      else await this.#delete(namespace, state);
      state.failures = 0;
      this.#pauseFailures = 0;
    } catch (err) {
      if (signal.aborted) return;
      this.#failed(namespace, state, err);
    } finally {
      state.lastWriteAt = this.#clock.now();
      if (!state.exists && !this.#wanted.has(namespace) && state.failures === 0)
        this.#states.delete(namespace);
    }
  }

  async #upsert(namespace: string, state: NamespaceState, wanted: Wanted): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const body = { ...wanted.report, metadata: { ...wanted.report.metadata } };
        let written: Record<string, unknown>;
        if (state.exists && state.resourceVersion) {
          body.metadata.resourceVersion = state.resourceVersion;
          written = await this.#api.replace(reportPath(namespace), body);
          this.#stats.replaced++;
        } else {
          written = await this.#api.create(reportsPath(namespace), body);
          this.#stats.created++;
        }
        state.exists = true;
        state.resourceVersion = resourceVersionOf(written);
        state.written = wanted.digest;
        return;
      } catch (err) {
        const failure = apiFailure(err);
        const conflict = failure.status === 409;
        const gone = failure.status === 404 && state.exists && failure.kind !== 'namespaces';
        if ((!conflict && !gone) || attempt >= CONFLICT_ATTEMPTS) throw err;
        if (conflict) this.#stats.conflicts++;
        // Someone wrote it in between (or it already existed): read it, then write over it.
        if (!(await this.#reread(namespace, state))) continue;
        if (state.written === wanted.digest) return;
      }
    }
  }

  /** Reads the namespace's Report into the state; false when there is none. */
  async #reread(namespace: string, state: NamespaceState): Promise<boolean> {
    try {
      const current = await this.#api.get<Record<string, unknown>>(reportPath(namespace));
      state.exists = true;
      state.resourceVersion = resourceVersionOf(current);
      state.written = reportDigest(current);
      return true;
    } catch (err) {
      if (apiFailure(err).status !== 404) throw err;
      state.exists = false;
      state.resourceVersion = undefined;
      state.written = null;
      return false;
    }
  }

  async #delete(namespace: string, state: NamespaceState): Promise<void> {
    try {
      await this.#api.delete(reportPath(namespace));
      this.#stats.deleted++;
    } catch (err) {
      if (apiFailure(err).status !== 404) throw err;
    }
    state.exists = false;
    state.resourceVersion = undefined;
    state.written = null;
  }

  #failed(namespace: string, state: NamespaceState, err: unknown): void {
    const failure = apiFailure(err);
    this.#stats.failed++;
    const now = this.#clock.now();
    state.failures++;
    state.retryAt = now + backoffMs(state.failures, this.#maxBackoffMs);
    const fields = { namespace, status: failure.status, reason: failure.reason, message: failure.message };
    if (failure.status === 404 && failure.kind !== 'namespaces') {
      // Not the namespace: the Report resource itself is not served. Nothing works until it is.
      this.#pause(now, failure.retryAfterMs);
      this.#warn.warn(
        'no-crd',
        fields,
        'the apiserver does not serve reports.openreports.io; install the OpenReports CRDs (chart value reports.installCRDs)',
      );
      return;
    }
    if (failure.status === 429 || failure.status === 503) this.#pause(now, failure.retryAfterMs);
    this.#warn.warn(`status-${failure.status ?? 'none'}`, fields, 'writing a Report failed; retrying later');
  }

  #pause(now: number, retryAfterMs: number | undefined): void {
    this.#pauseFailures++;
    const pause = Math.min(
      retryAfterMs ?? backoffMs(this.#pauseFailures, this.#maxBackoffMs),
      this.#maxBackoffMs,
    );
    this.#pausedUntil = Math.max(this.#pausedUntil, now + pause);
  }

  /**
   * Lists the Reports this controller wrote (named `ecr-warden`, with its source) — at start, what an
   * earlier term or another replica wrote, then every `resyncMs` — and takes what the apiserver holds
   * as what is written, so that only what differs is written. False when the list failed: it is tried
   * again, since without it Reports of namespaces that have nothing left would never be deleted.
   */
  async #readBackReports(signal: AbortSignal): Promise<boolean> {
    let cont: string | undefined;
    const listed = new Map<string, Record<string, unknown>>();
    try {
      do {
        // Each page has the time of one request: pages may be small (#listPage), and many.
        this.#connection.signal = AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
        const page = await this.#api.list<Record<string, unknown>>(REPORTS, {
          continue: cont,
          fieldSelector: `metadata.name=${REPORT_NAME}`,
          limit: this.#listPage,
        });
        for (const item of page.items ?? []) {
          const metadata = (item.metadata ?? {}) as { namespace?: string; resourceVersion?: string };
          if (item.source !== REPORT_SOURCE || !metadata.namespace) continue;
          if (listed.size >= this.#maxNamespaces) break;
          listed.set(metadata.namespace, item);
        }
        cont = page.metadata?.continue || undefined;
      } while (cont && !signal.aborted);
      if (signal.aborted) return false;
      // What the writer knows about pacing and retries stays; what exists is the apiserver's word.
      for (const [namespace, state] of this.#states) {
        if (listed.has(namespace)) continue;
        state.exists = false;
        state.resourceVersion = undefined;
        state.written = null;
      }
      for (const [namespace, item] of listed) {
        let state = this.#states.get(namespace);
        if (!state) this.#states.set(namespace, (state = newState()));
        state.exists = true;
        state.resourceVersion = resourceVersionOf(item);
        state.written = reportDigest(item);
        if (state.firstSeen.size === 0) state.firstSeen = firstSeenOf(item);
      }
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      this.#stats.failed++;
      const failure = apiFailure(err);
      const now = this.#clock.now();
      this.#pause(now, failure.retryAfterMs);
      this.#warn.warn(
        'read-back',
        { status: failure.status, message: failure.message },
        failure.status === 404
          ? 'the apiserver does not serve reports.openreports.io; install the OpenReports CRDs (chart value reports.installCRDs)'
          : 'could not list existing Reports; retrying',
      );
      return false;
    } finally {
      this.#connection.signal = undefined;
    }
  }
}

function reportsPath(namespace: string): string {
  return apiPath`/apis/openreports.io/v1alpha1/namespaces/${namespace}/reports`;
}

function reportPath(namespace: string): string {
  return reportsPath(namespace) + apiPath`/${REPORT_NAME}`;
}

function newState(): NamespaceState {
  return {
    exists: false,
    resourceVersion: undefined,
    written: null,
    lastWriteAt: -Infinity,
    retryAt: 0,
    failures: 0,
    firstSeen: new Map(),
  };
}

function resourceVersionOf(obj: Record<string, unknown>): string | undefined {
  const version = (obj.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  return typeof version === 'string' ? version : undefined;
}

/** The first-seen times of a Report's results, so a restart keeps them (and the Report unchanged). */
function firstSeenOf(report: Record<string, unknown>): Map<string, number> {
  const seen = new Map<string, number>();
  const results = Array.isArray(report.results) ? (report.results as Array<Record<string, unknown>>) : [];
  for (const result of results) {
    const uid = (result.resources as Array<{ uid?: string }> | undefined)?.[0]?.uid;
    const container = (result.properties as { container?: string } | undefined)?.container;
    const seconds = (result.timestamp as { seconds?: unknown } | undefined)?.seconds;
    if (
      typeof uid === 'string' &&
      typeof container === 'string' &&
      typeof result.rule === 'string' &&
      typeof seconds === 'number'
    ) {
      seen.set(resultKey(uid, container, result.rule), seconds);
    }
  }
  return seen;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}
