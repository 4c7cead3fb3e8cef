import type { AdmissionObserver, ReviewEndpoint } from './types.ts';

/** Counts every reply (malformed requests included, as `error`) and its time since the request arrived. */
export function withMetrics(endpoint: ReviewEndpoint, observer: AdmissionObserver): ReviewEndpoint {
  return async (call) => {
    const reply = await endpoint(call);
    observer.review(call.webhook, reply.kind, reply.decision, (performance.now() - call.receivedAt) / 1000);
    return reply;
  };
}
