import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ChangeEvent, ChangeType } from './event-log.ts';
import { bookmarkJson, type ResourceDef, storageKey } from './resources.ts';
import type { FieldSelector, LabelSelector } from './selectors.ts';
import { type Stored, thaw, toStored } from './stored.ts';
import type { StatusJson } from './types.ts';

/** What tests and counters see of an open watch. */
export interface WatchInfo {
  readonly id: number;
  /** '' for core. */
  readonly group: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  /** The resourceVersion the client asked to start from ('' when unset). */
  readonly resourceVersion: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  readonly allowWatchBookmarks: boolean;
}

/** Why a watch stream ended, as reported to `watchClose` listeners. */
export type WatchCloseReason =
  | 'timeout' // timeoutSeconds (or the server's default) elapsed; the stream ended cleanly
  | 'client' // the client went away
  | 'dropped' // dropWatches() reset the connection
  | 'error' // an ERROR event was sent, then the stream ended
  | 'slow' // the client read too slowly and the server gave up on it, as the watch cache does
  | 'shutdown'; // close() or restart()

export interface WatchStreamOptions {
  info: WatchInfo;
  def: ResourceDef;
  res: ServerResponse;
  namespace: string | undefined;
  labels: LabelSelector;
  fields: FieldSelector;
  /** Events at or before this revision are never sent (the watch starts after it). */
  startRv: number;
  timeoutMs: number;
  bookmarkIntervalMs: number;
  /** Past this many unread bytes in the socket the stream is ended, like the watch cache drops a blocked watcher. */
  maxBufferedBytes: number;
  currentRv: () => number;
  /** Resets the TCP connection under a response (an RST, not a FIN). */
  resetConnection: (socket: Socket) => void;
  /** Encodes an object for this watch when it is not sent as stored (kubectl's Table watches). */
  render?: (stored: Stored) => string;
  onClose: (stream: WatchStream, reason: WatchCloseReason) => void;
}

/** Initial ADDED events are written in chunks of about this many bytes, to keep write calls few. */
const WRITE_CHUNK_BYTES = 64 * 1024;

/** Lines for events with no selector to apply are the same for every watcher: build each once. */
const sharedLines = new WeakMap<ChangeEvent, string>();
/** A change that leaves a selector reaches that watcher as a DELETED of the previous state. */
const leftSelectorObjects = new WeakMap<ChangeEvent, Stored>();

function line(type: ChangeType | 'BOOKMARK' | 'ERROR', objectJson: string): string {
  return `{"type":"${type}","object":${objectJson}}\n`;
}

/**
 * One open watch: a chunked HTTP response of newline-delimited JSON events. Everything is written
 * synchronously from the change that caused it, so a watcher sees changes in revision order and
 * never misses one between its replay and its registration.
 */
export class WatchStream {
  readonly info: WatchInfo;
  private readonly options: WatchStreamOptions;
  private readonly res: ServerResponse;
  private lastRv: number;
  private stalledLines: string[] | undefined;
  /** An end that came while stalled: it reaches the client only after resume(), like the data before it. */
  private endAfterResume: WatchCloseReason | undefined;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(options: WatchStreamOptions) {
    this.options = options;
    this.info = options.info;
    this.res = options.res;
    this.lastRv = options.startRv;
    this.res.on('close', () => this.finish('client'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isStalled(): boolean {
    return this.stalledLines !== undefined;
  }

  /** Sends headers, the synthetic ADDED events of the initial state, and the replayed changes. */
  start(initial: readonly Stored[], replay: readonly ChangeEvent[], initialEventsEndRv?: number): void {
    this.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    this.res.flushHeaders();
    let chunk = '';
    for (const stored of initial) {
      if (!this.passes(stored)) continue;
      chunk += line('ADDED', this.encode(stored));
      if (chunk.length >= WRITE_CHUNK_BYTES) {
        this.write(chunk);
        chunk = '';
      }
    }
    if (chunk) this.write(chunk);
    for (const event of replay) this.offer(event);
    if (initialEventsEndRv !== undefined) {
      this.lastRv = Math.max(this.lastRv, initialEventsEndRv);
      this.write(
        line(
          'BOOKMARK',
          bookmarkJson(this.options.def, initialEventsEndRv, { 'k8s.io/initial-events-end': 'true' }),
        ),
      );
    }
    if (this.options.timeoutMs > 0)
      this.schedule(setTimeout(() => this.end('timeout'), this.options.timeoutMs));
    if (this.info.allowWatchBookmarks && this.options.bookmarkIntervalMs > 0) {
      this.schedule(setInterval(() => this.bookmark(), this.options.bookmarkIntervalMs));
    }
  }

  /** Delivers one committed change if it concerns this watch. */
  offer(event: ChangeEvent): void {
    if (this.closed || event.rv <= this.lastRv) return;
    if (this.options.namespace !== undefined && event.namespace !== this.options.namespace) return;
    const text = this.lineFor(event);
    if (text === undefined) return;
    this.lastRv = event.rv;
    this.write(text);
  }

  /** A BOOKMARK at the newest revision; returns whether one was sent. */
  bookmark(): boolean {
    if (this.closed || this.isStalled || !this.info.allowWatchBookmarks) return false;
    const rv = Math.max(this.options.currentRv(), this.lastRv);
    this.lastRv = rv;
    this.write(line('BOOKMARK', bookmarkJson(this.options.def, rv)));
    return true;
  }

  /** Sends an ERROR event carrying `status`, then ends the stream (how a running watch reports 410). */
  fail(status: StatusJson): void {
    if (this.closed) return;
    this.write(line('ERROR', JSON.stringify(status)));
    this.end('error');
  }

  /** Stops sending anything, bookmarks and the end of the stream included, until resumed. */
  stall(): void {
    if (!this.closed && !this.isStalled) this.stalledLines = [];
  }

  /** Delivers what was held back while stalled, as a network that recovers would. */
  resume(): void {
    const held = this.stalledLines;
    if (!held) return;
    this.stalledLines = undefined;
    for (const text of held) this.send(text);
    if (this.endAfterResume) this.end(this.endAfterResume);
  }

  /** Resets the TCP connection: the client sees a connection error, not a clean end. */
  drop(): void {
    if (this.closed) return;
    const socket = this.res.socket as Socket | null;
    this.finish('dropped');
    if (socket) this.options.resetConnection(socket);
  }

  /**
   * Ends the stream cleanly (the chunked response's terminating chunk). On a stalled stream the
   * end waits for resume(), except at shutdown.
   */
  end(reason: WatchCloseReason): void {
    if (this.closed) return;
    if (this.isStalled && reason !== 'shutdown') {
      this.endAfterResume ??= reason;
      return;
    }
    // A last bookmark before a timeout lets the client resume from the newest revision.
    if (this.info.allowWatchBookmarks && reason === 'timeout') this.bookmark();
    this.finish(reason);
    this.res.end();
  }

  private finish(reason: WatchCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.options.onClose(this, reason);
  }

  private schedule(timer: NodeJS.Timeout): void {
    timer.unref();
    this.timers.push(timer);
  }

  private passes(stored: Stored): boolean {
    if (this.options.namespace !== undefined && stored.obj.metadata.namespace !== this.options.namespace)
      return false;
    return this.options.labels.matches(stored.obj.metadata.labels) && this.options.fields.matches(stored.obj);
  }

  /** The watch cache's rule: judge the new and the previous state against the selectors. */
  private lineFor(event: ChangeEvent): string | undefined {
    if (this.options.labels.empty && this.options.fields.empty && !this.options.render) {
      let shared = sharedLines.get(event);
      if (shared === undefined) {
        shared = line(event.type, event.object.json);
        sharedLines.set(event, shared);
      }
      return shared;
    }
    const now = event.type !== 'DELETED' && this.passes(event.object);
    const before = event.prev !== undefined && this.passes(event.prev);
    if (now) return line(before ? 'MODIFIED' : 'ADDED', this.encode(event.object));
    if (!before) return undefined;
    if (event.type === 'DELETED') return line('DELETED', this.encode(event.object));
    return line('DELETED', this.encode(leftSelectorObject(event)));
  }

  private encode(stored: Stored): string {
    return this.options.render ? this.options.render(stored) : stored.json;
  }

  /** Sends now, holds back while stalled, and drops anything after an end that is waiting on a stall. */
  private write(text: string): void {
    if (this.closed || this.endAfterResume) return;
    if (this.stalledLines) this.stalledLines.push(text);
    else this.send(text);
  }

  private send(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > this.options.maxBufferedBytes) this.end('slow');
  }
}

function leftSelectorObject(event: ChangeEvent): Stored {
  let stored = leftSelectorObjects.get(event);
  if (!stored) {
    const prev = thaw(event.prev!.obj);
    prev.metadata.resourceVersion = String(event.rv);
    stored = toStored(prev, event.rv);
    leftSelectorObjects.set(event, stored);
  }
  return stored;
}

/**
 * All open watches by storage, fed by the database's change listener: a change to a stored Event
 * reaches the watches of core v1 and events.k8s.io/v1 Events alike, each stream encoding it for
 * its own API.
 */
export class WatchHub {
  private readonly streams = new Map<string, Set<WatchStream>>();

  add(def: ResourceDef, stream: WatchStream): void {
    const key = storageKey(def);
    let set = this.streams.get(key);
    if (!set) {
      set = new Set();
      this.streams.set(key, set);
    }
    set.add(stream);
  }

  remove(def: ResourceDef, stream: WatchStream): void {
    this.streams.get(storageKey(def))?.delete(stream);
  }

  publish(def: ResourceDef, event: ChangeEvent): void {
    const set = this.streams.get(storageKey(def));
    if (set) for (const stream of set) stream.offer(event);
  }

  /** The open watches on one storage. */
  of(def: ResourceDef): WatchStream[] {
    return [...(this.streams.get(storageKey(def)) ?? [])];
  }

  all(): WatchStream[] {
    return [...this.streams.values()].flatMap((set) => [...set]);
  }
}
