import type { Logger } from '../log.ts';
import { failure } from './reply.ts';
import type { AdmissionHandler } from './types.ts';

/**
 * A handler that throws (or rejects) answers 500 with the request's uid instead: the apiserver then
 * applies the webhook's failurePolicy, the metrics count an `error`, and the process goes on. The
 * reason stays in the log, not in the reply, which other parties (the apiserver's log) may read.
 */
export function withRecovery(handler: AdmissionHandler, log: Logger): AdmissionHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (err) {
      log.error({ err, uid: request.uid, webhook: context.webhook }, 'admission handler failed');
      return failure(request.uid, 500, `internal error judging the request; the webhook's log has the cause`);
    }
  };
}
