import type { Logger } from '../log.ts';
import type { ReviewEndpoint } from './types.ts';

/**
 * One line per review: denials and failures at info and warn (someone will ask why their pod was
 * refused), allowed reviews at debug (hundreds a second on a busy cluster).
 */
export function withLogging(endpoint: ReviewEndpoint, log: Logger): ReviewEndpoint {
  return async (call) => {
    const reply = await endpoint(call);
    const { response } = reply.review;
    const fields = {
      webhook: call.webhook,
      uid: response.uid,
      kind: reply.kind,
      decision: reply.decision,
      httpStatus: reply.httpStatus,
      ms: Math.round((performance.now() - call.receivedAt) * 10) / 10,
      ...(response.status ? { message: response.status.message } : {}),
      ...(response.warnings ? { warnings: response.warnings } : {}),
    };
    if (reply.decision === 'error') log.warn(fields, 'admission review failed');
    else if (reply.decision === 'denied') log.info(fields, 'admission review denied');
    else log.debug(fields, 'admission review');
    return reply;
  };
}
