import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { Assessor } from '../policy/assessor.ts';
import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { CertificateWatcher } from './certificates.ts';
import { reviewEndpoint } from './endpoint.ts';
import { createTransport } from './http.ts';
import { InFlightLimits } from './in-flight.ts';
import { createMutateHandler } from './mutate.ts';
import type { AdmissionHandler, AdmissionObserver, ReviewEndpoint, WebhookName } from './types.ts';
import { createValidateHandler } from './validate.ts';
import { withLogging } from './with-logging.ts';
import { withMetrics } from './with-metrics.ts';
import { withRecovery } from './with-recovery.ts';

export interface WebhookServerOptions {
  config: Config['webhook'];
  /** The policy the assessor was built with (exempt namespaces are decided before reading the object). */
  policy: Config['policy'];
  assessor: Assessor;
  observer?: AdmissionObserver;
  log: Logger;
}

export interface WebhookServer {
  /** Where it listens (port 0 in the config picks a free one). */
  address: { host: string; port: number };
  /** Listening with a certificate loaded, and not closing: what /readyz reports for the webhook. */
  ready(): boolean;
  /** The serving certificate and its reload events (`loaded`, `rejected`). */
  certificates: CertificateWatcher;
  /** Reviews and request-body bytes held now, against webhook.maxInFlight and maxInFlightBytes. */
  load(): { reviews: number; bytes: number };
  /** Stops accepting connections, lets the reviews in flight finish and be answered, then closes. */
  close(): Promise<void>;
}

/** Every secure context, the first and each reload, is built with these. */
const TLS_OPTIONS: SecureContextOptions = { minVersion: 'TLSv1.2' };

/**
 * Time limits that keep a slow or idle client from holding a socket. A real apiserver sends a whole
 * review at once and gives up after the webhook's timeoutSeconds, at most 30 s.
 */
const TIMEOUTS = {
  /** From connection to a completed TLS handshake. */
  handshakeTimeout: 10_000,
  /** From connection (or the previous response) to the end of the request headers. */
  headersTimeout: 10_000,
  /** For the whole request, body included: what the apiserver would wait at most. */
  requestTimeout: 30_000,
  /**
   * An idle keep-alive connection is kept this long: longer than the 90 s after which the apiserver's
   * Go HTTP client drops idle connections itself, so it is never surprised by a close it races with.
   */
  keepAliveTimeout: 95_000,
  /** How often the header and request timeouts are checked (Node's default of 30 s would add up to that). */
  connectionsCheckingInterval: 1_000,
};

/** Beyond the deadline, how long close() waits for reviews whose bodies are still arriving. */
const DRAIN_GRACE_MS = 2_000;

/**
 * Open connections the server keeps; past it, a new connection is closed as soon as it is accepted
 * (and the apiserver applies the webhook's failurePolicy). The webhook speaks HTTP/1.1, one review at
 * a time per connection, so `maxInFlight` connections carry the reviews being handled; as many again
 * leave room for connections that only get a 429 (an answer that says why, where a dropped connection
 * says nothing) and for the idle kept-alive connections of each apiserver's pool, and 16 more for a
 * few apiservers with no review in flight. Each TLS connection costs tens of KiB of buffers, so the
 * default 80 stay within a few MiB, where an unbounded number would not.
 */
export function maxConnectionsFor(maxInFlight: number): number {
  return 2 * maxInFlight + 16;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { config, policy, assessor } = options;
  const log = options.log.child({ component: 'webhook' });

  const certificates = new CertificateWatcher({
    certFile: config.certFile,
    keyFile: config.keyFile,
    secureOptions: TLS_OPTIONS,
    log,
  });
  await certificates.start();
  const initial = certificates.current();

  const handlers: Record<WebhookName, AdmissionHandler> = {
    validate: createValidateHandler({ webhook: config, policy, assessor }),
    mutate: createMutateHandler({ webhook: config, assessor }),
  };
  const endpointFor = (webhook: WebhookName): ReviewEndpoint => {
    let endpoint = reviewEndpoint(withRecovery(handlers[webhook], log));
    if (options.observer) endpoint = withMetrics(endpoint, options.observer);
    return withLogging(endpoint, log);
  };
  const routes = new Map([
    ['/validate', { webhook: 'validate' as const, endpoint: endpointFor('validate') }],
    ['/mutate', { webhook: 'mutate' as const, endpoint: endpointFor('mutate') }],
  ]);

  let closing = false;
  const limits = new InFlightLimits({ maxReviews: config.maxInFlight, maxBytes: config.maxInFlightBytes });
  const transport = createTransport({ routes, log, closing: () => closing, limits });
  const inFlight = new InFlight();

  // Without a certificate yet the server still listens; handshakes fail and ready() stays false until
  // the files appear (a Secret that cert-manager has not issued yet).
  const server: Server = createServer({
    ...TLS_OPTIONS,
    ...(initial ? { cert: initial.cert, key: initial.key } : {}),
    ...TIMEOUTS,
  });
  server.maxConnections = maxConnectionsFor(config.maxInFlight);
  server.on('drop', (data) =>
    log.debug(
      { remoteAddress: data?.remoteAddress },
      'connection refused: webhook connections at their limit',
    ),
  );
  certificates.on('loaded', () => {
    const pair = certificates.current();
    if (pair) server.setSecureContext({ ...TLS_OPTIONS, cert: pair.cert, key: pair.key });
  });
  const track =
    (serve: (req: IncomingMessage, res: ServerResponse) => void) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      inFlight.enter(res);
      serve(req, res);
    };
  server.on('request', track(transport.listener));
  server.on('checkContinue', track(transport.checkContinue));
  server.on('tlsClientError', (err) => log.debug({ err }, 'TLS handshake failed'));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    certificates.close();
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'webhook server error'));
  const bound = server.address() as AddressInfo;
  log.info({ address: bound.address, port: bound.port }, 'webhook listening');

  let closed: Promise<void> | undefined;
  return {
    address: { host: bound.address, port: bound.port },
    certificates,
    load: () => ({ reviews: limits.reviews, bytes: limits.bytes }),
    ready: () => !closing && server.listening && certificates.current() !== null,
    close() {
      closed ??= (async () => {
        closing = true;
        certificates.close();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const drained = await inFlight.drained(config.deadline + DRAIN_GRACE_MS);
        if (!drained) log.warn('webhook closed with reviews still in flight');
        // Replies written while closing asked their clients to close; whatever is left is idle or stuck.
        server.closeAllConnections();
        await serverClosed;
        log.info('webhook closed');
      })();
      return closed;
    },
  };
}

/** Requests between arrival and the end of their response, so close() can wait for them. */
class InFlight {
  #count = 0;
  #waiters: Array<() => void> = [];

  enter(res: ServerResponse): void {
    this.#count += 1;
    res.once('close', () => {
      this.#count -= 1;
      if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Resolves true once nothing is in flight, or false when `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
