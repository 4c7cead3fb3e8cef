import type { IncomingMessage } from 'node:http';
import type { KeptConnection } from './kept-connection.ts';
import { parseOrText, readBody, readChunks } from './response.ts';

/**
 * The longest line (one watch event) read: the apiserver stores objects of at most 1.5 MiB (etcd's
 * request limit), and an event carries one. A line past this is not buffered further.
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/** The largest error answer read to say why a watch was refused. */
const MAX_ERROR_BYTES = 64 * 1024;

/** Why a watch stream ended. */
export type WatchEnd =
  /** The server ended the stream (its timeoutSeconds, say), or it was aborted by the caller. */
  | { kind: 'closed' }
  /** Nothing arrived, bookmarks included, for `idleTimeoutMs`; the stream was torn down. */
  | { kind: 'idle' }
  /** The server refused the watch: 410 when the resourceVersion is too old. */
  | { kind: 'status'; code: number; body: unknown }
  /** A line that is not an event, or one longer than MAX_EVENT_BYTES; what it held is lost. */
  | { kind: 'malformed'; message: string }
  /** The connection failed. */
  | { kind: 'failed'; error: unknown };

export interface WatchStreamOptions {
  connection: KeptConnection;
  /** The path and query of the watch (`…/pods?watch=true&resourceVersion=…`). */
  path: string;
  headers?: Record<string, string>;
  /** From the request on, the longest wait for the next bytes before the stream counts as idle. */
  idleTimeoutMs: number;
  /** Ends the stream (as `closed`). */
  signal: AbortSignal;
  /** Each event, in order: a watch event's `type` and `object`. */
  onEvent: (type: string, object: unknown) => void;
  maxEventBytes?: number;
}

/**
 * One watch request: newline-delimited JSON events (the apiserver's watch encoding) delivered as
 * they arrive, until the stream ends; answers why it ended. It does what client-node's Watch did for
 * the controller — an inactivity timer from the request on (its requestTimeoutMs), a non-200 answer
 * as an error with its status — over the controller's own kept-alive connection. Unlike that Watch,
 * a line that is not JSON is not skipped in silence (the event would be lost for good): the stream
 * ends as `malformed`, and lines are bounded. An exception thrown by `onEvent` ends the stream as
 * `failed` with that exception.
 */
export async function watchStream(options: WatchStreamOptions): Promise<WatchEnd> {
  const { signal, idleTimeoutMs } = options;
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleTimeoutMs);
    timer.unref();
  };
  const both = AbortSignal.any([signal, idle.signal]);
  const ended = (error: unknown): WatchEnd => {
    if (idle.signal.aborted) return { kind: 'idle' };
    if (signal.aborted) return { kind: 'closed' };
    return { kind: 'failed', error };
  };
  arm();
  try {
    let response: IncomingMessage;
    try {
      response = await options.connection.open({
        method: 'GET',
        path: options.path,
        ...(options.headers ? { headers: options.headers } : {}),
        signal: both,
      });
    } catch (err) {
      return ended(err);
    }
    if (response.statusCode !== 200) {
      const text = await readBody(response, MAX_ERROR_BYTES, both).catch(() => '');
      return { kind: 'status', code: response.statusCode ?? 0, body: parseOrText(text) };
    }
    arm();
    return await readEvents(
      response,
      both,
      arm,
      options.onEvent,
      options.maxEventBytes ?? MAX_EVENT_BYTES,
    ).catch((err: unknown) => ended(err));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads newline-delimited events until the body ends (`closed`) or a line is malformed; rejects as
 * readChunks does (an aborted signal, a connection cut, an exception from `onEvent`). `onData` is
 * called for every chunk (the inactivity timer).
 */
async function readEvents(
  response: IncomingMessage,
  signal: AbortSignal,
  onData: () => void,
  onEvent: (type: string, object: unknown) => void,
  maxEventBytes: number,
): Promise<WatchEnd> {
  const decoder = new TextDecoder();
  let pending = '';
  let pendingBytes = 0;
  /** The end a malformed line brought; the reading stops there. */
  let malformed: WatchEnd | null = null;
  const stop = new Error('malformed watch stream');
  const line = (text: string): void => {
    if (text.trim() === '') return;
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(text) as { type?: unknown; object?: unknown };
    } catch {
      malformed = { kind: 'malformed', message: `a watch event is not JSON: ${text.slice(0, 100)}` };
      throw stop;
    }
    if (typeof event?.type !== 'string') {
      malformed = { kind: 'malformed', message: `a watch event has no type: ${text.slice(0, 100)}` };
      throw stop;
    }
    onEvent(event.type, event.object);
  };
  try {
    // Only the newly arrived text is searched for line ends; the start of a line still arriving is
    // kept as it came (a rope, not re-copied) and its bytes counted, so a long line costs its length.
    await readChunks(response, signal, (chunk) => {
      onData();
      const text = decoder.decode(chunk, { stream: true });
      let at = text.indexOf('\n');
      if (at < 0) {
        pending += text;
        pendingBytes += chunk.length;
      } else {
        line(pending + text.slice(0, at));
        let from = at + 1;
        for (at = text.indexOf('\n', from); at >= 0; at = text.indexOf('\n', from)) {
          line(text.slice(from, at));
          from = at + 1;
        }
        pending = text.slice(from);
        pendingBytes = Buffer.byteLength(pending);
      }
      if (pendingBytes > maxEventBytes) {
        malformed = { kind: 'malformed', message: `a watch event is longer than ${maxEventBytes} bytes` };
        throw stop;
      }
    });
    line(pending + decoder.decode());
  } catch (err) {
    if (err === stop && malformed) return malformed;
    throw err;
  }
  return { kind: 'closed' };
}
