import { decodeReview } from './decode.ts';
import { failure, replyOf } from './reply.ts';
import type { AdmissionHandler, ReviewEndpoint } from './types.ts';
import { kindLabelOf } from './workloads.ts';

/**
 * An AdmissionHandler as an endpoint: a body the transport refused (413, 415) or that is not an
 * AdmissionReview v1 (400) is answered here, with the request's uid whenever it could be read; a
 * decoded request goes to the handler.
 */
export function reviewEndpoint(handler: AdmissionHandler): ReviewEndpoint {
  return async (call) => {
    if (!call.body.ok) return replyOf(failure('', call.body.code, call.body.message), kindLabelOf(null));
    const decoded = decodeReview(call.body.bytes);
    if (!decoded.ok) return replyOf(failure(decoded.uid, 400, decoded.message), kindLabelOf(null));
    const { request } = decoded;
    const response = await handler(request, { webhook: call.webhook, receivedAt: call.receivedAt });
    return replyOf(response, kindLabelOf(request.kind));
  };
}
