import type { IncomingMessage, ServerResponse } from 'node:http';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { UID_PREFIX_BYTES, uidFromPrefix } from './decode.ts';
import type { InFlightLimits, ReviewTicket } from './in-flight.ts';
import { failure, replyOf, TOO_MANY_CODE } from './reply.ts';
import type { BodyRead, ReviewEndpoint, ReviewReply, WebhookName } from './types.ts';
import { kindLabelOf } from './workloads.ts';

/**
 * The largest review read. An UPDATE carries object and oldObject, each up to the 3 MiB the apiserver
 * accepts for an object, plus the envelope: 8 MiB holds the largest review a real apiserver sends
 * (SPEC section 6).
 */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * After refusing a body it did not read, the server keeps discarding what the client is still sending
 * for a while before closing. Closing at once would make the kernel answer the client's next bytes
 * with a reset, which can destroy the refusal before the client reads it (Go's net/http lingers the
 * same way). Bounded so a client cannot hold the socket: 16 MiB (a body twice the limit) or 3 s.
 */
const LINGER_MAX_BYTES = 16 * 1024 * 1024;
const LINGER_MAX_MS = 3_000;

/**
 * Seconds a client refused with 429 is told to wait (Retry-After, RFC 6585 section 4): a review in
 * flight is answered within the webhook's deadline (2 s by default), so places free up within about
 * that long.
 */
const RETRY_AFTER_SECONDS = 1;

export interface TransportOptions {
  /** Path (without query) → endpoint. The apiserver appends `?timeout=…` to webhook URLs. */
  routes: ReadonlyMap<string, { webhook: WebhookName; endpoint: ReviewEndpoint }>;
  log: Logger;
  /** Whether the server is draining: replies then ask the client to close the connection. */
  closing: () => boolean;
  maxBodyBytes?: number;
  /** Reviews and body bytes held at once (webhook.maxInFlight, webhook.maxInFlightBytes); none: unbounded. */
  limits?: InFlightLimits;
}

/**
 * The HTTP side of the webhook, boring and defensive: only POST on a known path, only JSON, bodies
 * bounded while they are read (never buffered past the limit), and every reply to a review an
 * AdmissionReview with the uid echoed whenever it could be read. Nothing a client sends can throw out
 * of here. `listener` serves requests; `checkContinue` serves those sent with `Expect: 100-continue`,
 * refusing before the client sends a body that would be refused anyway.
 *
 * With `limits`, a review takes a place when its headers arrive and gives it back when its reply is
 * written (or its client goes away); its body's bytes count from the declared Content-Length, reserved
 * before anything is read, or, without one (chunked), chunk by chunk as they arrive, until the endpoint
 * has decoded them. Past either bound the review is answered 429 before more of it is read. The uid is
 * echoed on a 429 only when the bytes read before the refusal show it (a chunked body refused partway):
 * reading more of a body to find it is what the bound refuses to do, and the apiserver does not read an
 * AdmissionReview from a non-200 answer anyway (it applies the webhook's failurePolicy).
 */
export function createTransport(options: TransportOptions): {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  checkContinue: (req: IncomingMessage, res: ServerResponse) => void;
} {
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const { log } = options;

  const serve = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    const receivedAt = performance.now();
    // A client that goes away mid-request makes these emit errors; there is no one left to answer.
    req.on('error', (err) => log.debug({ err }, 'admission request stream failed'));
    res.on('error', (err) => log.debug({ err }, 'admission response stream failed'));
    if (options.closing()) res.setHeader('Connection', 'close');

    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    const route = options.routes.get(path);
    if (!route) {
      refuse(req, res, 404, statusBody(404, 'NotFound', `no webhook at ${path.slice(0, 100)}`));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      refuse(req, res, 405, statusBody(405, 'MethodNotAllowed', `${path} accepts POST only`));
      return;
    }
    const respond = (body: BodyRead, consumed: boolean, ticket: ReviewTicket | null): void => {
      let held: BodyRead | null = body;
      const takeBody = (): BodyRead => {
        if (!held) throw new WardenError('ERR_ADMISSION', 'the body of a review was taken twice');
        const taken = held;
        held = null;
        return taken;
      };
      const pending: Promise<ReviewReply> = route.endpoint({ webhook: route.webhook, receivedAt, takeBody });
      // The endpoint decodes the body, and its handler extracts the images, before they await anything:
      // by now neither the bytes nor the parsed object are held. A refused review is not being handled.
      if (consumed) ticket?.releaseBytes();
      else ticket?.leave();
      pending
        .catch((err: unknown) => {
          // The endpoint answers every call itself; this is the last line, for a bug in it.
          log.error({ err, webhook: route.webhook }, 'admission endpoint failed');
          return replyOf(failure('', 500, 'internal error'), kindLabelOf(null));
        })
        .then((reply) => {
          const text = JSON.stringify(reply.review);
          if (consumed) send(res, reply.httpStatus, text);
          else if (reply.httpStatus === TOO_MANY_CODE) discardThenSend(req, res, reply.httpStatus, text);
          else refuse(req, res, reply.httpStatus, text);
        })
        .catch((err: unknown) => {
          log.error({ err }, 'could not write an admission reply');
          res.destroy();
        });
    };

    const refusal = refusalByHeaders(req, limit);
    if (refusal) {
      respond(refusal, false, null);
      return;
    }
    const { limits } = options;
    const ticket = limits ? limits.admit() : null;
    if (limits && !ticket) {
      const message = `${limits.maxReviews} reviews are in flight (webhook.maxInFlight); retry later`;
      respond({ ok: false, code: TOO_MANY_CODE, message }, false, null);
      return;
    }
    if (ticket) res.once('close', () => ticket.leave());
    const declared = declaredLength(req);
    if (ticket && declared !== null && !ticket.reserve(declared)) {
      respond({ ok: false, code: TOO_MANY_CODE, message: tooManyBytes(limits!) }, false, ticket);
      return;
    }
    if (expectsContinue) res.writeContinue();
    // A declared length is reserved already; a chunked body reserves what arrives as it arrives.
    void readBody(req, limit, declared, declared === null ? ticket : null).then((read) => {
      if (read.kind === 'aborted') return;
      if (read.kind === 'too-large') {
        respond({ ok: false, code: 413, message: tooLarge(limit) }, false, ticket);
      } else if (read.kind === 'over-limit') {
        const uid = uidFromPrefix(read.prefix);
        respond({ ok: false, code: TOO_MANY_CODE, message: tooManyBytes(limits!), uid }, false, ticket);
      } else {
        respond({ ok: true, bytes: read.bytes }, true, ticket);
      }
    });
  };

  return {
    listener: (req, res) => serve(req, res, false),
    checkContinue: (req, res) => serve(req, res, true),
  };
}

/** What the headers alone say is wrong with a request: no JSON, or a declared length over the limit. */
function refusalByHeaders(req: IncomingMessage, limit: number): BodyRead | null {
  const contentType = mediaType(req.headers['content-type']);
  if (contentType !== 'application/json') {
    const shown = contentType === '' ? 'none' : JSON.stringify(contentType.slice(0, 100));
    return { ok: false, code: 415, message: `content type ${shown}: expected application/json` };
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return { ok: false, code: 413, message: tooLarge(limit) };
  return null;
}

/** The Content-Length the request declares, or null when it has none (a chunked body). */
function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers['content-length'];
  // Node's parser has already refused a malformed or duplicated Content-Length, and one with chunked.
  return header === undefined ? null : Number(header);
}

function tooLarge(limit: number): string {
  return `request body is larger than ${limit} bytes`;
}

function tooManyBytes(limits: InFlightLimits): string {
  return `request bodies in flight would pass ${limits.maxBytes} bytes (webhook.maxInFlightBytes); retry later`;
}

/** `application/json; charset=utf-8` → `application/json`; '' when absent. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** A metav1.Status for answers that are not about a review (unknown path, wrong method). */
function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
}

type Read =
  | { kind: 'body'; bytes: Buffer }
  | { kind: 'too-large' }
  | { kind: 'over-limit'; prefix: Buffer }
  | { kind: 'aborted' };

/**
 * The body, up to `limit` bytes; 'too-large' as soon as it passes the limit, 'over-limit' (with the
 * first bytes read, for the uid) as soon as `ticket` cannot reserve a chunk that arrived (in both cases
 * the rest is left unread for `refuse` to discard); 'aborted' when the client goes away or a server
 * timeout ends the request. A body of `declared` length (Node's parser delivers exactly that many
 * bytes) is copied into one buffer of that size as it arrives, rather than kept in chunks and joined at
 * the end, which would hold it twice for a moment.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  declared: number | null,
  ticket: ReviewTicket | null,
): Promise<Read> {
  return new Promise((resolve) => {
    const whole = declared === null ? null : Buffer.allocUnsafe(declared);
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Read): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      if (whole && size + chunk.length <= whole.length) {
        chunk.copy(whole, size);
        size += chunk.length;
        return;
      }
      size += chunk.length;
      if (size > limit || whole) {
        req.pause();
        done({ kind: 'too-large' });
        return;
      }
      if (ticket && !ticket.reserve(chunk.length)) {
        req.pause();
        done({ kind: 'over-limit', prefix: Buffer.concat([...chunks, chunk]).subarray(0, UID_PREFIX_BYTES) });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void =>
      done({ kind: 'body', bytes: whole ? whole.subarray(0, size) : Buffer.concat(chunks, size) });
    const onClose = (): void => done({ kind: 'aborted' });
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
  });
}

function headers(
  status: number,
  text: string,
  extra: Record<string, string> = {},
): Record<string, string | number> {
  return {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...(status === TOO_MANY_CODE ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {}),
    ...extra,
  };
}

function send(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers(status, text));
  res.end(text);
}

/**
 * Answers a request whose body is refused unread (a 429) once the client has finished sending it,
 * discarding the rest as it arrives, so that the connection stays open for the next review: a 429
 * sheds load, and closing the connection would make the client pay a new TLS handshake for its next
 * request, adding to it. The apiserver sends a review at once, so this takes no longer than reading
 * it; a client still sending after the linger bounds gets the answer with the connection closed.
 */
function discardThenSend(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  if (req.readableEnded) {
    send(res, status, text);
    return;
  }
  let discarded = 0;
  let settled = false;
  const settle = (answer: () => void): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    answer();
  };
  // Past the bounds, the answer goes out and the connection is closed, the rest of the body unread.
  const close = (): void => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, headers(status, text, { Connection: 'close' }));
    res.end(text);
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) settle(close);
  };
  const onEnd = (): void => settle(() => send(res, status, text));
  // The client went away: there is no one left to answer.
  const onClose = (): void => settle(() => undefined);
  const timer = setTimeout(() => settle(close), LINGER_MAX_MS);
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('close', onClose);
  req.resume();
}

/**
 * Answers a request whose body was not (entirely) read, then closes the connection: the unread rest
 * cannot be told apart from a next request. The reply is written at once; the response is ended (and
 * the socket closed) when the client has finished sending or the linger bounds are reached.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers(status, text, { Connection: 'close' }));
  res.write(text);
  if (req.readableEnded || req.destroyed) {
    res.end();
    return;
  }
  let discarded = 0;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    req.off('data', onData);
    res.end();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) end();
  };
  const timer = setTimeout(end, LINGER_MAX_MS);
  req.on('data', onData);
  req.once('end', end);
  req.once('close', end);
  req.resume();
}
