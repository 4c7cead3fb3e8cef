import { decodeReview } from './decode.ts';
import { failure, replyOf } from './reply.ts';
import type { AdmissionHandler, AdmissionRequest, ReviewCall, ReviewEndpoint, ReviewReply } from './types.ts';
import { kindLabelOf } from './workloads.ts';

/**
 * An AdmissionHandler as an endpoint: a body the transport refused (413, 415, 429) or that is not an
 * AdmissionReview v1 (400) is answered here, with the request's uid whenever it could be read; a
 * decoded request goes to the handler.
 *
 * Memory: the body is taken and decoded, and the handler's synchronous part reads the container
 * images from the objects, before anything is awaited; the objects are released right after. While
 * the review then waits for ECR, neither its bytes nor its parsed object are held by anything.
 */
export function reviewEndpoint(handler: AdmissionHandler): ReviewEndpoint {
  return async (call) => {
    const opened = open(call);
    if (!opened.ok) return opened.reply;
    const { request } = opened;
    const kind = kindLabelOf(request.kind);
    const pending = handler(request, { webhook: call.webhook, receivedAt: call.receivedAt });
    request.objects.release();
    return replyOf(await pending, kind);
  };
}

/**
 * Takes the body and decodes it. Synchronous, so that the bytes, their text and the parsed review
 * live only in this frame and in the request's objects.
 */
function open(call: ReviewCall): { ok: true; request: AdmissionRequest } | { ok: false; reply: ReviewReply } {
  const body = call.takeBody();
  if (!body.ok)
    return { ok: false, reply: replyOf(failure(body.uid ?? '', body.code, body.message), kindLabelOf(null)) };
  const decoded = decodeReview(body.bytes);
  if (!decoded.ok)
    return { ok: false, reply: replyOf(failure(decoded.uid, 400, decoded.message), kindLabelOf(null)) };
  return { ok: true, request: decoded.request };
}
