import type { ECRClient } from '@aws-sdk/client-ecr';
import type { Logger } from '../log.ts';
import type { EcrClientSource } from './clients.ts';
import type { Lanes } from './lanes.ts';
import { isDnsFailure, reasonOf } from './reasons.ts';
import type { FailureReason, Lane, ResolverObserver } from './types.ts';

/** Where a call goes: one registry (account and region). */
export interface RegistryRef {
  registryId: string;
  region: string;
}

/** A call's answer: the response, or why there is none. Errors are values past this point. */
export type CallOutcome<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      reason: FailureReason;
      /** The service exception's name (`ScanNotFoundException`), for callers that tell them apart. */
      name: string;
      message: string;
      /** A DNS failure: the endpoint does not exist for now; worth caching like a definite answer. */
      dns: boolean;
    };

/**
 * Sends one ECR call as the resolver sends every call: within its lane's share of the concurrency
 * bound, timed, counted by outcome, and with any error turned into a stable reason (AWS SDK v3
 * error-handling guide: narrow on `name` and `$metadata.httpStatusCode`).
 */
export type SendCall = <T>(
  lane: Lane,
  operation: string,
  registry: RegistryRef,
  send: (client: ECRClient) => Promise<T>,
) => Promise<CallOutcome<T>>;

export function callSender(
  clients: EcrClientSource,
  lanes: Lanes,
  observer: ResolverObserver,
  log: Logger,
): SendCall {
  return (lane, operation, registry, send) =>
    lanes.run(lane, async () => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const value = await send(clients.clientFor(registry.registryId, registry.region));
        observer.ecrRequest(operation, registry.region, 'success', seconds());
        return { ok: true as const, value };
      } catch (err) {
        const reason = reasonOf(err);
        const name = (err as { name?: string })?.name ?? 'Error';
        const message = err instanceof Error ? err.message : String(err);
        // A missing image or scan is an answer; anything else is worth a debug line.
        if (reason !== 'not_found') log.debug({ err, operation, region: registry.region }, 'ECR call failed');
        observer.ecrRequest(operation, registry.region, reason, seconds());
        return { ok: false as const, reason, name, message, dns: isDnsFailure(err) };
      }
    });
}
