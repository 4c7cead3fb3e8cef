import type { KubeConfig, RequestContext, SecurityAuthentication } from '@kubernetes/client-node';
import { WardenError } from '../errors.ts';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * The authentication of an API client whose requests share one kept-alive connection pool.
 *
 * client-node's KubeConfig authenticates each request by building a new undici Agent from the
 * kubeconfig's TLS settings, so every call opens its own connection: a TCP and TLS handshake (and a
 * socket left to idle out) per request, every retry period, for as long as the process runs. Here the
 * first Agent is kept and every later request goes through it; the one built for each request (no
 * connection yet) is closed unused. Headers (a bearer token read from a rotating file, say) are still
 * applied per request by the KubeConfig.
 *
 * `reset()` drops the kept Agent, so the next request builds one from the kubeconfig as it is then
 * (a rotated client certificate or CA); `signal` bounds the requests made while it is set.
 */
export class KeptConnection implements SecurityAuthentication {
  readonly #kubeConfig: KubeConfig;
  #kept: Dispatcher | undefined;
  /** Aborts the requests made while it is set: the caller's bound on one attempt. */
  signal: AbortSignal | undefined;

  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
  }

  getName(): string {
    return 'kubeconfig authentication over a kept connection';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.#kubeConfig.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh) {
      if (!this.#kept) this.#kept = fresh;
      else if (fresh !== this.#kept) void fresh.close().catch(() => undefined);
      context.setDispatcher(this.#kept);
    }
    if (this.signal) context.setSignal(this.signal);
  }

  /** Forgets the kept connection pool; its connections are closed. */
  reset(): void {
    const kept = this.#kept;
    this.#kept = undefined;
    void kept?.destroy().catch(() => undefined);
  }

  /** The URL of the kubeconfig's current cluster, which every request's path is appended to. */
  server(): string {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (!cluster) throw new WardenError('ERR_KUBE_CONFIG', 'the kubeconfig has no current cluster');
    return cluster.server;
  }
}
