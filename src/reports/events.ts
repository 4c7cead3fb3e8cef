import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventsV1Event, KubeConfig } from '@kubernetes/client-node';
import { KeptConnection } from '../kube/kept-connection.ts';
import { apiPath, KubeRest, microTime } from '../kube/rest.ts';
import { type Logger, silentLogger } from '../log.ts';
import { apiFailure, backoffMs, isRetryable } from './api-errors.ts';
import { systemClock, type WriterClock } from './clock.ts';
import { DueQueue } from './due-queue.ts';
import { LogThrottle } from './log-throttle.ts';
import { TickLoop } from './loop.ts';
import { truncateUtf8 } from './text.ts';
import { checkRateLimit, KeyedBuckets, type RateLimit, TokenBucket } from './token-bucket.ts';
import type { FindingReason, FindingsSource, PodFinding, PodFindings } from './types.ts';

/**
 * Kubernetes Events on pods (SPEC section 11): one events.k8s.io/v1 Warning per (pod, reason,
 * message) when a finding starts to hold, kept alive as a series while it lasts, the way client-go's
 * event recorders do it (k8s.io/client-go/tools/events and tools/record), with two differences that
 * come from the findings being a state rather than a stream:
 *
 * - Nothing is queued and nothing is dropped for lack of a token. Each pass compares the inventory's
 *   findings with what was emitted; a finding with no Event yet waits, ordered by when it was first
 *   seen, until the token buckets allow its create. A finding that ends before its turn never gets
 *   one. So 5,000 pods turning violating at once cost what the buckets allow, spread over the next
 *   minutes, and memory holds one entry per current finding (bounded by `maxTracked`).
 * - Event names are derived from (pod uid, reason, message), so the Event of a finding is found
 *   again after a watch restart (the entry is still in memory: no write), after this process restarts
 *   or after another replica takes over (a paginated list of this controller's Events at start, and
 *   409 AlreadyExists on create as a fallback: either way the existing Event's series is continued, so
 *   restarts never duplicate an Event).
 *
 * Series: while the finding holds, the Event is refreshed at most every `seriesIntervalMs` with
 * series.count + 1 and series.lastObservedTime = now, as client-go's broadcaster refreshes live series
 * every 30 minutes (refreshTime). That also keeps it alive: the apiserver forgets an Event an hour
 * (--event-ttl) after its last write. An Event found gone (404) is created again with its series.
 *
 * Rate limits, as client-go's EventSourceObjectSpamFilter and client: every request to the apiserver
 * takes a token from the bucket of its pod (default 25 burst, refilled one per 5 minutes: client-go's
 * defaultSpamBurst and defaultSpamQPS) and one from the overall bucket (default 25 burst, 5 per second:
 * the sustained rate of client-go's default client, QPS 5; at the default series interval it keeps
 * 9,000 live series refreshed with room left for new findings).
 */

export const REPORTING_CONTROLLER = 'ecr-warden.io/controller';
/** What the controller did about the pod: it audited the image the pod runs. */
export const EVENT_ACTION = 'Audit';
/** events.k8s.io/v1 validation: `note` is at most 1 KiB (Go counts bytes). */
export const NOTE_MAX_BYTES = 1024;
/** events.k8s.io/v1 validation: reportingInstance is at most 128 characters. */
const INSTANCE_MAX_LENGTH = 128;
/** An Event name is a DNS subdomain: at most 253 characters. */
const NAME_MAX_LENGTH = 253;
/** Hex digits of the hash that names an Event: 64 bits, no collision among a cluster's findings. */
const NAME_HASH_LENGTH = 16;
const NAME_PATTERN = new RegExp(`\\.[0-9a-f]{${NAME_HASH_LENGTH}}$`);
/** Events listed per page when reading back this controller's Events at start. */
const LIST_PAGE = 500;

export const DEFAULT_PER_OBJECT_LIMIT: RateLimit = { burst: 25, perSecond: 1 / 300 };
export const DEFAULT_OVERALL_LIMIT: RateLimit = { burst: 25, perSecond: 5 };

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  source: FindingsSource;
  /** reportingInstance: the pod's name (POD_NAME) or the hostname, which is the same in a pod. */
  instance?: string;
  log?: Logger;
  clock?: WriterClock;
  /** How often the recorder looks at the inventory and the tokens (default 1 s). */
  tickMs?: number;
  /** The token bucket of each pod (default 25 burst, one per 5 minutes). */
  perObject?: RateLimit;
  /** The token bucket of every request together (default 25 burst, 5 per second). */
  overall?: RateLimit;
  /** A live series is written at most this often (default 30 minutes, below the apiserver's 1 h Event TTL). */
  seriesIntervalMs?: number;
  /** How long the apiserver keeps an Event after its last write (--event-ttl, default 1 h). */
  eventTtlMs?: number;
  /** Findings and Events held in memory at most; findings past it get no Event (counted). Default 20,000. */
  maxTracked?: number;
  /** Pods whose token buckets are remembered (client-go's LRU holds 4096). */
  maxBuckets?: number;
  /** One request's time limit (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest wait between retries of a failing write (default 5 minutes). */
  maxBackoffMs?: number;
}

export interface EventRecorderStats {
  /** Entries in memory: live Events and findings waiting for theirs. */
  tracked: number;
  /** Findings that hold and have no Event yet (waiting for tokens or a retry). */
  waiting: number;
  created: number;
  seriesUpdates: number;
  /** Events of this controller found in the apiserver and continued instead of duplicated. */
  adopted: number;
  /** Requests that failed (each is retried later, or given up on when the apiserver refused it). */
  failed: number;
  /** Times a due write waited because its pod's bucket was empty. */
  deferred: number;
  /** Findings left without an Event at the last pass because `maxTracked` were held already. */
  dropped: number;
}

/** What the recorder knows about one (pod, reason, message), under the Event's name. */
interface Entry {
  name: string;
  namespace: string;
  /** From the finding; null for an Event read back at start that no finding has matched yet. */
  about: { pod: string; uid: string; reason: FindingReason; note: string } | null;
  /** The finding holds now (seen in the last pass). */
  holding: boolean;
  /** The Event exists in the apiserver, as far as the recorder knows. */
  written: boolean;
  /** A create was refused with AlreadyExists: read the Event before anything else. */
  adopt: boolean;
  /** series.count as written (1: no series yet). */
  count: number;
  /** The Event's eventTime: when the finding was first seen. */
  firstSeenAt: number;
  /** When the Event was last written (by anyone, as far as known). */
  lastWrittenAt: number;
  /** When the next request for it is due; Infinity when none is. */
  dueAt: number;
  failures: number;
  /** The apiserver refused it (422): no more requests for it. */
  refused: boolean;
  /** The pass that last saw the finding. */
  seenIn: number;
}

type Action = 'create' | 'read' | 'series';

/** The Event's name: the pod's, then a hash of (pod uid, reason, message). */
export function eventName(
  pod: Pick<PodFindings, 'name' | 'uid'>,
  finding: Pick<PodFinding, 'reason' | 'message'>,
): string {
  const hash = createHash('sha256')
    .update(`${pod.uid}\0${finding.reason}\0${finding.message}`)
    .digest('hex')
    .slice(0, NAME_HASH_LENGTH);
  // Each dot-separated label of a DNS subdomain ends with an alphanumeric: trim what the cut exposed.
  const prefix = pod.name.slice(0, NAME_MAX_LENGTH - NAME_HASH_LENGTH - 1).replace(/[-.]+$/, '');
  return `${prefix}.${hash}`;
}

/**
 * An events.k8s.io/v1 Event as JSON: client-node's EventsV1Event, but eventTime and
 * series.lastObservedTime are the MicroTime strings of the wire (V1MicroTime was a Date).
 */
type Event = Omit<EventsV1Event, 'metadata' | 'eventTime' | 'series'> & {
  metadata?: { name?: string; namespace?: string };
  eventTime?: string;
  series?: { count: number; lastObservedTime: string };
};

function eventPath(namespace: string, name?: string): string {
  const events = apiPath`/apis/events.k8s.io/v1/namespaces/${namespace}/events`;
  return name === undefined ? events : events + apiPath`/${name}`;
}

export class EventRecorder {
  readonly #source: FindingsSource;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #warn: LogThrottle;
  readonly #clock: WriterClock;
  readonly #connection: KeptConnection;
  readonly #api: KubeRest;
  readonly #loop: TickLoop;
  readonly #perObjectLimit: RateLimit;
  readonly #overallLimit: RateLimit;
  readonly #seriesIntervalMs: number;
  readonly #eventTtlMs: number;
  readonly #maxTracked: number;
  readonly #maxBuckets: number;
  readonly #requestTimeoutMs: number;
  readonly #maxBackoffMs: number;

  // State of one leadership term: reset by start().
  #entries = new Map<string, Entry>();
  #due = new DueQueue();
  #perObject: KeyedBuckets;
  #overall: TokenBucket;
  #version: number | undefined;
  #pass = 0;
  #readBack = false;
  #pausedUntil = 0;
  #pauseFailures = 0;
  #stats: Omit<EventRecorderStats, 'tracked' | 'waiting'> = EventRecorder.#zeroStats();

  constructor(options: EventRecorderOptions) {
    this.#source = options.source;
    this.#instance = truncateInstance(options.instance ?? hostname());
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? silentLogger).child({ component: 'events' });
    this.#warn = new LogThrottle(this.#log, 60_000, this.#clock.now);
    this.#perObjectLimit = checkRateLimit(options.perObject ?? DEFAULT_PER_OBJECT_LIMIT, 'perObject');
    this.#overallLimit = checkRateLimit(options.overall ?? DEFAULT_OVERALL_LIMIT, 'overall');
    this.#seriesIntervalMs = positive(options.seriesIntervalMs ?? 30 * 60_000, 'seriesIntervalMs');
    this.#eventTtlMs = positive(options.eventTtlMs ?? 60 * 60_000, 'eventTtlMs');
    this.#maxTracked = positive(options.maxTracked ?? 20_000, 'maxTracked');
    this.#maxBuckets = positive(options.maxBuckets ?? 4096, 'maxBuckets');
    this.#requestTimeoutMs = positive(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs');
    this.#maxBackoffMs = positive(options.maxBackoffMs ?? 5 * 60_000, 'maxBackoffMs');
    this.#connection = new KeptConnection(options.kubeConfig);
    this.#api = new KubeRest(this.#connection);
    this.#perObject = new KeyedBuckets(this.#perObjectLimit, this.#maxBuckets);
    this.#overall = new TokenBucket(this.#overallLimit, this.#clock.now());
    this.#loop = new TickLoop(
      this.#clock,
      positive(options.tickMs ?? 1000, 'tickMs'),
      (signal) => this.#tick(signal),
      this.#log,
    );
  }

  static #zeroStats() {
    return { created: 0, seriesUpdates: 0, adopted: 0, failed: 0, deferred: 0, dropped: 0 };
  }

  get running(): boolean {
    return this.#loop.running;
  }

  /**
   * Starts emitting (the replica became the one that runs the inventory). Everything known from an
   * earlier term is forgotten: another replica may have written since, so the recorder reads its
   * Events back from the apiserver first.
   */
  start(): void {
    if (this.#loop.running) return;
    this.#entries = new Map();
    this.#due = new DueQueue();
    this.#perObject = new KeyedBuckets(this.#perObjectLimit, this.#maxBuckets);
    this.#overall = new TokenBucket(this.#overallLimit, this.#clock.now());
    this.#version = undefined;
    this.#readBack = false;
    this.#pausedUntil = 0;
    this.#pauseFailures = 0;
    this.#loop.start();
  }

  /** Stops emitting; requests in flight are aborted. Resolves when the recorder is quiet. */
  async stop(): Promise<void> {
    await this.#loop.stop();
    this.#connection.reset();
  }

  /** Resolves when no pass is running. */
  idle(): Promise<void> {
    return this.#loop.idle();
  }

  stats(): EventRecorderStats {
    let waiting = 0;
    for (const entry of this.#entries.values())
      if (entry.holding && !entry.written && !entry.refused) waiting++;
    return { ...this.#stats, tracked: this.#entries.size, waiting };
  }

  async #tick(signal: AbortSignal): Promise<void> {
    if (!this.#readBack) {
      await this.#readBackEvents(signal);
      this.#readBack = true;
    }
    if (signal.aborted) return;
    const now = this.#clock.now();
    const version = this.#source.version();
    if (version !== this.#version) {
      this.#version = version;
      this.#observe(now);
    }
    this.#forgetExpired(now);
    await this.#dispatch(now, signal);
  }

  /** Compares the inventory's findings with the entries: new ones become due, ended ones stop. */
  #observe(now: number): void {
    const pass = ++this.#pass;
    // Once no ended entry is left to make room, the rest of the pass stops looking for one.
    let full = false;
    this.#stats.dropped = 0;
    for (const pod of this.#source.podFindings()) {
      for (const finding of pod.findings) {
        const name = eventName(pod, finding);
        let entry = this.#entries.get(name);
        if (!entry) {
          if (this.#entries.size >= this.#maxTracked && (full || !this.#evictOneEnded())) {
            full = true;
            this.#stats.dropped++;
            continue;
          }
          entry = {
            name,
            namespace: pod.namespace,
            about: null,
            holding: false,
            written: false,
            adopt: false,
            count: 1,
            firstSeenAt: now,
            lastWrittenAt: -Infinity,
            dueAt: Infinity,
            failures: 0,
            refused: false,
            seenIn: pass,
          };
          this.#entries.set(name, entry);
        }
        entry.seenIn = pass;
        entry.about ??= {
          pod: pod.name,
          uid: pod.uid,
          reason: finding.reason,
          note: truncateUtf8(finding.message, NOTE_MAX_BYTES),
        };
        if (!entry.holding) {
          entry.holding = true;
          // A finding back within a series interval of the Event's last write (say, across a watch
          // restart) waits for the next refresh; one back later is observed again at once.
          this.#schedule(
            entry,
            entry.written ? Math.max(now, entry.lastWrittenAt + this.#seriesIntervalMs) : now,
          );
        }
      }
    }
    let ended = 0;
    for (const entry of this.#entries.values()) {
      if (!entry.holding || entry.seenIn === pass) continue;
      entry.holding = false;
      ended++;
      // Never written: nothing to remember. Written: kept until the apiserver forgets the Event.
      if (!entry.written) this.#entries.delete(entry.name);
      else this.#schedule(entry, Infinity);
    }
    // Findings were left out for want of room that ended findings have made: look again next tick.
    if (this.#stats.dropped > 0 && ended > 0) this.#version = undefined;
  }

  /** Entries of ended findings whose Event the apiserver has forgotten (its TTL) go too. */
  #forgetExpired(now: number): void {
    for (const entry of this.#entries.values()) {
      if (!entry.holding && entry.lastWrittenAt + this.#eventTtlMs <= now) this.#entries.delete(entry.name);
    }
    const entries = this.#entries;
    this.#due.compact(entries.size, function* () {
      for (const entry of entries.values()) yield [entry.name, entry.dueAt] as const;
    });
  }

  /** Makes room for a new finding by forgetting the ended finding written longest ago. */
  #evictOneEnded(): boolean {
    let oldest: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (!entry.holding && (!oldest || entry.lastWrittenAt < oldest.lastWrittenAt)) oldest = entry;
    }
    if (!oldest) return false;
    this.#entries.delete(oldest.name);
    return true;
  }

  #schedule(entry: Entry, at: number): void {
    entry.dueAt = at;
    if (Number.isFinite(at)) this.#due.push(entry.name, at);
  }

  /** Sends what is due, as far as the tokens allow, all at once; then waits for the answers. */
  async #dispatch(now: number, signal: AbortSignal): Promise<void> {
    if (now < this.#pausedUntil) return;
    const batch: Array<{ entry: Entry; action: Action }> = [];
    for (let top = this.#due.peek(); top && top.at <= now; top = this.#due.peek()) {
      const entry = this.#entries.get(top.key);
      const action = entry && entry.dueAt === top.at ? this.#actionFor(entry) : null;
      if (!entry || !action) {
        this.#due.pop();
        continue;
      }
      if (!this.#overall.available(now)) break;
      this.#due.pop();
      const bucket = this.#perObject.get(entry.about?.uid ?? `${entry.namespace}/${entry.name}`, now);
      if (!bucket.take(now)) {
        this.#stats.deferred++;
        this.#schedule(entry, bucket.nextAt(now));
        continue;
      }
      this.#overall.take(now);
      entry.dueAt = Infinity;
      batch.push({ entry, action });
    }
    if (batch.length === 0) return;
    this.#connection.signal = AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
    try {
      await Promise.all(batch.map(({ entry, action }) => this.#send(entry, action, signal)));
    } finally {
      this.#connection.signal = undefined;
    }
  }

  #actionFor(entry: Entry): Action | null {
    if (entry.refused || !entry.holding || !entry.about) return null;
    if (entry.adopt) return 'read';
    return entry.written ? 'series' : 'create';
  }

  async #send(entry: Entry, action: Action, stop: AbortSignal): Promise<void> {
    try {
      if (action === 'create') await this.#create(entry);
      else if (action === 'read') await this.#read(entry);
      else await this.#refreshSeries(entry);
      entry.failures = 0;
      this.#pauseFailures = 0;
    } catch (err) {
      if (stop.aborted) return;
      this.#failed(entry, action, err);
    }
  }

  async #create(entry: Entry): Promise<void> {
    const about = entry.about!;
    const body: Event = {
      metadata: { name: entry.name, namespace: entry.namespace },
      eventTime: microTime(entry.firstSeenAt),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.#instance,
      action: EVENT_ACTION,
      reason: about.reason,
      type: 'Warning',
      note: about.note,
      regarding: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: entry.namespace,
        name: about.pod,
        uid: about.uid,
      },
    };
    // Created again after the apiserver forgot it (TTL): the series goes on where it was.
    if (entry.count >= 2) {
      body.series = { count: entry.count, lastObservedTime: microTime(this.#clock.now()) };
    }
    await this.#api.create(eventPath(entry.namespace), body);
    const now = this.#clock.now();
    entry.written = true;
    entry.lastWrittenAt = now;
    this.#stats.created++;
    this.#schedule(entry, now + this.#seriesIntervalMs);
  }

  /** Continues the Event another recorder (this one before a restart, or another replica) wrote. */
  async #read(entry: Entry): Promise<void> {
    const event = await this.#api.get<Event>(eventPath(entry.namespace, entry.name));
    this.#continueSeries(entry, event);
    this.#stats.adopted++;
    this.#schedule(entry, Math.max(this.#clock.now(), entry.lastWrittenAt + this.#seriesIntervalMs));
  }

  async #refreshSeries(entry: Entry): Promise<void> {
    const now = this.#clock.now();
    const count = entry.count + 1;
    const body = { series: { count, lastObservedTime: microTime(now) } };
    await this.#api.mergePatch(eventPath(entry.namespace, entry.name), body);
    entry.count = count;
    entry.lastWrittenAt = now;
    this.#stats.seriesUpdates++;
    this.#schedule(entry, now + this.#seriesIntervalMs);
  }

  #continueSeries(entry: Entry, event: Event): void {
    entry.written = true;
    entry.adopt = false;
    entry.count = Math.max(entry.count, event.series?.count ?? 1);
    const eventTime = timeOf(event.eventTime);
    if (eventTime !== undefined) entry.firstSeenAt = eventTime;
    entry.lastWrittenAt = timeOf(event.series?.lastObservedTime) ?? eventTime ?? this.#clock.now();
  }

  #failed(entry: Entry, action: Action, err: unknown): void {
    const failure = apiFailure(err);
    this.#stats.failed++;
    const now = this.#clock.now();
    const fields = {
      event: `${entry.namespace}/${entry.name}`,
      action,
      status: failure.status,
      reason: failure.reason,
    };
    if (action === 'create' && failure.status === 409) {
      // Written before this term (a restart, another replica): read it and continue its series.
      entry.adopt = true;
      this.#schedule(entry, now);
      return;
    }
    if (action !== 'create' && failure.status === 404) {
      // The apiserver forgot it (TTL) or someone deleted it: create it again, series and all, with
      // the observation this refresh was to record.
      if (action === 'series') entry.count++;
      entry.written = false;
      entry.adopt = false;
      this.#schedule(entry, now);
      return;
    }
    if (failure.status === 400 || failure.status === 422) {
      // The apiserver will refuse this Event however often it is sent.
      entry.refused = true;
      this.#warn.warn('refused', { ...fields, message: failure.message }, 'the apiserver refused an Event');
      return;
    }
    entry.failures++;
    const wait = backoffMs(entry.failures, this.#maxBackoffMs);
    this.#schedule(entry, now + wait);
    if (failure.status === 429 || failure.status === 503) {
      // Throttled or overloaded: everything waits, not only this Event.
      this.#pauseFailures++;
      const pause = failure.retryAfterMs ?? backoffMs(this.#pauseFailures, this.#maxBackoffMs);
      this.#pausedUntil = Math.max(this.#pausedUntil, now + Math.min(pause, this.#maxBackoffMs));
    }
    if (isRetryable(failure)) {
      this.#warn.warn(
        'retry',
        { ...fields, message: failure.message },
        'writing an Event failed; retrying later',
      );
    } else {
      this.#warn.warn(
        `status-${failure.status}`,
        { ...fields, message: failure.message },
        'writing an Event failed',
      );
    }
  }

  /**
   * Reads this controller's Events from the apiserver (a paginated list, selected by
   * reportingController) so that findings already reported in an earlier term continue their Event.
   * A failure only costs the fallback: creates answered with 409 AlreadyExists and a read each.
   */
  async #readBackEvents(signal: AbortSignal): Promise<void> {
    let cont: string | undefined;
    try {
      do {
        this.#connection.signal = AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
        const page = await this.#api.list<Event>('/apis/events.k8s.io/v1/events', {
          continue: cont,
          fieldSelector: `reportingController=${REPORTING_CONTROLLER}`,
          limit: LIST_PAGE,
        });
        for (const event of page.items ?? []) {
          const name = event.metadata?.name;
          const namespace = event.metadata?.namespace;
          if (!name || !namespace || !NAME_PATTERN.test(name) || this.#entries.has(name)) continue;
          if (this.#entries.size >= this.#maxTracked) return;
          const entry: Entry = {
            name,
            namespace,
            about: null,
            holding: false,
            written: true,
            adopt: false,
            count: 1,
            firstSeenAt: 0,
            lastWrittenAt: 0,
            dueAt: Infinity,
            failures: 0,
            refused: false,
            seenIn: 0,
          };
          this.#continueSeries(entry, event);
          this.#entries.set(name, entry);
          this.#stats.adopted++;
        }
        cont = page.metadata?.continue || undefined;
      } while (cont && !signal.aborted);
    } catch (err) {
      if (signal.aborted) return;
      this.#stats.failed++;
      const failure = apiFailure(err);
      this.#warn.warn(
        'read-back',
        { status: failure.status, message: failure.message },
        'could not read back existing Events; an Event that exists is found again when its create is refused',
      );
    } finally {
      this.#connection.signal = undefined;
    }
  }
}

/** Epoch milliseconds of a time as the apiserver writes it; undefined when absent or unreadable. */
function timeOf(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function truncateInstance(instance: string): string {
  return instance.slice(0, INSTANCE_MAX_LENGTH) || 'ecr-warden';
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be positive, got ${value}`);
  return value;
}
