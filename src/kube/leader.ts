import type { KubeConfig, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { answerWithin } from '../util/answer-within.ts';
import { type Logger, silentLogger } from '../log.ts';
import { KeptConnection } from './kept-connection.ts';
import { apiPath, KubeRest, microTime } from './rest.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  leaseName: string;
  identity: string;
  /** client-go's defaults: a follower may take over 15 s after the last renewal… */
  leaseDurationMs?: number;
  /** …the leader gives up if it cannot renew for 10 s (before anyone else may take over)… */
  renewDeadlineMs?: number;
  /** …and every replica tries every 2 s. */
  retryPeriodMs?: number;
  log?: Logger;
  now?: () => number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/**
 * What one attempt found: we hold the lease, someone else does, the apiserver did not say (an error),
 * or it did not answer within the time the attempt had.
 */
type AttemptOutcome = 'leading' | 'held-by-other' | 'failed' | 'timed-out';

/**
 * A coordination.k8s.io/v1 Lease as JSON: client-node's V1Lease, but its MicroTimes are the strings
 * the apiserver sends (V1MicroTime was a Date). Fields the controller does not name (metadata the
 * apiserver keeps, spec fields of newer versions) are kept as read and written back.
 */
type Lease = Omit<V1Lease, 'metadata' | 'spec'> & {
  metadata?: { name?: string; namespace?: string };
  spec?: Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string };
};

function status(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection: acquire a
 * lease that is free or expired (optimistic concurrency through resourceVersion: a 409 means someone
 * else won the race), renew every retry period, step down when renewals fail for the renew deadline,
 * and release the lease on shutdown so a successor need not wait for it to expire.
 *
 * The renew deadline is counted from the last successful renewal, as client-go's renew loop does
 * (leaderelection.go, renew(): one context of RenewDeadline covers every retry of a round): each
 * attempt gets what is left of it, `lastRenew + renewDeadline − now`, so fast failures followed by a
 * silent apiserver cannot stretch leadership past the deadline, and the deadline is shorter than the
 * lease. client-go starts that context when a round starts, a retry period after the last success;
 * here it starts at the last success itself (the moment its request was sent, which is no later than
 * any follower can have seen the renewal), which is stricter by a retry period.
 *
 * Every request goes over one kept-alive connection (KeptConnection) instead of a new TLS connection
 * per call.
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'log' | 'now'>> & { log: Logger; now: () => number };
  readonly #api: KubeRest;
  readonly #connection: KeptConnection;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #lastRenew = 0;
  #observed: Lease | null = null;
  /** The lease's spec as last read, to notice when it changes… */
  #observedRecord = '';
  /** …and when, on this replica's clock: expiry is judged from here, never from times in the lease. */
  #observedAt = 0;
  #running: Promise<void> | null = null;
  #generation = 0;

  constructor(options: LeaderElectionOptions) {
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...options,
      log: (options.log ?? silentLogger).child({ component: 'leader-election', lease: options.leaseName }),
      now: options.now ?? Date.now,
    };
    this.#connection = new KeptConnection(options.kubeConfig);
    this.#api = new KubeRest(this.#connection);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#stopped = false;
    this.#tick();
  }

  /** Stops trying; a leader releases the lease (SIGTERM) so a successor takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    if (this.#leading) {
      await this.#release();
      this.#setLeading(false);
    }
    this.#connection.reset();
  }

  /** Milliseconds left of the renew deadline since the last successful renewal (leader only). */
  #renewTimeLeft(): number {
    return this.#lastRenew + this.#o.renewDeadlineMs - this.#o.now();
  }

  #tick(): void {
    if (this.#stopped) return;
    // Each attempt has a generation: an attempt given up at the renew deadline may still finish
    // later, and its answer must not act (make this replica leader after stop(), say).
    const generation = ++this.#generation;
    const started = this.#o.now();
    // A follower's attempt is bounded by the renew deadline too, so that a silent apiserver cannot
    // hold its loop; a leader's by what is left of it.
    const budget = this.#leading ? this.#renewTimeLeft() : this.#o.renewDeadlineMs;
    if (budget <= 0) {
      this.#stepDown();
      this.#schedule(this.#o.retryPeriodMs);
      return;
    }
    this.#running = this.#attemptWithin(budget)
      .then((outcome) => {
        if (this.#stopped || generation !== this.#generation) return;
        if (outcome === 'leading') {
          this.#lastRenew = started;
          this.#setLeading(true);
        } else if (outcome === 'held-by-other') {
          this.#setLeading(false);
        } else if (this.#leading && (outcome === 'timed-out' || this.#renewTimeLeft() <= 0)) {
          // A timed-out leader's attempt had exactly what was left of the deadline: it is up.
          this.#stepDown();
        }
      })
      .finally(() => {
        if (this.#stopped) return;
        // A leader retries every retry period, but never later than its deadline, where it steps down.
        const next = this.#leading
          ? Math.max(0, Math.min(this.#o.retryPeriodMs, this.#renewTimeLeft()))
          : this.#o.retryPeriodMs;
        this.#schedule(next);
      });
  }

  #schedule(ms: number): void {
    if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), ms);
  }

  #stepDown(): void {
    if (!this.#leading) return;
    this.#o.log.warn('could not renew the lease within the renew deadline; stepping down');
    this.#setLeading(false);
  }

  /**
   * One attempt, given up after `ms` and its requests aborted: a request waits minutes on a silent
   * apiserver, and a leader must step down within its renew deadline — before a follower may take
   * over — or two replicas would run the inventory.
   */
  async #attemptWithin(ms: number): Promise<AttemptOutcome> {
    const abort = new AbortController();
    this.#connection.signal = abort.signal;
    try {
      return await answerWithin(this.#tryAcquireOrRenew(abort.signal), ms, (): AttemptOutcome => {
        abort.abort();
        return 'timed-out';
      });
    } finally {
      if (this.#connection.signal === abort.signal) this.#connection.signal = undefined;
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#o.log.info({ identity: this.#o.identity }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  /**
   * One round of client-go's tryAcquireOrRenew: whether we hold the lease afterwards, or who does.
   * Once `signal` is aborted (the attempt's time is up) it makes no further request.
   */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<AttemptOutcome> {
    const { namespace, leaseName: name, identity } = this.#o;
    const now = microTime(this.#o.now());
    const leaseDurationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.#api.get<Lease>(leasePath(namespace, name));
    } catch (err) {
      if (status(err) !== 404) return this.#failed(err, 'cannot read the lease', signal);
      if (signal.aborted) return 'failed';
      try {
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        };
        this.#observed = await this.#api.create<Lease>(leasePath(namespace), body);
        return 'leading';
      } catch (createErr) {
        // 409: another replica created it first.
        if (status(createErr) === 409) return 'failed';
        return this.#failed(createErr, 'cannot create the lease', signal);
      }
    }

    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const heldByOther = holder !== '' && holder !== identity;
    // As client-go: the renew time in the lease was written by another node's clock, which may be
    // skewed by any amount, so a lease expires leaseDuration after this replica last saw it change.
    const record = JSON.stringify(spec);
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = this.#o.now();
    }
    if (heldByOther && this.#observedAt + durationMs > this.#o.now()) {
      this.#observed = lease;
      return 'held-by-other';
    }
    const takingOver = holder !== identity;
    if (signal.aborted) return 'failed';
    try {
      this.#observed = await this.#api.replace<Lease>(leasePath(namespace, name), {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: now,
          acquireTime: takingOver ? now : spec.acquireTime,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
        },
      });
    } catch (err) {
      // 409: someone updated the lease since we read it (another replica won, or renewed).
      if (status(err) === 409) return 'failed';
      return this.#failed(err, 'cannot update the lease', signal);
    }
    return 'leading';
  }

  /**
   * A request that failed. One aborted because the attempt's time was up says nothing new; one that
   * got no HTTP answer at all (refused, reset, TLS) leaves the kept connection behind, so the next
   * request starts from the kubeconfig afresh.
   */
  #failed(err: unknown, what: string, signal: AbortSignal): AttemptOutcome {
    if (signal.aborted) return 'failed';
    if (status(err) === undefined) this.#connection.reset();
    this.#o.log.warn({ err }, what);
    return 'failed';
  }

  async #release(): Promise<void> {
    const lease = this.#observed;
    if (!lease?.metadata?.name) return;
    try {
      await this.#api.replace(leasePath(this.#o.namespace, this.#o.leaseName), {
        ...lease,
        // As client-go: no holder and a 1 s duration, so any replica may take it immediately.
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(this.#o.now()),
        },
      });
      this.#o.log.info('lease released');
    } catch (err) {
      this.#o.log.warn({ err }, 'could not release the lease; it will expire');
    }
  }
}

function leasePath(namespace: string, name?: string): string {
  const leases = apiPath`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  return name === undefined ? leases : leases + apiPath`/${name}`;
}
