import assert from 'node:assert/strict';
import { request } from 'node:https';
import { ApiException, type EventsV1Event, V1MicroTime, Watch } from '@kubernetes/client-node';
import { type KubeSimulator, type KubeSimulatorOptions, startKubeSimulator } from '../sim/kube/index.ts';

/** Shared by the simulator's Events and custom-resource tests. */

export async function withSim<T>(
  options: KubeSimulatorOptions,
  fn: (sim: KubeSimulator) => Promise<T>,
): Promise<T> {
  const sim = await startKubeSimulator(options);
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

export interface Status {
  kind: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: {
    name?: string;
    kind?: string;
    group?: string;
    causes?: Array<{ reason?: string; message: string; field?: string }>;
  };
}

/** The Status body and HTTP code of a failed client-node call. */
export async function failure(call: Promise<unknown>): Promise<Status & { httpCode: number }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { ...(body as Status), httpCode: err.code };
  }
  assert.fail('the call succeeded');
}

/** The fields a 422 names, in order. */
export function causeFields(status: Status): string[] {
  return (status.details?.causes ?? []).map((c) => c.field ?? '');
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTPS request to the simulator, trusting its CA. */
export function raw(
  sim: KubeSimulator,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}${path}`, { method, headers, ca: sim.caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export interface WatchEvent {
  type: string;
  object: Record<string, unknown> & { metadata?: { name?: string; resourceVersion?: string } };
}

/** Collects the events of one client-node Watch; `more(n)` waits for the next n. */
export class WatchEvents {
  readonly seen: WatchEvent[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  private endResolve!: (err: unknown) => void;
  readonly ended: Promise<unknown> = new Promise((resolve) => {
    this.endResolve = resolve;
  });
  private controller: AbortController | undefined;

  static async open(
    sim: KubeSimulator,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<WatchEvents> {
    const events = new WatchEvents();
    events.controller = await new Watch(sim.kubeConfig()).watch(
      path,
      { resourceVersion: sim.resourceVersion(), ...query },
      (type, object) => events.push({ type, object }),
      (err) => events.endResolve(err),
    );
    return events;
  }

  private push(event: WatchEvent): void {
    this.seen.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (this.seen.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  async more(n: number): Promise<WatchEvent[]> {
    const from = this.seen.length;
    if (this.seen.length < from + n) {
      await new Promise<void>((resolve) => this.waiters.push({ count: from + n, resolve }));
    }
    return this.seen.slice(from, from + n);
  }

  /** Resolves once `count` events have arrived in total. */
  async atLeast(count: number): Promise<WatchEvent[]> {
    if (this.seen.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.seen;
  }

  stop(): void {
    this.controller?.abort();
  }
}

export function summary(events: readonly WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`.trim());
}

/** A fixed instant, so timestamps in assertions are exact. */
export const T0 = Date.parse('2025-06-01T12:00:00Z');

/** A settable clock for the simulator (epoch milliseconds). */
export class TestClock {
  ms: number;

  constructor(start = T0) {
    this.ms = start;
  }

  readonly now = (): number => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface EventInput {
  name?: string;
  namespace?: string;
  pod?: string;
  podUid?: string;
  reason?: string;
  note?: string;
  /** Epoch milliseconds; written with six fractional digits as V1MicroTime does. */
  eventTime?: number;
}

/** An events.k8s.io/v1 Event about a pod, as an event recorder writes one. */
export function eventBody(input: EventInput = {}): EventsV1Event {
  const namespace = input.namespace ?? 'default';
  const pod = input.pod ?? 'api-0';
  return {
    metadata: { name: input.name ?? `${pod}.1`, namespace },
    eventTime: new V1MicroTime(input.eventTime ?? T0),
    reportingController: 'ecr-warden.io/controller',
    reportingInstance: 'ecr-warden-7d9f-abcde',
    action: 'Evaluate',
    reason: input.reason ?? 'ImagePolicyViolation',
    type: 'Warning',
    note: input.note ?? 'container api: image api:v7 fails check critical-findings',
    regarding: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace,
      name: pod,
      ...(input.podUid ? { uid: input.podUid } : {}),
    },
  };
}
