import { ECRClient } from '@aws-sdk/client-ecr';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { BoundedMap } from '../util/lru.ts';

/** Where the resolver gets an ECR client for a registry. Tests and the demo pass the real one, configured. */
export interface EcrClientSource {
  clientFor(registryId: string, region: string): ECRClient;
  destroy(): void;
}

export interface EcrClientsOptions {
  maxAttempts: number;
  /** accountId → role ARN to assume for that registry (cross-account registries). */
  assumeRoles: Readonly<Record<string, string>>;
  /** Overrides the SDK's endpoint resolution. Users set AWS_ENDPOINT_URL_ECR instead, which the SDK reads. */
  endpoint?: string;
  /** Overrides STS's endpoint for assumed roles (tests); users set AWS_ENDPOINT_URL_STS. */
  stsEndpoint?: string;
  /** Overrides the SDK's default credential chain (IRSA, Pod Identity, env, profile). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A socket that stays silent this long fails the attempt as a timeout (then the SDK retries). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

/**
 * Clients kept at once. Regions are checked against the SDK's partitions before any lookup (about 40
 * exist), so this bounds (region × assumed role) pairs with room to spare; past it the least
 * recently used client goes.
 */
const MAX_CLIENTS = 128;
/** An evicted client may still have calls in flight: it is destroyed once they have had time to end. */
const EVICTED_CLIENT_GRACE_MS = 60_000;

/**
 * One ECRClient per (region, credentials) pair, built on first use and reused: a client owns its
 * connection pool and credential cache, so building one per call (as some tools do) pays TLS setup
 * and STS round-trips on every lookup. Bounded, so no input can make it grow without limit.
 */
export class EcrClients implements EcrClientSource {
  readonly #clients: BoundedMap<string, ECRClient>;
  readonly #options: EcrClientsOptions;
  readonly #retiring = new Map<NodeJS.Timeout, ECRClient>();

  constructor(options: EcrClientsOptions, maxClients = MAX_CLIENTS) {
    this.#options = options;
    this.#clients = new BoundedMap(maxClients, (_key, client) => {
      const timer = setTimeout(() => {
        this.#retiring.delete(timer);
        client.destroy();
      }, EVICTED_CLIENT_GRACE_MS);
      timer.unref();
      this.#retiring.set(timer, client);
    });
  }

  clientFor(registryId: string, region: string): ECRClient {
    const roleArn = this.#options.assumeRoles[registryId];
    const key = `${region}|${roleArn ?? ''}`;
    let client = this.#clients.get(key);
    if (!client) {
      client = this.#build(region, roleArn);
      this.#clients.set(key, client);
    }
    return client;
  }

  /** How many clients exist: one per region and credentials, never one per image. */
  get size(): number {
    return this.#clients.size;
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
    for (const [timer, client] of this.#retiring) {
      clearTimeout(timer);
      client.destroy();
    }
    this.#retiring.clear();
  }

  #build(region: string, roleArn: string | undefined): ECRClient {
    const o = this.#options;
    const credentials = roleArn
      ? fromTemporaryCredentials({
          params: { RoleArn: roleArn, RoleSessionName: 'ecr-warden' },
          ...(o.credentials ? { masterCredentials: o.credentials } : {}),
          clientConfig: { region, ...(o.stsEndpoint ? { endpoint: o.stsEndpoint } : {}) },
        })
      : o.credentials;
    return new ECRClient({
      region,
      maxAttempts: o.maxAttempts,
      // Standard mode: exponential backoff with jitter and a retry quota, for throttling and 5xx alike.
      retryMode: 'standard',
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      requestHandler: new NodeHttpHandler({
        connectionTimeout: o.connectionTimeoutMs ?? 3_000,
        requestTimeout: o.requestTimeoutMs ?? 10_000,
        // Without this the handler only logs a warning and the request waits forever on a silent ECR.
        throwOnRequestTimeout: true,
      }),
    });
  }
}
