import {
  ADMISSION_API_VERSION,
  ADMISSION_REVIEW_KIND,
  type AdmissionResponse,
  type AdmissionReviewReply,
  type Decision,
  type ReviewReply,
} from './types.ts';

/** A denial the apiserver shows the user: `admission webhook "…" denied the request: <message>`. */
export const DENIED_CODE = 403;

/** metav1.StatusReason for the codes the webhook answers with. */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'Forbidden',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'InternalError',
};

export function allow(
  uid: string,
  extra: Omit<AdmissionResponse, 'uid' | 'allowed'> = {},
): AdmissionResponse {
  return { uid, allowed: true, ...extra };
}

export function deny(uid: string, message: string, warnings: string[] = []): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { status: 'Failure', code: DENIED_CODE, reason: REASONS[DENIED_CODE]!, message },
    ...(warnings.length ? { warnings } : {}),
  };
}

/** The webhook could not judge the request: it was malformed (4xx) or the webhook failed (5xx). */
export function failure(uid: string, code: number, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { status: 'Failure', code, reason: REASONS[code] ?? 'Unknown', message },
  };
}

/** The webhook holds as much as it may (webhook.maxInFlight, webhook.maxInFlightBytes): try again. */
export const TOO_MANY_CODE = 429;

/**
 * How a response is counted: a 403 is a denial (an answer about the object); a 429 a review refused
 * unread under load; any other refusal is the webhook failing to judge, an error.
 */
export function decisionOf(response: AdmissionResponse): Decision {
  if (!response.allowed) {
    const code = response.status?.code;
    return code === DENIED_CODE ? 'denied' : code === TOO_MANY_CODE ? 'rejected' : 'error';
  }
  return response.warnings?.length ? 'warned' : 'allowed';
}

/**
 * The HTTP status to send a response with. Allowed and denied reviews are answers: 200. A failure
 * carries its own code as the HTTP status too: the apiserver then reports "failed calling webhook"
 * and applies the webhook's failurePolicy, which is the operator's choice for a webhook that cannot
 * judge; answering 200 with allowed=false would deny whatever the failurePolicy says. (controller-runtime
 * answers 200 with the code only in the body; the HTTP status here is what SPEC section 6 requires.)
 */
export function httpStatusOf(response: AdmissionResponse): number {
  if (response.allowed || response.status?.code === DENIED_CODE) return 200;
  return response.status?.code ?? 500;
}

export function reviewOf(response: AdmissionResponse): AdmissionReviewReply {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_REVIEW_KIND, response };
}

export function replyOf(response: AdmissionResponse, kind: string): ReviewReply {
  return {
    httpStatus: httpStatusOf(response),
    kind,
    decision: decisionOf(response),
    review: reviewOf(response),
  };
}
