import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import { failure, replyOf } from './reply.ts';
import type { BodyRead, ReviewEndpoint, WebhookName } from './types.ts';
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

export interface TransportOptions {
  /** Path (without query) → endpoint. The apiserver appends `?timeout=…` to webhook URLs. */
  routes: ReadonlyMap<string, { webhook: WebhookName; endpoint: ReviewEndpoint }>;
  log: Logger;
  /** Whether the server is draining: replies then ask the client to close the connection. */
  closing: () => boolean;
  maxBodyBytes?: number;
}

/**
 * The HTTP side of the webhook, boring and defensive: only POST on a known path, only JSON, bodies
 * bounded while they are read (never buffered past the limit), and every reply to a review an
 * AdmissionReview with the uid echoed whenever it could be read. Nothing a client sends can throw out
 * of here. `listener` serves requests; `checkContinue` serves those sent with `Expect: 100-continue`,
 * refusing before the client sends a body that would be refused anyway.
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
    const respond = (body: BodyRead, consumed: boolean): void => {
      route
        .endpoint({ webhook: route.webhook, receivedAt, body })
        .catch((err: unknown) => {
          // The endpoint answers every call itself; this is the last line, for a bug in it.
          log.error({ err, webhook: route.webhook }, 'admission endpoint failed');
          return replyOf(failure('', 500, 'internal error'), kindLabelOf(null));
        })
        .then((reply) => {
          const text = JSON.stringify(reply.review);
          if (consumed) send(res, reply.httpStatus, text);
          else refuse(req, res, reply.httpStatus, text);
        })
        .catch((err: unknown) => {
          log.error({ err }, 'could not write an admission reply');
          res.destroy();
        });
    };

    const refusal = refusalByHeaders(req, limit);
    if (refusal) {
      respond(refusal, false);
      return;
    }
    if (expectsContinue) res.writeContinue();
    void readBody(req, limit).then((read) => {
      if (read === 'aborted') return;
      if (read === 'too-large') respond({ ok: false, code: 413, message: tooLarge(limit) }, false);
      else respond({ ok: true, bytes: read }, true);
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

function tooLarge(limit: number): string {
  return `request body is larger than ${limit} bytes`;
}

/** `application/json; charset=utf-8` → `application/json`; '' when absent. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** A metav1.Status for answers that are not about a review (unknown path, wrong method). */
function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
}

/**
 * The body, up to `limit` bytes; 'too-large' as soon as it passes the limit (the rest is left unread
 * for `refuse` to discard); 'aborted' when the client goes away or a server timeout ends the request.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | 'too-large' | 'aborted'): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done(Buffer.concat(chunks, size));
    const onClose = (): void => done('aborted');
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
  });
}

function headers(text: string, extra: Record<string, string> = {}): Record<string, string | number> {
  return { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...extra };
}

function send(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers(text));
  res.end(text);
}

/**
 * Answers a request whose body was not (entirely) read, then closes the connection: the unread rest
 * cannot be told apart from a next request. The reply is written at once; the response is ended (and
 * the socket closed) when the client has finished sending or the linger bounds are reached.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers(text, { Connection: 'close' }));
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
