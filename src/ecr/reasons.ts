import type { FailureReason } from './types.ts';

/**
 * Maps anything an ECR call can throw to a stable reason. Following the AWS SDK v3 error-handling
 * guide: narrow on `name` (the service exception's `__type`) and `$metadata.httpStatusCode`, never
 * on message text.
 */
export function reasonOf(err: unknown): FailureReason {
  if (typeof err !== 'object' || err === null) return 'error';
  const e = err as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : '';
  switch (name) {
    case 'ImageNotFoundException':
    case 'ScanNotFoundException': // an answer (no scan yet), not a failure of the call
      return 'not_found';
    case 'RepositoryNotFoundException':
      return 'repository_not_found';
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'KmsException':
    case 'CredentialsProviderError': // no credentials at all (no IRSA, no Pod Identity, no env)
      return 'access_denied';
    case 'ThrottlingException':
    case 'ThrottledException':
    case 'TooManyRequestsException':
    case 'RequestLimitExceeded':
    case 'LimitExceededException':
      return 'throttled';
    case 'TimeoutError':
    case 'AbortError':
    case 'RequestTimeout':
    case 'RequestTimeoutException':
      return 'timeout';
  }
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return 'timeout';
  const status = e.$metadata?.httpStatusCode;
  if (status === 403) return 'access_denied';
  if (status === 429) return 'throttled';
  return 'error';
}

/**
 * Whether the call failed because the endpoint's name does not resolve (an opt-in region not enabled
 * for the account, say). Such an answer does not change from one second to the next: it is cached for
 * negativeTTL instead of being asked again on every lookup.
 */
export function isDnsFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === 'ENOTFOUND' || code === 'EAI_NONAME';
}

/** A short human explanation for a reason, used in messages. */
export function describeReason(reason: FailureReason): string {
  switch (reason) {
    case 'not_found':
      return 'image not found in ECR';
    case 'repository_not_found':
      return 'repository not found in ECR';
    case 'not_cached':
      return 'not in the pull-through cache yet (the first pull fetches it from upstream)';
    case 'access_denied':
      return 'access to ECR denied';
    case 'throttled':
      return 'ECR throttled the request';
    case 'timeout':
      return 'ECR did not answer in time';
    case 'invalid_reference':
      return 'invalid image reference';
    case 'error':
      return 'ECR request failed';
  }
}
