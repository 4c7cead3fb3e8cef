import { ApiException } from '@kubernetes/client-node';

/** What a failed Kubernetes API call said, as much as the writers act on. */
export interface ApiFailure {
  /** The HTTP status; undefined when no answer came (connection refused, reset, timeout, abort). */
  status: number | undefined;
  /** The Status object's reason (`AlreadyExists`, `Conflict`, `NotFound`, `Invalid`…), '' when none. */
  reason: string;
  /** details.kind of the Status: for a 404 on create, `namespaces` when the namespace is gone. */
  kind: string;
  /** From Retry-After (or details.retryAfterSeconds), which the apiserver sends with 429 and some 5xx. */
  retryAfterMs: number | undefined;
  message: string;
}

interface StatusBody {
  reason?: unknown;
  message?: unknown;
  details?: { kind?: unknown; retryAfterSeconds?: unknown };
}

function statusBody(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : {};
    } catch {
      return {};
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusBody) : {};
}

/** Reads client-node's ApiException (and anything else thrown) into an ApiFailure. */
export function apiFailure(err: unknown): ApiFailure {
  if (!(err instanceof ApiException)) {
    return {
      status: undefined,
      reason: '',
      kind: '',
      retryAfterMs: undefined,
      message: err instanceof Error ? err.message : String(err),
    };
  }
  const body = statusBody(err.body);
  const header = err.headers?.['retry-after'] ?? err.headers?.['Retry-After'];
  const seconds = header !== undefined ? Number(header) : Number(body.details?.retryAfterSeconds);
  return {
    status: err.code,
    reason: typeof body.reason === 'string' ? body.reason : '',
    kind: typeof body.details?.kind === 'string' ? body.details.kind : '',
    retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
    message: typeof body.message === 'string' ? body.message : err.message,
  };
}

/**
 * Whether trying the same request later may work: no answer, throttled (429), or a server error.
 * 4xx answers other than 429 say the request itself is wrong and are handled by the caller.
 */
export function isRetryable(failure: ApiFailure): boolean {
  return failure.status === undefined || failure.status === 429 || failure.status >= 500;
}

/**
 * Exponential backoff with jitter for a writer's retries: 1 s doubling to `maxMs`, the wait a random
 * point in its upper half so that many retries scheduled together spread out.
 */
export function backoffMs(failures: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(maxMs, 1000 * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  return Math.round(delay / 2 + (random() * delay) / 2);
}
