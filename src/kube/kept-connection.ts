import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { readBody } from './response.ts';

/**
 * Connections to one apiserver held at once by one KeptConnection, unless its owner says otherwise:
 * each component (lease, Events, Reports) has a connection of its own and sends a few requests at a
 * time, so a handful is plenty; more wait for a free one rather than open more. The pod watcher, whose
 * watches each hold a connection for minutes, asks for one per namespace it watches and two more.
 */
export const DEFAULT_MAX_SOCKETS = 8;

/**
 * A kept-alive connection unused this long is closed. The apiserver closes idle connections on its
 * side too (Go's http.Server after its idle timeout, load balancers sooner); closing first spares a
 * request the reset of a connection closed under it. undici, which client-node used, keeps 4 s.
 */
const IDLE_SOCKET_MS = 30_000;

/**
 * The longest a request may take when its caller gives it no bound of its own, body included: the
 * apiserver itself gives up on any request but a watch after its --request-timeout, 60 s by default.
 * (undici's fetch bounded headers and body at 300 s each; node:http bounds nothing.)
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** The TLS settings of the kubeconfig a pool is built with; a pool whose settings changed is rebuilt. */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized'] as const;

const USER_AGENT = `ecr-warden/${VERSION}`;

/** An answer, its body read whole. */
export interface ApiAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

export interface ApiRequest {
  method: string;
  /** The path and query, appended to the cluster's server URL as client-node appends it. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Ends the request (and the reading of its answer) when aborted, with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The controller's connection to the Kubernetes API: requests sent with node:http(s) on one
 * kept-alive connection pool, authenticated by client-node's KubeConfig.
 *
 * client-node 2 sends every request through undici's fetch with a new undici Agent per
 * authentication, so each call opens its own TLS connection, and fetch's WHATWG streams and
 * WebAssembly HTTP parser cost the process about 20 MiB of memory next to node:https for the same
 * requests (measured: 200 requests of a 150 KB JSON answer, 92 MiB against 70 MiB of RSS). Here the
 * KubeConfig still does everything that makes a request the kubeconfig's — the cluster's CA, a
 * client certificate, a bearer token read anew from a rotating file or an exec plugin on every
 * request, impersonation, a proxy — through `applyToHTTPSOptions`, the options it builds for
 * node:https clients (its WebSocket calls use them); only the sending is ours.
 *
 * The first request builds the pool from the kubeconfig's TLS settings as they are then; `reset()`
 * drops it, so the next request builds a new one (a rotated client certificate or CA). `signal`
 * bounds the requests made while it is set.
 */
export class KeptConnection {
  readonly #kubeConfig: KubeConfig;
  readonly #maxSockets: number;
  #agent: HttpAgent | undefined;
  /** The TLS settings `#agent` was built with. */
  #agentTls: Record<string, unknown> = {};
  /** Aborts the requests made while it is set: the caller's bound on one attempt. */
  signal: AbortSignal | undefined;

  constructor(kubeConfig: KubeConfig, options: { maxSockets?: number } = {}) {
    this.#kubeConfig = kubeConfig;
    this.#maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
  }

  /** The URL of the kubeconfig's current cluster, which every request's path is appended to. */
  server(): string {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (!cluster) throw new WardenError('ERR_KUBE_CONFIG', 'the kubeconfig has no current cluster');
    return cluster.server;
  }

  /**
   * Sends a request and reads its answer whole, up to `maxBytes` (ERR_KUBE_API past it), within its
   * signal or, without one, DEFAULT_REQUEST_TIMEOUT_MS.
   */
  async request(request: ApiRequest, maxBytes = Infinity): Promise<ApiAnswer> {
    const signal = this.#signalFor(request.signal) ?? AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS);
    const response = await this.#open(request, signal);
    const text = await readBody(response, maxBytes, signal);
    return { status: response.statusCode ?? 0, headers: response.headers, text };
  }

  /**
   * Sends a request and answers with its response as soon as the headers are in, the body left to
   * the caller to read (a watch's stream). Fails with the signal's reason when it is aborted first.
   */
  open(request: ApiRequest): Promise<IncomingMessage> {
    return this.#open(request, this.#signalFor(request.signal));
  }

  async #open(request: ApiRequest, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const options: RequestOptions = {};
    // The kubeconfig's TLS material, Authorization and Impersonate-User headers (a token from a
    // file or an exec plugin read anew each time), basic auth, and an agent (a proxy's, when the
    // cluster has a proxy-url).
    await this.#kubeConfig.applyToHTTPSOptions(options);
    signal?.throwIfAborted();
    const url = new URL(this.server() + request.path);
    const secure = url.protocol === 'https:';
    const agent = this.#agentFor(options, secure);
    // Who is asking, after the kubeconfig's headers (as client-node's generated classes set it): the
    // apiserver's audit log shows it.
    const headers: Record<string, string | number> = {
      ...(options.headers as Record<string, string> | undefined),
      'User-Agent': USER_AGENT,
      ...request.headers,
    };
    if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body);
    const send = secure ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, {
        method: request.method,
        headers,
        agent,
        ...(options.auth ? { auth: options.auth } : {}),
        ...(signal ? { signal } : {}),
      });
      req.once('response', resolve);
      // An aborted request fails with the signal's reason (a TimeoutError, say), as fetch does. `on`:
      // an error after the answer (the promise settled) must still find a listener.
      req.on('error', (err) => reject(signal?.aborted ? (signal.reason as Error) : err));
      req.end(request.body);
    });
  }

  /** Forgets the kept connection pool; its connections are closed. */
  reset(): void {
    const kept = this.#agent;
    this.#agent = undefined;
    kept?.destroy();
  }

  #signalFor(own: AbortSignal | undefined): AbortSignal | undefined {
    const { signal } = this;
    if (signal && own && signal !== own) return AbortSignal.any([signal, own]);
    return own ?? signal;
  }

  /**
   * The pool: one kept-alive agent with the kubeconfig's TLS settings, rebuilt when they change (a
   * rotated client certificate or CA file, a certificate from an exec plugin). Through a proxy
   * (the cluster's proxy-url) it is client-node's own agent, which builds the proxy's tunnel: that
   * one client-node keeps for the life of the process, without keep-alive, and reset() does not
   * replace it.
   */
  #agentFor(options: RequestOptions, secure: boolean): HttpAgent {
    if (this.#kubeConfig.getCurrentCluster()?.proxyUrl && options.agent instanceof HttpAgent)
      return options.agent;
    const tls = secure ? pick(options as Record<string, unknown>, TLS_KEYS) : {};
    if (this.#agent && !sameSettings(tls, this.#agentTls)) this.reset();
    if (this.#agent) return this.#agent;
    // rejectUnauthorized only when the kubeconfig sets it (insecure-skip-tls-verify): else Node's
    // default, which honours NODE_TLS_REJECT_UNAUTHORIZED as client-node's agents do.
    const common = {
      keepAlive: true,
      maxSockets: this.#maxSockets,
      scheduling: 'lifo' as const,
      // On a pooled connection this closes it; on one in use (a watch) it only emits 'timeout'.
      timeout: IDLE_SOCKET_MS,
    };
    this.#agent = secure ? new HttpsAgent({ ...common, ...tls }) : new HttpAgent(common);
    this.#agentTls = tls;
    return this.#agent;
  }
}

function sameSettings(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return TLS_KEYS.every((key) => {
    const x = a[key];
    const y = b[key];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) return x.equals(y);
    return x === y;
  });
}

function pick(options: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
