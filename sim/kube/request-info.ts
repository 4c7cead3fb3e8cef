/**
 * What a request is about, derived from method and path the way the API server's
 * RequestInfoFactory does (apiserver/pkg/endpoints/request/requestinfo.go).
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** False for discovery, /version, /openapi and other non-resource paths. */
  readonly isResource: boolean;
  /** A resource verb, or the lower-case HTTP method for a non-resource path. */
  readonly verb: Verb | string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

/** Subresources of a namespace itself, which must not be read as a namespaced resource type. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Go's strconv.ParseBool, which the API server uses for boolean query parameters. */
export function parseBool(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

export function parseRequestInfo(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'http://sim.invalid');
  const path = url.pathname;
  const query = url.searchParams;
  const base = {
    method,
    path,
    query,
    group: '',
    version: '',
    resource: '',
    subresource: '',
    namespace: undefined,
    name: '',
  };
  const nonResource: RequestInfo = { ...base, isResource: false, verb: method.toLowerCase() };

  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let rest: string[];
  let group = '';
  let version: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return nonResource;
  }

  let verb: string;
  switch (method) {
    case 'POST':
      verb = 'create';
      break;
    case 'GET':
    case 'HEAD':
      verb = 'get';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }
  // The deprecated /watch/ path prefix.
  if (rest[0] === 'watch') {
    verb = 'watch';
    rest = rest.slice(1);
  }

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    if (rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) {
      namespace = rest[1]!;
      rest = rest.slice(2);
    } else {
      // The namespace object itself: /namespaces/{name}[/status|/finalize]
      namespace = undefined;
    }
  }

  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  if (rest.length > 3) return nonResource;

  if (verb === 'get' && name === '') verb = 'list';
  if (verb === 'delete' && name === '') verb = 'deletecollection';
  if (verb === 'list' && parseBool(query.get('watch')) === true) verb = 'watch';

  return {
    method,
    path,
    query,
    isResource: true,
    verb,
    group,
    version,
    resource,
    subresource,
    namespace,
    name,
  };
}
