import { decodeContinue, encodeContinue, INCONSISTENT_RV, keyAfter } from './continue-token.ts';
import type { Database } from './db.ts';
import { parseBool } from './request-info.ts';
import { keyOf, type ResourceDef, scopePrefix } from './resources.ts';
import {
  type FieldSelector,
  type LabelSelector,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import { badRequest, invalid, StatusError, tooLargeResourceVersion } from './status.ts';
import type { Stored } from './stored.ts';
import type { StatusCause } from './types.ts';

/**
 * List and watch options and their resourceVersion semantics, as documented in "Resource
 * versions" of the Kubernetes API concepts and implemented by a 1.32 API server:
 *
 * | list                                   | served at                                              |
 * |----------------------------------------|--------------------------------------------------------|
 * | resourceVersion unset                  | the newest state (paged when `limit` is set)           |
 * | resourceVersion="0"                    | any state (the watch cache): `limit` is ignored        |
 * | resourceVersion=N, no limit; NotOlderThan | not older than N (waits briefly for a future N)      |
 * | resourceVersion=N with limit, or Exact | exactly N (410 Expired once compacted)                 |
 * | continue=<token>                       | the token's revision (410 Expired once compacted)      |
 */

export type VersionMatch = '' | 'Exact' | 'NotOlderThan';

export interface ListQuery {
  resourceVersion: string;
  match: VersionMatch;
  limit: number;
  continueToken: string;
  labelSelector: string;
  fieldSelector: string;
  labels: LabelSelector;
  fields: FieldSelector;
}

export interface WatchQuery extends ListQuery {
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
}

export interface ListPage {
  rv: number;
  items: Stored[];
  continueToken?: string;
  remainingItemCount?: number;
}

function forbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
}

function invalidOptions(causes: StatusCause[]): StatusError {
  return invalid('ListOptions.meta.k8s.io', '', { group: 'meta.k8s.io', resource: 'ListOptions' }, causes);
}

export function parseRevision(value: string, what = 'resource version'): number {
  if (!/^\d+$/.test(value)) throw badRequest(`invalid ${what}: ${value}`);
  return Number(value);
}

function parseMatch(value: string | null): VersionMatch {
  const match = value ?? '';
  if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') {
    throw invalidOptions([
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`,
        field: 'resourceVersionMatch',
      },
    ]);
  }
  return match;
}

function parseCommon(def: ResourceDef, query: URLSearchParams): ListQuery {
  const limitText = query.get('limit');
  const limit = limitText === null || limitText === '' ? 0 : Number(limitText);
  if (!Number.isInteger(limit)) throw badRequest(`invalid limit: ${limitText}`);
  const labelSelector = query.get('labelSelector') ?? '';
  const fieldSelector = query.get('fieldSelector') ?? '';
  return {
    resourceVersion: query.get('resourceVersion') ?? '',
    match: parseMatch(query.get('resourceVersionMatch')),
    limit: Math.max(0, limit),
    continueToken: query.get('continue') ?? '',
    labelSelector,
    fieldSelector,
    labels: parseLabelSelector(labelSelector),
    fields: parseFieldSelector(fieldSelector, def.fields),
  };
}

/** List options, validated as ValidateListOptions does (422 on a forbidden combination). */
export function parseListQuery(def: ResourceDef, query: URLSearchParams): ListQuery {
  const q = parseCommon(def, query);
  if (query.get('sendInitialEvents') !== null) {
    throw invalidOptions([forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list')]);
  }
  if (q.match) {
    if (q.continueToken) {
      throw invalidOptions([
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'),
      ]);
    }
    if (!q.resourceVersion) {
      throw invalidOptions([
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      ]);
    }
    if (q.match === 'Exact' && q.resourceVersion === '0') {
      throw invalidOptions([
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
      ]);
    }
  }
  if (q.resourceVersion) parseRevision(q.resourceVersion);
  return q;
}

export function parseWatchQuery(def: ResourceDef, query: URLSearchParams): WatchQuery {
  const q = parseCommon(def, query);
  const allowWatchBookmarks = parseBool(query.get('allowWatchBookmarks')) === true;
  const sendInitialEvents = parseBool(query.get('sendInitialEvents'));
  if (sendInitialEvents !== undefined) {
    const causes: StatusCause[] = [];
    if (q.match !== 'NotOlderThan') {
      causes.push(
        forbidden(
          'resourceVersionMatch',
          'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        ),
      );
    }
    if (!allowWatchBookmarks) {
      causes.push(
        forbidden('allowWatchBookmarks', 'sendInitialEvents requires setting allowWatchBookmarks to true'),
      );
    }
    if (causes.length) throw invalidOptions(causes);
  } else if (q.match) {
    throw invalidOptions([forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch')]);
  }
  if (q.resourceVersion) parseRevision(q.resourceVersion);
  const timeoutText = query.get('timeoutSeconds');
  // An int64 on the wire: anything but digits fails to decode.
  if (timeoutText !== null && !/^\d+$/.test(timeoutText))
    throw badRequest(`invalid timeoutSeconds: ${timeoutText}`);
  const timeoutSeconds = timeoutText === null ? undefined : Number(timeoutText);
  return { ...q, allowWatchBookmarks, sendInitialEvents, timeoutSeconds };
}

/** Resolves once the database reaches `rv`, or with false after `ms` (the API server waits 3 s). */
export function waitForRevision(db: Database, rv: number, ms: number): Promise<boolean> {
  if (db.rv >= rv) return Promise.resolve(true);
  return new Promise((resolve) => {
    const stop = db.onChange(() => {
      if (db.rv >= rv) {
        stop();
        clearTimeout(timer);
        resolve(true);
      }
    });
    const timer = setTimeout(() => {
      stop();
      resolve(false);
    }, ms);
    timer.unref();
  });
}

function expiredContinue(start: string): StatusError {
  return new StatusError(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    { continueToken: encodeContinue({ rv: INCONSISTENT_RV, start }) },
  );
}

function tooOldList(): StatusError {
  return new StatusError(410, 'Expired', 'The resourceVersion for the provided list is too old.');
}

/** Reads one list answer (a page, or everything) according to the table above. */
export async function readList(
  db: Database,
  def: ResourceDef,
  namespace: string | undefined,
  q: ListQuery,
  freshnessWaitMs: number,
): Promise<ListPage> {
  const prefix = scopePrefix(def, namespace);
  if (q.continueToken) {
    if (q.resourceVersion && q.resourceVersion !== '0') {
      throw badRequest('specifying resource version is not allowed when using continue');
    }
    const point = decodeContinue(q.continueToken);
    if (point.rv !== INCONSISTENT_RV && point.rv < db.compactedRv) throw expiredContinue(point.start);
    if (point.rv > db.rv) throw tooLargeResourceVersion(point.rv, db.rv);
    const at = point.rv === INCONSISTENT_RV ? undefined : point.rv;
    return page(db, def, prefix, prefix + point.start, at, q);
  }
  if (q.resourceVersion === '') return page(db, def, prefix, prefix, undefined, q);
  const rv = parseRevision(q.resourceVersion);
  if (rv === 0) return page(db, def, prefix, prefix, undefined, { ...q, limit: 0 });
  const exact = q.match === 'Exact' || (q.match === '' && q.limit > 0);
  if (exact) {
    if (rv < db.compactedRv) throw tooOldList();
    if (rv > db.rv) throw tooLargeResourceVersion(rv, db.rv);
    return page(db, def, prefix, prefix, rv, q);
  }
  if (rv > db.rv && !(await waitForRevision(db, rv, freshnessWaitMs)))
    throw tooLargeResourceVersion(rv, db.rv);
  return page(db, def, prefix, prefix, undefined, q);
}

function page(
  db: Database,
  def: ResourceDef,
  prefix: string,
  from: string,
  at: number | undefined,
  q: ListQuery,
): ListPage {
  const rv = at ?? db.rv;
  const items: Stored[] = [];
  const filtered = !q.labels.empty || !q.fields.empty;
  // Iterated by hand: a for-of that breaks would close the generator before the look-ahead below.
  const scan = db.table(def).scan(prefix, from, at);
  for (let next = scan.next(); !next.done; next = scan.next()) {
    const stored = next.value;
    if (filtered && !(q.labels.matches(stored.obj.metadata.labels) && q.fields.matches(stored.obj))) continue;
    items.push(stored);
    if (q.limit > 0 && items.length === q.limit) break;
  }
  if (q.limit === 0 || items.length < q.limit) return { rv, items };
  // The page is full: there is a next page when any object (matching or not) follows, as etcd's `more`.
  let following = 0;
  for (let next = scan.next(); !next.done; next = scan.next()) {
    following++;
    if (filtered) break;
  }
  if (following === 0) return { rv, items };
  const last = items[items.length - 1]!.obj.metadata;
  const continueToken = encodeContinue({
    rv,
    start: keyAfter(keyOf(def, last.namespace, last.name!)).slice(prefix.length),
  });
  return filtered
    ? { rv, items, continueToken }
    : { rv, items, continueToken, remainingItemCount: following };
}
