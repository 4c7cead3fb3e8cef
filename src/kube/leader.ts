import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { answerWithin } from '../deadline.ts';
import { type Logger, silentLogger } from '../log.ts';

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

/** What one attempt found: we hold the lease, someone else does, or the apiserver did not say. */
type AttemptOutcome = 'leading' | 'held-by-other' | 'failed';

function status(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection: acquire a
 * lease that is free or expired (optimistic concurrency through resourceVersion: a 409 means someone
 * else won the race), renew every retry period, step down when renewals fail for the renew deadline,
 * and release the lease on shutdown so a successor need not wait for it to expire.
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'log' | 'now'>> & { log: Logger; now: () => number };
  readonly #api: CoordinationV1Api;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #lastRenew = 0;
  #observed: V1Lease | null = null;
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
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
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
  }

  #tick(): void {
    if (this.#stopped) return;
    // Each attempt has a generation: an attempt given up at the renew deadline may still finish
    // later, and its answer must not act (make this replica leader after stop(), say).
    const generation = ++this.#generation;
    this.#running = this.#attemptWithin(this.#o.renewDeadlineMs)
      .then((outcome) => {
        if (this.#stopped || generation !== this.#generation) return;
        const now = this.#o.now();
        if (outcome === 'leading') {
          this.#lastRenew = now;
          this.#setLeading(true);
        } else if (outcome === 'held-by-other') {
          this.#setLeading(false);
        } else if (this.#leading && now - this.#lastRenew >= this.#o.renewDeadlineMs) {
          this.#o.log.warn('could not renew the lease before the renew deadline; stepping down');
          this.#setLeading(false);
        }
      })
      .finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.#o.retryPeriodMs);
      });
  }

  /**
   * One attempt, given up as failed after `ms`: client-node's requests wait minutes on a silent
   * apiserver, and a leader must step down within its renew deadline — before a follower may take
   * over — or two replicas would run the inventory. (client-go bounds each renew the same way.)
   */
  #attemptWithin(ms: number): Promise<AttemptOutcome> {
    return answerWithin(this.#tryAcquireOrRenew(), ms, (): AttemptOutcome => 'failed');
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#o.log.info({ identity: this.#o.identity }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  /** One round of client-go's tryAcquireOrRenew: whether we hold the lease afterwards, or who does. */
  async #tryAcquireOrRenew(): Promise<AttemptOutcome> {
    const { namespace, leaseName: name, identity } = this.#o;
    const now = new V1MicroTime(this.#o.now());
    const leaseDurationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (status(err) !== 404) {
        this.#o.log.warn({ err }, 'cannot read the lease');
        return 'failed';
      }
      try {
        this.#observed = await this.#api.createNamespacedLease({
          namespace,
          body: {
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
          },
        });
        return 'leading';
      } catch (createErr) {
        if (status(createErr) !== 409) this.#o.log.warn({ err: createErr }, 'cannot create the lease');
        return 'failed';
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
    try {
      this.#observed = await this.#api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds,
            renewTime: now,
            acquireTime: takingOver ? now : spec.acquireTime,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
          },
        },
      });
    } catch (err) {
      // 409: someone updated the lease since we read it (another replica won, or renewed).
      if (status(err) !== 409) this.#o.log.warn({ err }, 'cannot update the lease');
      return 'failed';
    }
    return 'leading';
  }

  async #release(): Promise<void> {
    const lease = this.#observed;
    if (!lease?.metadata?.name) return;
    try {
      await this.#api.replaceNamespacedLease({
        name: this.#o.leaseName,
        namespace: this.#o.namespace,
        body: {
          ...lease,
          // As client-go: no holder and a 1 s duration, so any replica may take it immediately.
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(this.#o.now()),
          },
        },
      });
      this.#o.log.info('lease released');
    } catch (err) {
      this.#o.log.warn({ err }, 'could not release the lease; it will expire');
    }
  }
}
