import { invalidParameter } from './errors.ts';

/**
 * nextToken values: opaque to clients, as ECR's are, but a plain encoding of where the next page starts
 * and what it pages through. A token is only valid for the listing that issued it.
 */
interface TokenPayload {
  /** What the listing pages through, e.g. `images:<account>/<region>/<repo>`. */
  scope: string;
  /**
   * Where the next page starts, in the listing's own terms: an index for lists that only grow
   * (repositories, findings, preview results), an image's `seq` for images, which can be removed.
   */
  position: number;
}

export function encodePageToken(scope: string, position: number): string {
  const payload: TokenPayload = { scope, position };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The position a token resumes at; 0 without a token. A foreign or damaged token is rejected. */
export function decodePageToken(token: string | undefined, scope: string): number {
  if (token === undefined) return 0;
  try {
    const payload = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenPayload>;
    if (payload.scope === scope && Number.isInteger(payload.position) && (payload.position ?? -1) >= 0) {
      return payload.position as number;
    }
  } catch {
    // Reported below like any other token this listing did not issue.
  }
  throw invalidParameter('nextToken', 'Invalid NextToken');
}

/**
 * One page of `items` starting at `start`, keeping those `keep` accepts, and the position to resume at
 * when another kept item follows. Walks only as far as the page plus the next kept item.
 */
export function pageOf<T>(
  items: readonly T[],
  start: number,
  limit: number,
  keep: (item: T) => boolean,
): { page: T[]; next: number | undefined } {
  const page: T[] = [];
  let i = start;
  for (; i < items.length && page.length < limit; i++) {
    const item = items[i] as T;
    if (keep(item)) page.push(item);
  }
  for (let j = i; j < items.length; j++) {
    if (keep(items[j] as T)) return { page, next: j };
  }
  return { page, next: undefined };
}
