import type { RequestInfo } from './request-info.ts';
import { StatusError } from './status.ts';

/** Which requests a fault applies to; every given field must match. */
export interface RequestMatch {
  /** get, list, watch, create, update, patch, delete, deletecollection (or an HTTP method, lower-case, for non-resource paths). */
  verb?: string;
  /** `pods`, `leases`, or with a subresource `pods/status`. */
  resource?: string;
  /** The API group: '' for core, `events.k8s.io`, `openreports.io`… (events are `events` in both). */
  group?: string;
  namespace?: string;
  /** A path prefix, or a pattern tested against the path. */
  path?: string | RegExp;
}

/** HTTP codes a failure can be injected with, each answered with the Status the API server sends. */
export type FailureCode = 429 | 500 | 503 | 504;

export interface FailureOptions {
  code?: FailureCode;
  /** Sets a Retry-After header (and details.retryAfterSeconds), as the server does for 429 and 503. */
  retryAfterSeconds?: number;
  match?: RequestMatch;
  message?: string;
}

interface FailureRule {
  remaining: number;
  code: FailureCode;
  retryAfterSeconds: number | undefined;
  match: RequestMatch;
  message: string | undefined;
}

interface LatencyRule {
  ms: number;
  match: RequestMatch;
}

interface StallRule {
  remaining: number;
  match: RequestMatch;
}

export function resourceLabel(info: RequestInfo): string {
  if (!info.isResource) return info.path;
  return info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
}

export function matches(match: RequestMatch, info: RequestInfo): boolean {
  if (match.verb !== undefined && match.verb !== info.verb) return false;
  if (match.resource !== undefined && match.resource !== resourceLabel(info)) return false;
  if (match.group !== undefined && (!info.isResource || match.group !== info.group)) return false;
  if (match.namespace !== undefined && match.namespace !== info.namespace) return false;
  if (match.path !== undefined) {
    if (typeof match.path === 'string' ? !info.path.startsWith(match.path) : !match.path.test(info.path))
      return false;
  }
  return true;
}

function failure(
  code: FailureCode,
  message: string | undefined,
  retryAfterSeconds: number | undefined,
): StatusError {
  const details = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
  const options = {
    ...(details ? { details } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
  switch (code) {
    case 429:
      return new StatusError(
        429,
        'TooManyRequests',
        message ?? 'Too many requests, please try again later.',
        options,
      );
    case 503:
      return new StatusError(
        503,
        'ServiceUnavailable',
        message ?? 'the server is currently unable to handle the request',
        options,
      );
    case 504:
      return new StatusError(
        504,
        'Timeout',
        message ??
          'the server was unable to return a response in the time allotted, but may still be processing the request',
        options,
      );
    default: {
      const cause = message ?? 'injected fault';
      return new StatusError(500, 'InternalError', `Internal error occurred: ${cause}`, {
        ...options,
        details: { ...details, causes: [{ message: cause }] },
      });
    }
  }
}

/** Injected failures and latency, consulted for every request before it is served. */
export class Faults {
  private failures: FailureRule[] = [];
  private latencies: LatencyRule[] = [];
  private stalls: StallRule[] = [];

  /** The next `count` requests that match fail with `code` (500 by default): a burst. */
  failNext(count: number, options: FailureOptions = {}): void {
    this.failures.push({
      remaining: count,
      code: options.code ?? 500,
      retryAfterSeconds: options.retryAfterSeconds,
      match: options.match ?? {},
      message: options.message,
    });
  }

  /** Delays every matching request by `ms` before it is served. */
  addLatency(ms: number, match: RequestMatch = {}): void {
    this.latencies.push({ ms, match });
  }

  /**
   * The next `count` matching list responses stop partway through their body: the status, headers and
   * the start of the items arrive, then nothing more while the connection stays up, as behind a
   * stalled network path or a proxy that holds the rest.
   */
  stallNext(count: number, match: RequestMatch = {}): void {
    this.stalls.push({ remaining: count, match });
  }

  clear(): void {
    this.failures = [];
    this.latencies = [];
    this.stalls = [];
  }

  /** Whether this response is to stall mid-body (and counts it against its rule). */
  takeStall(info: RequestInfo): boolean {
    const rule = this.stalls.find((r) => r.remaining > 0 && matches(r.match, info));
    if (!rule) return false;
    rule.remaining--;
    this.stalls = this.stalls.filter((r) => r.remaining > 0);
    return true;
  }

  /** The injected failure for this request, if any (and counts it against its rule). */
  takeFailure(info: RequestInfo): StatusError | undefined {
    const rule = this.failures.find((r) => r.remaining > 0 && matches(r.match, info));
    if (!rule) return undefined;
    rule.remaining--;
    this.failures = this.failures.filter((r) => r.remaining > 0);
    return failure(rule.code, rule.message, rule.retryAfterSeconds);
  }

  latencyFor(info: RequestInfo): number {
    return this.latencies.reduce((sum, rule) => (matches(rule.match, info) ? sum + rule.ms : sum), 0);
  }

  get pendingFailures(): number {
    return this.failures.reduce((sum, r) => sum + r.remaining, 0);
  }
}
