import type { AwsCredentialIdentity } from '@smithy/types';
import { Assessor } from './assessor.ts';
import type { Config } from './config/types.ts';
import { EcrClients } from './ecr/clients.ts';
import { Resolver } from './ecr/resolver.ts';
import type { ResolverObserver } from './ecr/types.ts';
import type { Logger } from './log.ts';

/**
 * The composition root: the only place that builds ECR clients, the resolver and the policy. Commands
 * and tests call these with real or simulated endpoints; nothing else constructs them.
 */
export interface EcrWiring {
  /** Endpoint override (the demo's and tests' simulator); users set AWS_ENDPOINT_URL_ECR instead. */
  endpoint?: string;
  /** STS endpoint override for ecr.assumeRoles (tests); users set AWS_ENDPOINT_URL_STS. */
  stsEndpoint?: string;
  credentials?: AwsCredentialIdentity;
  observer?: ResolverObserver;
  log: Logger;
  now?: () => number;
  /** A silent ECR socket fails the attempt after this long (default 10 s; tests shorten it). */
  requestTimeoutMs?: number;
}

export interface Core {
  clients: EcrClients;
  resolver: Resolver;
  assessor: Assessor;
}

export function buildCore(config: Config, wiring: EcrWiring): Core {
  const clients = new EcrClients({
    maxAttempts: config.ecr.maxAttempts,
    assumeRoles: config.ecr.assumeRoles,
    ...(wiring.endpoint ? { endpoint: wiring.endpoint } : {}),
    ...(wiring.stsEndpoint ? { stsEndpoint: wiring.stsEndpoint } : {}),
    ...(wiring.credentials ? { credentials: wiring.credentials } : {}),
    ...(wiring.requestTimeoutMs ? { requestTimeoutMs: wiring.requestTimeoutMs } : {}),
  });
  const resolver = new Resolver({
    ecr: config.ecr,
    clients,
    log: wiring.log,
    ...(wiring.observer ? { observer: wiring.observer } : {}),
    ...(wiring.now ? { now: wiring.now } : {}),
  });
  const assessor = new Assessor(resolver, config.policy, wiring.now);
  return { clients, resolver, assessor };
}
