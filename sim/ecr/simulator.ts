import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EcrApiError,
  missingAuthentication,
  serializationError,
  serverError,
  throttled,
  unknownOperation,
} from './errors.ts';
import { type Fault, type FaultMatch, FaultPlan } from './faults.ts';
import { type LifecycleRun, runLifecyclePolicies } from './lifecycle/run.ts';
import { isSimulatedOperation, OPERATIONS, type OperationContext } from './operations/index.ts';
import { type Body, parseBody } from './params.ts';
import {
  accessKeyFromAuthorization,
  operationFromTarget,
  regionFromAuthorization,
  sendError,
  sendMalformed,
  sendResult,
} from './protocol.ts';
import { EcrStore, StoreError } from './store.ts';
import type {
  EcrScenario,
  ImageRef,
  ImageStatus,
  ImageView,
  RepositoryRef,
  SimImage,
  SimPullThroughCacheRule,
  SimRegistry,
  SimRepository,
  SimScan,
  SimScanning,
} from './types.ts';

export interface EcrSimulatorOptions {
  scenario: EcrScenario;
  /** Default 127.0.0.1: loopback only. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Delay before every answer, as a timer per request (requests in flight overlap, as over a network). */
  latencyMs?: number;
  /**
   * Time as the service sees it: pull times, archive times, and scans, which move through their states
   * as it advances (a test advances the clock it passes here). Default: the system clock.
   */
  clock?: () => Date;
  /** How many calls `calls()` keeps, oldest dropped first. Default 10,000. */
  callLogLimit?: number;
  /**
   * How many GetLifecyclePolicyPreview calls answer IN_PROGRESS before a preview answers COMPLETE.
   * Default 1; 0 completes a preview as it starts.
   */
  lifecyclePreviewPolls?: number;
}

/** How a call was answered: `pending` until it is, `hung` for a call that never will be. */
export type CallOutcome = 'pending' | 'ok' | 'error' | 'throttled' | 'failed' | 'malformed' | 'hung';

/** One request as the endpoint saw it. */
export interface SimCall {
  /** 1-based arrival order since start (or the last resetCounts). */
  seq: number;
  /** The operation named by X-Amz-Target (without the service prefix); '' when absent or foreign. */
  operation: string;
  /** The region from the signature; undefined for an unsigned request. */
  region: string | undefined;
  /** The access key ID from the signature; undefined for an unsigned request. */
  accessKeyId: string | undefined;
  /** The parsed JSON body; undefined when it did not parse. */
  body: Body | undefined;
  receivedAt: Date;
  outcome: CallOutcome;
  /** HTTP status and `__type` of the answer, once sent. */
  status?: number;
  errorType?: string;
}

export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
  byRegion: Record<string, number>;
  byOutcome: Record<string, number>;
}

/** Fully-specified error injection: any `__type` and status (ServerException 500 by default). */
export interface FailOptions extends FaultMatch {
  status?: number;
  type?: string;
  message?: string;
}

const DEFAULT_CALL_LOG_LIMIT = 10_000;
/** 100 image IDs take about 15 KB; anything near a megabyte is not a real ECR request. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A simulated Amazon ECR API endpoint on loopback, speaking AWS JSON 1.1 to the real SDK.
 * State comes from a scenario and can be changed while it runs; faults can be injected per request.
 */
export class EcrSimulator {
  readonly endpoint: string;
  readonly #server: Server;
  readonly #store: EcrStore;
  readonly #clock: () => Date;
  readonly #faults = new FaultPlan();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #callLogLimit: number;
  readonly #listeners = new Set<(call: SimCall) => void>();
  #latencyMs: number;
  #calls: SimCall[] = [];
  #counts: RequestCounts = emptyCounts();
  #seq = 0;
  #closed: Promise<void> | undefined;

  /** Use {@link startEcrSimulator}; the server passed in must already listen. */
  constructor(server: Server, store: EcrStore, options: EcrSimulatorOptions) {
    this.#server = server;
    this.#store = store;
    this.#clock = options.clock ?? (() => new Date());
    this.#latencyMs = options.latencyMs ?? 0;
    this.#callLogLimit = options.callLogLimit ?? DEFAULT_CALL_LOG_LIMIT;
    if (options.lifecyclePreviewPolls !== undefined) {
      this.setLifecyclePreviewPolls(options.lifecyclePreviewPolls);
    }
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.endpoint = `http://${host}:${address.port}`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#receive(req, res));
  }

  /** The account the dummy credentials belong to (the default registryId). */
  get callerAccount(): string {
    return this.#store.callerAccount;
  }

  // ---- observation ----

  requests(): RequestCounts {
    return {
      total: this.#counts.total,
      byOperation: { ...this.#counts.byOperation },
      byRegion: { ...this.#counts.byRegion },
      byOutcome: { ...this.#counts.byOutcome },
    };
  }

  /** The most recent calls (up to callLogLimit), oldest first. */
  calls(): readonly SimCall[] {
    return [...this.#calls];
  }

  resetCounts(): void {
    this.#counts = emptyCounts();
    this.#calls = [];
    this.#seq = 0;
  }

  /** Calls `listener` with every call as it arrives, before it is answered. Returns an unsubscribe. */
  onCall(listener: (call: SimCall) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The next call to arrive that `predicate` accepts (any call without one). */
  waitForCall(predicate: (call: SimCall) => boolean = () => true): Promise<SimCall> {
    return new Promise((resolve) => {
      const unsubscribe = this.onCall((call) => {
        if (!predicate(call)) return;
        unsubscribe();
        resolve(call);
      });
    });
  }

  // ---- fault injection ----

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be >= 0, got ${ms}`);
    this.#latencyMs = ms;
  }

  /** The next `n` matching calls answer ThrottlingException (HTTP 400), which the SDK retries. */
  throttleNext(n = 1, match?: FaultMatch): void {
    this.#faults.add({ kind: 'throttle' }, n, match);
  }

  /** Throttle this fraction (0–1) of matching calls, spread evenly. 0 turns it off. */
  setThrottleRate(rate: number, match?: FaultMatch): void {
    this.#faults.setThrottleRate(rate, match);
  }

  /** The next `n` matching calls fail: ServerException with HTTP 500 unless told otherwise. */
  failNext(n = 1, options: FailOptions = {}): void {
    const status = options.status ?? 500;
    const fault: Fault = {
      kind: 'error',
      status,
      type: options.type ?? 'ServerException',
      message: options.message ?? serverError(status).message,
    };
    this.#faults.add(fault, n, { operation: options.operation, region: options.region });
  }

  /** The next `n` matching calls answer 200 with a truncated JSON body. */
  malformedNext(n = 1, match?: FaultMatch): void {
    this.#faults.add({ kind: 'malformed' }, n, match);
  }

  /** The next `n` matching calls are read and never answered (until close()). */
  hangNext(n = 1, match?: FaultMatch): void {
    this.#faults.add({ kind: 'hang' }, n, match);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Deny every call on a registry (no `repository`) or on one repository. */
  setAccessDenied(target: { registryId: string; region: string; repository?: string }, denied = true): void {
    this.#store.setAccessDenied(target, denied);
  }

  // ---- state ----

  addRegistry(registry: SimRegistry): void {
    this.#store.addRegistry(registry);
  }

  createRepository(ref: RepositoryRef, spec?: Partial<SimRepository>): void {
    this.#store.addRepository(ref, spec);
  }

  /**
   * Pushes an image (creating the repository if needed); its tags move off any image that had them.
   * An image with `index` is pushed as `docker buildx` pushes it: platform images and attestations
   * first, untagged, then the index. Throws ImageTagAlreadyExistsError (code
   * ImageTagAlreadyExistsException), pushing nothing, when a tag the repository holds immutable is on
   * another image.
   */
  pushImage(ref: RepositoryRef, image: SimImage): ImageView {
    return this.#store.pushImage(ref, image);
  }

  /**
   * A node's pull of `repository:tag` through the registry API (not the ECR control plane). Under a pull
   * through cache rule, the first pull creates the repository if needed and caches the tag from the
   * upstream registry, scanned by the registry's scanning; any pull moves lastRecordedPullTime.
   * Throws StoreError when the pull would fail (no rule covers the name and the tag is not there, or the
   * upstream has no such tag).
   */
  pullThroughCache(ref: RepositoryRef, tag: string): ImageView {
    const image = this.#store.pullByTag(ref, tag);
    const view = image ? this.#store.image({ ...ref, digest: image.digest }) : undefined;
    if (!view) throw new StoreError(`a pull of ${ref.repository}:${tag} finds nothing to serve`);
    return view;
  }

  /** Replaces a registry's scanning configuration (scans already started run on as they were). */
  setScanning(registry: { registryId: string; region: string }, scanning: SimScanning | undefined): void {
    this.#store.setScanning(registry.registryId, registry.region, scanning);
  }

  addPullThroughCacheRule(
    registry: { registryId: string; region: string },
    rule: SimPullThroughCacheRule,
  ): void {
    this.#store.addPullThroughCacheRule(registry.registryId, registry.region, rule);
  }

  /** Whether the repository holds `tag` immutable (its mutability setting and exclusion filters). */
  tagIsImmutable(ref: RepositoryRef, tag: string): boolean {
    return this.#store.tagIsImmutable(ref, tag);
  }

  moveTag(ref: RepositoryRef, tag: string, digest: string): ImageView {
    return this.#store.moveTag(ref, tag, digest);
  }

  untag(ref: RepositoryRef, tag: string): void {
    this.#store.untag(ref, tag);
  }

  /** Replaces (or with undefined, removes) an image's scan; an index refuses one (StoreError). */
  setScan(ref: ImageRef, scan: SimScan | undefined): void {
    this.#store.setScan(ref, scan);
  }

  /** Moves an image to the archive storage class; lastArchivedAt becomes now. */
  archive(ref: ImageRef): void {
    this.#store.setImageStatus(ref, 'ARCHIVED');
  }

  /** Sets any image status; leaving ARCHIVED records lastActivatedAt. */
  setImageStatus(ref: ImageRef, status: ImageStatus): void {
    this.#store.setImageStatus(ref, status);
  }

  setPullTime(ref: ImageRef, at: Date | undefined): void {
    this.#store.setPullTime(ref, at);
  }

  /** Deletes an image and its tags, as BatchDeleteImage would. Listings under way carry on. */
  deleteImage(ref: ImageRef): void {
    this.#store.removeImage(ref);
  }

  image(ref: ImageRef): ImageView | undefined {
    return this.#store.image(ref);
  }

  lastRecordedPullTime(ref: ImageRef): Date | undefined {
    return this.#store.image(ref)?.lastRecordedPullTime;
  }

  // ---- lifecycle policies ----

  /**
   * Sets a repository's lifecycle policy as PutLifecyclePolicy would (validated the same way: a policy
   * ECR refuses throws StoreError). `lastEvaluatedAt` says when it last ran; absent, it never has.
   */
  setLifecyclePolicy(ref: RepositoryRef, text: string, lastEvaluatedAt?: Date): void {
    this.#store.setLifecyclePolicy(ref, text, lastEvaluatedAt);
  }

  /** The repository's policy as GetLifecyclePolicy gives it, or undefined without one. */
  lifecyclePolicy(ref: RepositoryRef): { text: string; lastEvaluatedAt: Date | undefined } | undefined {
    const repository = this.#store.repository(ref);
    const state = repository ? this.#store.lifecycle.peek(repository) : undefined;
    return state?.policy ? { text: state.policy.text, lastEvaluatedAt: state.lastEvaluatedAt } : undefined;
  }

  /**
   * Runs the lifecycle policies now (the simulator clock), as ECR's daily run would: every repository
   * with a policy, or those `scope` names. Expired images are deleted with their tags; transitioned
   * ones become ARCHIVED with lastArchivedAt now; each policy's lastEvaluatedAt becomes now. Returns
   * what was done, per image.
   */
  runLifecyclePolicies(scope: Partial<RepositoryRef> = {}): LifecycleRun {
    return runLifecyclePolicies(this.#store, this.#clock(), scope);
  }

  /** What {@link runLifecyclePolicies} would do now, without doing it (lastEvaluatedAt untouched). */
  planLifecyclePolicies(scope: Partial<RepositoryRef> = {}): LifecycleRun {
    return runLifecyclePolicies(this.#store, this.#clock(), scope, 'plan');
  }

  /** How many GetLifecyclePolicyPreview calls answer IN_PROGRESS before a new preview is COMPLETE. */
  setLifecyclePreviewPolls(polls: number): void {
    if (!Number.isInteger(polls) || polls < 0) {
      throw new RangeError(`preview polls must be a non-negative integer, got ${polls}`);
    }
    this.#store.lifecycle.previewPolls = polls;
  }

  // ---- lifecycle ----

  /** Stops listening and ends every connection at once, hung and keep-alive ones included. */
  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#listeners.clear();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  // ---- request path ----

  #receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const text = size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined;
      this.#dispatch(req, res, text);
    });
  }

  #dispatch(req: IncomingMessage, res: ServerResponse, text: string | undefined): void {
    const operation = operationFromTarget(header(req, 'x-amz-target')) ?? '';
    const region = regionFromAuthorization(header(req, 'authorization'));
    let body: Body | undefined;
    let bodyError: EcrApiError | undefined;
    try {
      if (text === undefined) throw serializationError('Request body too large');
      body = parseBody(text);
    } catch (error) {
      bodyError = error as EcrApiError;
    }
    const call = this.#record(
      operation,
      region,
      body,
      accessKeyFromAuthorization(header(req, 'authorization')),
    );
    const fault = this.#faults.take(operation, region ?? '');
    if (fault?.kind === 'hang') {
      this.#finish(call, 'hung');
      return;
    }
    const answer = (): void => {
      const failure = fault ? faultError(fault) : undefined;
      if (fault?.kind === 'malformed') {
        sendMalformed(res);
        this.#finish(call, 'malformed', 200);
        return;
      }
      if (failure) {
        sendError(res, failure);
        this.#finish(call, fault?.kind === 'throttle' ? 'throttled' : 'failed', failure.status, failure.type);
        return;
      }
      try {
        const result = this.#handle(req.method, operation, region, body, bodyError);
        sendResult(res, result);
        this.#finish(call, 'ok', 200);
      } catch (error) {
        const apiError =
          error instanceof EcrApiError ? error : new EcrApiError('ServerException', String(error), 500);
        sendError(res, apiError);
        this.#finish(call, 'error', apiError.status, apiError.type);
      }
    };
    if (this.#latencyMs <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      answer();
    }, this.#latencyMs);
    this.#timers.add(timer);
  }

  /** The checks a request passes before its operation runs, in the service's order. */
  #handle(
    method: string | undefined,
    operation: string,
    region: string | undefined,
    body: Body | undefined,
    bodyError: EcrApiError | undefined,
  ): unknown {
    if (method !== 'POST' || !isSimulatedOperation(operation)) throw unknownOperation(operation);
    if (region === undefined) throw missingAuthentication();
    if (bodyError || body === undefined) throw bodyError ?? serializationError('Missing request body');
    const ctx: OperationContext = { store: this.#store, region, clock: this.#clock };
    return OPERATIONS[operation](body, ctx);
  }

  #record(
    operation: string,
    region: string | undefined,
    body: Body | undefined,
    accessKeyId?: string,
  ): SimCall {
    this.#seq += 1;
    const call: SimCall = {
      seq: this.#seq,
      operation,
      region,
      accessKeyId,
      body,
      receivedAt: this.#clock(),
      outcome: 'pending',
    };
    this.#counts.total += 1;
    bump(this.#counts.byOperation, operation);
    if (region !== undefined) bump(this.#counts.byRegion, region);
    this.#calls.push(call);
    if (this.#calls.length > this.#callLogLimit) this.#calls.shift();
    for (const listener of [...this.#listeners]) listener(call);
    return call;
  }

  #finish(call: SimCall, outcome: CallOutcome, status?: number, errorType?: string): void {
    call.outcome = outcome;
    if (status !== undefined) call.status = status;
    if (errorType !== undefined) call.errorType = errorType;
    bump(this.#counts.byOutcome, outcome);
  }
}

function faultError(fault: Fault): EcrApiError | undefined {
  if (fault.kind === 'throttle') return throttled();
  if (fault.kind === 'error') return new EcrApiError(fault.type, fault.message, fault.status);
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function emptyCounts(): RequestCounts {
  return { total: 0, byOperation: {}, byRegion: {}, byOutcome: {} };
}

/** Starts a simulator seeded from `options.scenario` and resolves once it listens. */
export async function startEcrSimulator(options: EcrSimulatorOptions): Promise<EcrSimulator> {
  const clock = options.clock ?? (() => new Date());
  const store = new EcrStore(options.scenario, clock);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new EcrSimulator(server, store, { ...options, clock });
}
