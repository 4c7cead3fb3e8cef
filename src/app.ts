import type { AwsCredentialIdentity } from '@smithy/types';
import { Assessor } from './policy/assessor.ts';
import type { Config } from './config/types.ts';
import { EcrClients } from './ecr/clients.ts';
import { callSender, type SendCall } from './ecr/calls.ts';
import { Lanes } from './ecr/lanes.ts';
import { Resolver } from './ecr/resolver.ts';
import { noopObserver, type ResolverObserver } from './ecr/types.ts';
import { Forecaster } from './lifecycle/forecaster.ts';
import { LifecyclePolicies } from './lifecycle/policies.ts';
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
  /** The lifecycle forecast (SPEC section 10); null with lifecycle.enabled off. */
  forecaster: Forecaster | null;
  /** The one ECR call path (lanes, timing, reasons), for the few readers beside the resolver (keep-alive). */
  send: SendCall;
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
  // One call path for every ECR read: the resolver's and the lifecycle forecast's calls share the
  // concurrency bound, its lanes, and the request metrics.
  const lanes = new Lanes(config.ecr.maxConcurrency);
  const send = callSender(
    clients,
    lanes,
    wiring.observer ?? noopObserver,
    wiring.log.child({ component: 'ecr' }),
  );
  const now = wiring.now ?? Date.now;
  const resolver = new Resolver({
    ecr: config.ecr,
    clients,
    log: wiring.log,
    calls: { lanes, send },
    now,
    ...(wiring.observer ? { observer: wiring.observer } : {}),
  });
  const forecaster = config.lifecycle.enabled
    ? new Forecaster(
        new LifecyclePolicies({
          send,
          now,
          ttlMs: config.lifecycle.refreshInterval,
          failureTtlMs: config.ecr.negativeTTL,
        }),
        now,
      )
    : null;
  const assessor = new Assessor(resolver, config.policy, { now, forecaster });
  return { clients, resolver, assessor, forecaster, send };
}
