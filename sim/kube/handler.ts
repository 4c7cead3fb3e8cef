import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { Catalog } from './catalog.ts';
import type { Database } from './db.ts';
import * as discovery from './discovery.ts';
import type { ChangeEvent } from './event-log.ts';
import type { Faults } from './faults.ts';
import {
  type ListPage,
  parseListQuery,
  parseRevision,
  parseWatchQuery,
  readList,
  type WatchQuery,
  waitForRevision,
} from './list.ts';
import { OpenApiDocuments } from './openapi.ts';
import { PATCH_TYPES, type PatchType } from './patch.ts';
import type { DeleteOptions, FieldValidation, Registry, WriteOptions, WriteResult } from './registry.ts';
import { parseRequestInfo, type RequestInfo } from './request-info.ts';
import { type ResourceDef, scopePrefix } from './resources.ts';
import { parseFieldSelector } from './selectors.ts';
import {
  badRequest,
  internalError,
  methodNotAllowed,
  pathNotFound,
  StatusError,
  tooLargeResourceVersion,
  tooOldResourceVersion,
} from './status.ts';
import { itemJson, type Stored } from './stored.ts';
import { toTable, wantsTable } from './table.ts';
import { present } from './views.ts';
import { type WatchCloseReason, type WatchHub, WatchStream } from './watch.ts';

/** How a watch that asks for a resourceVersion older than the retained history is answered. */
export type StaleWatchResponse =
  /** HTTP 200, then one ERROR event with a 410 Expired Status: what kube-apiserver's watch cache does. */
  | 'error-event'
  /** A plain HTTP 410 with the Status body, before any stream starts. */
  | 'http-410';

export interface HandlerOptions {
  db: Database;
  catalog: Catalog;
  registry: Registry;
  hub: WatchHub;
  faults: Faults;
  /** How long a read for a future resourceVersion waits for it (the API server waits 3 s). */
  freshnessWaitMs: number;
  bookmarkIntervalMs: number;
  /** Watches without timeoutSeconds end after a random time between this and twice this (--min-request-timeout). */
  minRequestTimeoutSeconds: number;
  maxWatchBufferBytes: number;
  staleWatchResponse: StaleWatchResponse;
  serverAddress: () => string;
  resetConnection: (socket: Socket) => void;
  onRequest: (info: RequestInfo) => void;
  /**
   * Called once the answer is sent (or the connection is gone), with its HTTP status and, for a
   * create that succeeded, the name of the new object.
   */
  onResponse: (info: RequestInfo, code: number, createdName: string | undefined) => void;
  onWatchOpen: (stream: WatchStream) => void;
  onWatchClose: (stream: WatchStream, reason: WatchCloseReason) => void;
}

/** The API server's request body limit for writes (3 MiB). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Items are written in slices of this many, so a 10,000-pod list is never one giant string. */
const LIST_WRITE_BATCH = 500;

const JSON_TYPE = 'application/json';

let nextWatchId = 1;

export class ApiHandler {
  private readonly o: HandlerOptions;
  private readonly openApi: OpenApiDocuments;
  /** Names of objects created, by the response that answers their create. */
  private readonly created = new WeakMap<ServerResponse, string>();

  constructor(options: HandlerOptions) {
    this.o = options;
    this.openApi = new OpenApiDocuments(options.catalog);
  }

  /** Serves one HTTP request; never throws (every failure becomes a Status response). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const info = parseRequestInfo(req.method ?? 'GET', req.url ?? '/');
      this.o.onRequest(info);
      res.once('close', () => this.o.onResponse(info, res.statusCode, this.created.get(res)));
      const delay = this.o.faults.latencyFor(info);
      if (delay > 0) await pause(delay, res);
      if (res.destroyed) return;
      const fault = this.o.faults.takeFailure(info);
      if (fault) throw fault;
      if (!info.isResource) return this.nonResource(req, res, info);
      await this.resource(req, res, info);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status =
        err instanceof StatusError ? err : internalError(err instanceof Error ? err.message : String(err));
      writeStatus(res, status);
    }
  }

  private nonResource(req: IncomingMessage, res: ServerResponse, info: RequestInfo): void {
    if (info.method !== 'GET' && info.method !== 'HEAD') throw methodNotAllowed();
    const path = info.path.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    const doc = this.nonResourceDocument(path, discovery.wantsAggregated(req.headers.accept));
    if (!doc) throw pathNotFound();
    sendJson(res, 200, doc.json, doc.contentType);
  }

  /** Discovery, version and OpenAPI documents by path. */
  private nonResourceDocument(
    path: string,
    aggregated: boolean,
  ): { json: string; contentType?: string } | undefined {
    const encode = (body: object | undefined) => (body ? { json: JSON.stringify(body) } : undefined);
    const served = this.o.catalog.groupVersions();
    const aggregatedDoc = (core: boolean) => ({
      json: JSON.stringify(discovery.aggregated(served, core)),
      contentType: discovery.AGGREGATED_CONTENT_TYPE,
    });
    if (path === '/version') return encode(discovery.SERVER_VERSION);
    if (path === '/api')
      return aggregated ? aggregatedDoc(true) : encode(discovery.coreVersions(this.o.serverAddress()));
    if (path === '/apis') return aggregated ? aggregatedDoc(false) : encode(discovery.groupList(served));
    if (path === '/openapi/v3') return encode(this.openApi.root());
    if (path.startsWith('/openapi/v3/')) {
      const text = this.openApi.document(path.slice('/openapi/v3/'.length));
      return text === undefined ? undefined : { json: text };
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2)
      return encode(discovery.resourceList(served, '', parts[1]!));
    if (parts[0] === 'apis' && parts.length === 2) return encode(discovery.group(served, parts[1]!));
    if (parts[0] === 'apis' && parts.length === 3)
      return encode(discovery.resourceList(served, parts[1]!, parts[2]!));
    return undefined;
  }

  private async resource(req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<void> {
    const def = this.o.catalog.find(info.group, info.version, info.resource);
    if (!def) throw pathNotFound();
    if (info.subresource && !def.strategy.subresources.includes(info.subresource)) throw pathNotFound();
    if (!def.namespaced && info.namespace !== undefined) throw pathNotFound();
    if (def.namespaced && info.namespace === undefined) {
      // Namespaced resources across all namespaces: list and watch only.
      if (info.name) throw pathNotFound();
      if (info.verb !== 'list' && info.verb !== 'watch') throw methodNotAllowed();
    }
    const ns = info.namespace;
    const subresource = info.subresource || undefined;
    const q = info.query;
    const writeOptions = (): WriteOptions => ({
      dryRun: dryRunOf(q),
      fieldValidation: fieldValidationOf(q),
      warnings: [],
    });
    switch (info.verb) {
      case 'get':
        return this.get(req, res, def, info);
      case 'list':
        return this.list(req, res, def, info);
      case 'watch':
        return this.watch(req, res, def, info);
      case 'create': {
        if (info.name || subresource) throw methodNotAllowed();
        const options = writeOptions();
        const body = await readBody(req);
        const result = this.o.registry.create(def, ns, body, options);
        const name = (result.body as { metadata?: { name?: string } }).metadata?.name;
        if (name) this.created.set(res, name);
        return sendResult(res, result, options);
      }
      case 'update': {
        if (!info.name) throw methodNotAllowed();
        const options = writeOptions();
        const body = await readBody(req);
        return sendResult(
          res,
          this.o.registry.update(def, ns, info.name, subresource, body, options),
          options,
        );
      }
      case 'patch': {
        if (!info.name) throw methodNotAllowed();
        const options = writeOptions();
        const patchType = patchTypeOf(req.headers['content-type']);
        const body = await readBody(req, true);
        return sendResult(
          res,
          this.o.registry.patch(def, ns, info.name, subresource, patchType, body, options),
          options,
        );
      }
      case 'delete': {
        if (subresource) throw methodNotAllowed();
        const options = await deleteOptionsOf(req, q);
        return sendResult(res, this.o.registry.delete(def, ns, info.name, options));
      }
      case 'deletecollection':
        return this.deleteCollection(req, res, def, info);
      default:
        throw methodNotAllowed();
    }
  }

  private async get(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    info: RequestInfo,
  ): Promise<void> {
    const rvText = info.query.get('resourceVersion') ?? '';
    if (rvText !== '' && rvText !== '0') {
      const rv = parseRevision(rvText);
      const fresh = rv <= this.o.db.rv || (await waitForRevision(this.o.db, rv, this.o.freshnessWaitMs));
      if (!fresh) throw tooLargeResourceVersion(rv, this.o.db.rv);
    }
    const stored = this.o.registry.get(def, info.namespace, info.name);
    const table = wantsTable(req.headers.accept);
    if (table)
      return sendObject(res, 200, toTable(def, [stored], { rv: stored.rv }, this.tableOptions(table, info)));
    sendJson(res, 200, present(def, stored).json);
  }

  private async list(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    info: RequestInfo,
  ): Promise<void> {
    const q = parseListQuery(def, info.query);
    const page = await readList(this.o.db, def, info.namespace, q, this.o.freshnessWaitMs);
    const table = wantsTable(req.headers.accept);
    if (table) return sendObject(res, 200, toTable(def, page.items, page, this.tableOptions(table, info)));
    await writeList(res, def, page, this.o.faults.takeStall(info));
  }

  private tableOptions(version: 'v1' | 'v1beta1', info: RequestInfo, noHeaders = false) {
    return { version, query: info.query, now: this.o.registry.now(), noHeaders };
  }

  private async deleteCollection(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    info: RequestInfo,
  ): Promise<void> {
    const q = parseListQuery(def, info.query);
    const options = await deleteOptionsOf(req, info.query);
    const page = await readList(
      this.o.db,
      def,
      info.namespace,
      { ...q, limit: 0, continueToken: '' },
      this.o.freshnessWaitMs,
    );
    const deleted: Stored[] = [];
    for (const stored of page.items) {
      const meta = stored.obj.metadata;
      const result = this.o.registry.delete(def, meta.namespace, meta.name!, options);
      // The answer lists what was deleted, also for kinds whose single DELETE answers with a Status.
      deleted.push(
        result.json ? { obj: stored.obj, json: result.json, rv: stored.rv } : present(def, stored),
      );
    }
    await writeList(res, def, { rv: this.o.db.rv, items: deleted });
  }

  private async watch(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    info: RequestInfo,
  ): Promise<void> {
    const q = parseWatchQuery(def, info.query);
    if (info.name) {
      // A watch on /watch/.../{name} is a watch filtered to that name.
      const named = [q.fieldSelector, `metadata.name=${info.name}`].filter(Boolean).join(',');
      q.fields = parseFieldSelector(named, def.fields);
      q.fieldSelector = named;
    }
    const { db } = this.o;
    const table = db.table(def);
    const rvText = q.resourceVersion;
    let initial: Stored[] = [];
    let replay: readonly ChangeEvent[] = [];
    let startRv = db.rv;
    let initialEventsEndRv: number | undefined;
    const fromState =
      q.sendInitialEvents === true ||
      (q.sendInitialEvents === undefined && (rvText === '' || rvText === '0'));
    if (rvText !== '' && rvText !== '0') {
      const rv = parseRevision(rvText);
      if (fromState && rv > db.rv && !(await waitForRevision(db, rv, this.o.freshnessWaitMs))) {
        throw tooLargeResourceVersion(rv, db.rv);
      }
      if (!fromState) {
        if (rv < table.log.startRv) return this.expiredWatch(res, rv, table.log.startRv);
        startRv = rv;
        replay = table.log.since(rv);
      }
    }
    if (fromState) {
      initial = [...table.scan(scopePrefix(def, info.namespace), '')];
      startRv = db.rv;
      replay = [];
      if (q.sendInitialEvents === true) initialEventsEndRv = db.rv;
    }
    const tableVersion = wantsTable(req.headers.accept);
    // Only the first event of a Table watch carries the column definitions.
    let headersSent = false;
    const render = tableVersion
      ? (stored: Stored) => {
          const options = this.tableOptions(tableVersion, info, headersSent);
          const encoded = JSON.stringify(toTable(def, [stored], { rv: stored.rv }, options));
          headersSent = true;
          return encoded;
        }
      : def.view
        ? (stored: Stored) => present(def, stored).json
        : undefined;
    const stream = new WatchStream({
      render,
      info: {
        id: nextWatchId++,
        group: def.group,
        resource: def.resource,
        namespace: info.namespace,
        resourceVersion: rvText,
        labelSelector: q.labelSelector,
        fieldSelector: q.fieldSelector,
        allowWatchBookmarks: q.allowWatchBookmarks,
      },
      def,
      res,
      namespace: info.namespace,
      labels: q.labels,
      fields: q.fields,
      startRv,
      timeoutMs: this.watchTimeoutMs(q),
      bookmarkIntervalMs: this.o.bookmarkIntervalMs,
      maxBufferedBytes: this.o.maxWatchBufferBytes,
      currentRv: () => db.rv,
      resetConnection: this.o.resetConnection,
      onClose: (s, reason) => {
        this.o.hub.remove(def, s);
        this.o.onWatchClose(s, reason);
      },
    });
    this.o.hub.add(def, stream);
    stream.start(initial, replay, initialEventsEndRv);
    if (!stream.isClosed) this.o.onWatchOpen(stream);
  }

  private expiredWatch(res: ServerResponse, requested: number, oldest: number): void {
    const status = tooOldResourceVersion(requested, oldest);
    if (this.o.staleWatchResponse === 'http-410') throw status;
    res.writeHead(200, {
      'Content-Type': JSON_TYPE,
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.end(`{"type":"ERROR","object":${JSON.stringify(status.toStatus())}}\n`);
  }

  private watchTimeoutMs(q: WatchQuery): number {
    if (q.timeoutSeconds !== undefined && q.timeoutSeconds > 0) return q.timeoutSeconds * 1000;
    const min = this.o.minRequestTimeoutSeconds;
    return min > 0 ? Math.round(min * (1 + Math.random()) * 1000) : 0;
  }
}

export function writeStatus(res: ServerResponse, error: StatusError): void {
  const headers: Record<string, string> = { 'Content-Type': JSON_TYPE };
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  res.writeHead(error.code, headers);
  res.end(JSON.stringify(error.toStatus()));
}

function sendJson(res: ServerResponse, code: number, json: string, contentType = JSON_TYPE): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

function sendObject(res: ServerResponse, code: number, body: object, contentType = JSON_TYPE): void {
  sendJson(res, code, JSON.stringify(body), contentType);
}

function sendResult(res: ServerResponse, result: WriteResult, options?: WriteOptions): void {
  // Warnings travel as RFC 7234 `Warning: 299 - "<text>"` headers, one per warning.
  const warnings = options?.warnings ?? [];
  if (warnings.length)
    res.setHeader(
      'Warning',
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  sendJson(res, result.code, result.json ?? JSON.stringify(result.body));
}

/**
 * Streams a list: the envelope, then the items in slices, waiting for the socket to drain between
 * slices so a large list never sits in memory twice. With `stall`, only the envelope and half of the
 * first item are sent, and the response then waits, unfinished, until the client goes away.
 */
async function writeList(
  res: ServerResponse,
  def: ResourceDef,
  page: ListPage,
  stall = false,
): Promise<void> {
  const metadata: Record<string, unknown> = { resourceVersion: String(page.rv) };
  if (page.continueToken) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  res.writeHead(200, { 'Content-Type': JSON_TYPE });
  res.write(
    `{"kind":"${def.listKind}","apiVersion":"${def.apiVersion}","metadata":${JSON.stringify(metadata)},"items":[`,
  );
  if (stall) {
    const first = page.items[0] ? itemJson(page.items[0], def.typePrefix) : '';
    res.write(first.slice(0, first.length >> 1));
    if (!res.destroyed) await new Promise((resolve) => res.once('close', resolve));
    return;
  }
  for (let i = 0; i < page.items.length; i += LIST_WRITE_BATCH) {
    const slice = page.items.slice(i, i + LIST_WRITE_BATCH).map((s) => itemJson(s, def.typePrefix));
    const ok = res.write((i > 0 ? ',' : '') + slice.join(','));
    if (!ok && !res.destroyed) await drained(res);
    if (res.destroyed) return;
  }
  res.end(']}');
}

/** Waits `ms`, or less when the client goes away meanwhile: there is then no one left to answer. */
function pause(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

/** Resolves when the response can take more data, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function readBody(req: IncomingMessage, isPatch = false): Promise<unknown> {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!isPatch && contentType !== JSON_TYPE && contentType !== 'application/yaml') {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new StatusError(
        413,
        'RequestEntityTooLarge',
        `Request entity too large: limit is ${MAX_BODY_BYTES}`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return contentType === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if ((PATCH_TYPES as readonly string[]).includes(type)) return type as PatchType;
  throw new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
  );
}

const FIELD_VALIDATIONS: readonly FieldValidation[] = ['Strict', 'Warn', 'Ignore'];

/** The `fieldValidation` query parameter (Warn when absent, as since 1.27). */
function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if ((FIELD_VALIDATIONS as readonly string[]).includes(value)) return value as FieldValidation;
  throw badRequest(`fieldValidation parameter unsupported: ${value}`);
}

function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const value of values) if (value !== 'All') throw badRequest(`Invalid dry run value: ${value}`);
  return values.length > 0;
}

async function deleteOptionsOf(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  const body = hasBody ? await readBody(req, true) : undefined;
  const options: DeleteOptions = { dryRun: dryRunOf(query) };
  if (typeof body === 'object' && body !== null) {
    const b = body as { preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] };
    if (b.preconditions) options.preconditions = b.preconditions;
    if (Array.isArray(b.dryRun) && b.dryRun.includes('All')) options.dryRun = true;
  }
  return options;
}
