import { badRequest } from './status.ts';

/**
 * Continue tokens in the API server's own format (apiserver/pkg/storage/continue.go): base64 of
 * `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<next key>"}`, the key relative to the list's
 * key prefix. A token binds the remaining pages to the revision of the first one; `rv: -1` marks
 * the inconsistent token handed out with an expiry, which continues from the newest state.
 */

const VERSION = 'meta.k8s.io/v1';
export const INCONSISTENT_RV = -1;

export interface ContinuePoint {
  rv: number;
  /** Relative to the list's key prefix; the first key to read. */
  start: string;
}

export function encodeContinue(point: ContinuePoint): string {
  return Buffer.from(JSON.stringify({ v: VERSION, rv: point.rv, start: point.start })).toString('base64url');
}

function invalid(detail: string): Error {
  return badRequest(`continue key is not valid: ${detail}`);
}

export function decodeContinue(token: string): ContinuePoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid('illegal base64 data or JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('not an object');
  const { v, rv, start } = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (v !== VERSION) throw invalid(`server does not recognize this encoded key version`);
  if (typeof rv !== 'number' || !Number.isInteger(rv) || (rv <= 0 && rv !== INCONSISTENT_RV)) {
    throw invalid('incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (typeof start !== 'string' || start.length === 0)
    throw invalid('encoded start key empty (version meta.k8s.io/v1)');
  // The real server refuses keys that would escape the list's prefix.
  if (start.startsWith('/') || start.split('/').some((part) => part === '..' || part === '.')) {
    throw invalid('path traversal attempt detected');
  }
  return { rv, start };
}

/** The smallest key after `key`, so the next page starts strictly past the last item returned. */
export function keyAfter(key: string): string {
  return `${key}\u0000`;
}
