import { WardenError } from '../errors.ts';
import type { KeptConnection } from './kept-connection.ts';
import { refusal } from './response.ts';

/**
 * The longest answer read: far more than any object or list page the controller asks for (an
 * Event is a few KiB, a Report at most its limits.maxBytes, 768 KiB by default), far less than what
 * would hurt the process.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** What client-node's generated API classes send as Accept on every request. */
const ACCEPT = 'application/json, */*;q=0.8';
const JSON_TYPE = 'application/json';
const MERGE_PATCH_TYPE = 'application/merge-patch+json';

/** Query parameters; those left undefined are not sent. */
export type Query = Readonly<Record<string, string | number | undefined>>;

/** A list as the apiserver sends it: one page, with the token for the next. */
export interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/**
 * A small JSON client for the Kubernetes API, over one KeptConnection: requests authenticated by
 * the kubeconfig, sent on the kept-alive connection pool, bounded by the connection's signal, answers
 * parsed as plain JSON.
 *
 * It stands in for client-node's generated API classes (CoordinationV1Api, EventsV1Api,
 * CustomObjectsApi), which load its ObjectSerializer with every model class of the API and turn each
 * answer into model objects: megabytes of memory for the handful of calls the controller makes.
 * The wire is theirs: the same paths, the same Accept header, a JSON body with `application/json`
 * (`application/merge-patch+json` for a merge patch), and a failure thrown as their ApiException
 * (`code`, `body` parsed when it is JSON, `headers`), so callers read errors as before. Answers are
 * plain JSON: times are the strings the apiserver sent, not Date objects.
 */
export class KubeRest {
  readonly #connection: KeptConnection;
  readonly #maxResponseBytes: number;

  constructor(connection: KeptConnection, options: { maxResponseBytes?: number } = {}) {
    this.#connection = connection;
    this.#maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.#send('GET', path, query) as Promise<T>;
  }

  /** One page of a list; `continue` in the query asks for the page after a previous one. */
  list<T>(path: string, query?: Query): Promise<ListPage<T>> {
    return this.#send('GET', path, query) as Promise<ListPage<T>>;
  }

  create<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.#send('POST', path, query, body, JSON_TYPE) as Promise<T>;
  }

  replace<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.#send('PUT', path, query, body, JSON_TYPE) as Promise<T>;
  }

  /** A JSON merge patch (RFC 7386): fields given are set, fields given as null are removed. */
  mergePatch<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.#send('PATCH', path, query, body, MERGE_PATCH_TYPE) as Promise<T>;
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    // No body (no DeleteOptions), yet the Content-Type the generated delete calls always send.
    return this.#send('DELETE', path, query, undefined, JSON_TYPE) as Promise<T>;
  }

  async #send(
    method: Method,
    path: string,
    query: Query | undefined,
    body?: unknown,
    contentType?: string,
  ): Promise<unknown> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(name, String(value));
    }
    const search = params.size ? `?${params}` : '';
    const headers: Record<string, string> = { Accept: ACCEPT };
    if (contentType) headers['Content-Type'] = contentType;
    const answer = await this.#connection.request(
      {
        method,
        path: path + search,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      },
      this.#maxResponseBytes,
    );
    const { status, text } = answer;
    if (status < 200 || status > 299) throw refusal(answer, `${method} ${path} failed`);
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new WardenError('ERR_KUBE_API', `the answer to ${method} ${path} is not JSON`, { cause: err });
    }
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A path of the API with each interpolated part (a namespace, a name) URI-encoded, as the generated
 * classes encode path parameters: apiPath`/api/v1/namespaces/${namespace}/pods`.
 */
export function apiPath(strings: TemplateStringsArray, ...parts: string[]): string {
  return strings.reduce((path, text, i) => path + encodeURIComponent(parts[i - 1]!) + text);
}

/**
 * A metav1.MicroTime as the apiserver reads it (Go's RFC3339Micro: exactly six fractional digits,
 * UTC), the wire format of client-node's V1MicroTime: its toISOString() pads the milliseconds with
 * `000`, and ObjectSerializer sent it through JSON.stringify untouched. For the MicroTime fields the
 * controller writes: a Lease's renewTime and acquireTime, an events.k8s.io/v1 Event's eventTime and
 * series.lastObservedTime.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, -1) + '000Z';
}
