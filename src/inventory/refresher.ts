import type { Config } from '../config/types.ts';
import type { Resolver } from '../ecr/resolver.ts';
import { type ImageFacts, type Resolution, repositoryKey } from '../ecr/types.ts';
import type { Forecaster } from '../lifecycle/forecaster.ts';
import type { KeepAlive } from '../lifecycle/keepalive.ts';
import type { Logger } from '../log.ts';
import type { ImageEntry, ImageListener, PodStore } from './pod-store.ts';
import { compareStrings } from '../util/compare.ts';

/** Images resolved at once by a refresh: five DescribeImages batches' worth. */
const REFRESH_WAVE = 500;

export interface RefresherOptions {
  config: Config;
  store: PodStore;
  resolver: Resolver;
  /** The lifecycle forecast; null with lifecycle.enabled off. */
  forecaster: Forecaster | null;
  /** Keep-alive reads; null with lifecycle.keepAlive off. */
  keepAlive: KeepAlive | null;
  log: Logger;
  /** Learn whether tags are immutable too (report, digestRequired.acceptImmutableTags). */
  tagMutability: boolean;
  /** The shortest wait before an unresolved image is asked again (default 5 s; tests shorten it). */
  minRetryMs?: number;
}

/**
 * Keeps what the store's images are known to be current: each new image resolved at once (a whole
 * list's worth asked together, so the resolver batches per repository), every image again each
 * ecr.refreshInterval (paced in waves, jittered), an image that could not be resolved asked again
 * after negativeTTL on one retry chain of its own, and the lifecycle forecast made for new answers and
 * remade for all each lifecycle.refreshInterval, with keep-alive reads after it.
 */
export class Refresher implements ImageListener {
  readonly #config: Config;
  readonly #store: PodStore;
  readonly #resolver: Resolver;
  readonly #forecaster: Forecaster | null;
  readonly #keepAlive: KeepAlive | null;
  readonly #log: Logger;
  readonly #tagMutability: boolean;
  readonly #minRetryMs: number;
  #toResolve = new Set<ImageEntry>();
  #resolveScheduled = false;
  readonly #pending = new Set<Promise<void>>();
  #running = false;
  #refreshTimer: NodeJS.Timeout | null = null;
  #lifecycleTimer: NodeJS.Timeout | null = null;
  #refreshing = false;
  /** At most one pending retry per image: a retry's own failure must not start a second chain. */
  readonly #retryTimers = new Map<ImageEntry, NodeJS.Timeout>();

  constructor(options: RefresherOptions) {
    this.#config = options.config;
    this.#store = options.store;
    this.#resolver = options.resolver;
    this.#forecaster = options.forecaster;
    this.#keepAlive = options.keepAlive;
    this.#log = options.log.child({ component: 'refresher' });
    this.#tagMutability = options.tagMutability;
    this.#minRetryMs = options.minRetryMs ?? 5_000;
  }

  // ── ImageListener ────────────────────────────────────────────────────────────────────────

  added(entry: ImageEntry): void {
    this.#queueResolve(entry);
  }

  removed(entry: ImageEntry): void {
    const timer = this.#retryTimers.get(entry);
    if (timer) clearTimeout(timer);
    this.#retryTimers.delete(entry);
  }

  // ── schedules ────────────────────────────────────────────────────────────────────────────

  /** Refreshes on ecr.refreshInterval and lifecycle.refreshInterval, and retries unresolved images. */
  start(): void {
    this.stop();
    this.#running = true;
    this.#every(
      this.#config.ecr.refreshInterval,
      () => this.refresh(),
      (timer) => {
        this.#refreshTimer = timer;
      },
    );
    if (this.#forecaster) {
      this.#every(
        this.#config.lifecycle.refreshInterval,
        () => this.refreshLifecycle(),
        (timer) => {
          this.#lifecycleTimer = timer;
        },
      );
    }
  }

  stop(): void {
    this.#running = false;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    if (this.#lifecycleTimer) clearTimeout(this.#lifecycleTimer);
    this.#refreshTimer = this.#lifecycleTimer = null;
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
  }

  /**
   * Runs `work` every `intervalMs` ± 10 %: jittered, so replicas started together and a fleet of
   * controllers do not ask ECR in step; a run still going is never joined by a second.
   */
  #every(intervalMs: number, work: () => Promise<void>, keep: (timer: NodeJS.Timeout) => void): void {
    const schedule = () => {
      const timer = setTimeout(
        () => {
          if (!this.#running) return;
          void work()
            .catch((err: unknown) => this.#log.error({ err }, 'a scheduled refresh failed'))
            .finally(() => {
              if (this.#running) schedule();
            });
        },
        intervalMs * (0.9 + Math.random() * 0.2),
      );
      timer.unref();
      keep(timer);
    };
    schedule();
  }

  // ── resolution ───────────────────────────────────────────────────────────────────────────

  /**
   * Re-resolves every ECR image in use (answers still within their TTL come from the cache), paced:
   * a wave of REFRESH_WAVE images at a time, in repository order so each repository's images share
   * their batched calls, the next wave once the last has answered. The bulk lane's queue stays short,
   * and the webhook's lookups have their own lane besides (SPEC section 4, "Admission first").
   */
  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      const entries = [...this.#store.images()].sort((a, b) =>
        compareStrings(repositoryOf(a), repositoryOf(b)),
      );
      for (let i = 0; i < entries.length; i += REFRESH_WAVE) {
        for (const entry of entries.slice(i, i + REFRESH_WAVE)) this.#queueResolve(entry);
        await this.settled();
      }
    } finally {
      this.#refreshing = false;
    }
    // Staleness and the age checks change with the clock alone, with no pod or ECR answer changing:
    // the metrics rendered from a version would otherwise keep yesterday's verdicts until some
    // unrelated change. Re-judging once per refresh is plenty for ages counted in days.
    this.#store.changed();
  }

  /** Resolves once every lookup queued so far has answered (and its forecast been made). */
  async settled(): Promise<void> {
    while (this.#toResolve.size || this.#pending.size) {
      if (this.#toResolve.size) this.#flushResolves();
      await Promise.all(this.#pending);
    }
  }

  #queueResolve(entry: ImageEntry): void {
    if (!entry.parsed.ok || !entry.parsed.ref.ecr) return;
    this.#toResolve.add(entry);
    if (!this.#resolveScheduled) {
      this.#resolveScheduled = true;
      // Collect a whole list's worth of new images, then ask once: the resolver batches per repository.
      setImmediate(() => this.#flushResolves());
    }
  }

  #flushResolves(): void {
    this.#resolveScheduled = false;
    const batch = [...this.#toResolve];
    this.#toResolve = new Set();
    if (!batch.length) return;
    this.#track(
      (async () => {
        const changed: ImageEntry[] = [];
        await Promise.all(
          batch.map(async (entry) => {
            if (!entry.parsed.ok) return;
            const resolution = await this.#resolver.resolveOne(entry.parsed.ref, {
              lane: 'bulk',
              tagMutability: this.#tagMutability,
            });
            if (!this.#store.holds(entry)) return; // left the inventory while ECR was answering
            if (!sameResolution(entry.resolution, resolution)) {
              entry.resolution = resolution;
              changed.push(entry);
            }
            // A scan whose findings could not be read (a throttled findings call) is as good as
            // unresolved for the policy: asked again on the same schedule, not kept until the next refresh.
            if (resolution.status === 'unresolved' || resolution.facts.scanError !== null)
              this.#retryLater(entry);
          }),
        );
        // New answers get their lifecycle forecast from the policies at hand (read once per interval).
        const toForecast = changed.filter(
          (e) => e.resolution?.status === 'resolved' || e.lifecycle !== undefined,
        );
        if (this.#forecaster && toForecast.length) await this.#forecast(toForecast);
        if (changed.length) this.#store.changed();
      })(),
    );
  }

  /**
   * An image ECR could not resolve is asked again once its negative answer has expired (at least
   * minRetryMs, at most refreshInterval later), so a fixed tag or a recovered ECR shows within about
   * negativeTTL instead of a whole refresh interval. Only while the schedules run (`serve`).
   */
  #retryLater(entry: ImageEntry): void {
    if (!this.#running || this.#retryTimers.has(entry)) return;
    const { negativeTTL, refreshInterval } = this.#config.ecr;
    const delay = Math.min(refreshInterval, Math.max(negativeTTL, this.#minRetryMs));
    const timer = setTimeout(() => {
      this.#retryTimers.delete(entry);
      if (this.#store.holds(entry)) this.#queueResolve(entry);
    }, delay);
    timer.unref();
    this.#retryTimers.set(entry, timer);
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────

  /**
   * Reads every repository's lifecycle policy again (SPEC section 10: on lifecycle.refreshInterval),
   * forecasts every image in use, then keeps alive those a sinceImagePulled rule would archive soon.
   */
  async refreshLifecycle(): Promise<void> {
    if (!this.#forecaster) return;
    await this.settled();
    this.#forecaster.expire();
    const entries = [...this.#store.images()].filter((e) => e.resolution?.status === 'resolved');
    await this.#forecast(entries);
    this.#store.changed();
    if (this.#keepAlive) {
      const items = entries
        .filter((e) => this.#store.holds(e) && e.resolution?.status === 'resolved')
        .map((e) => ({ facts: (e.resolution as { facts: ImageFacts }).facts, forecast: e.lifecycle }));
      await this.#keepAlive.keepAlive(items);
    }
  }

  async #forecast(entries: readonly ImageEntry[]): Promise<void> {
    const resolved = entries.filter((e) => e.resolution?.status === 'resolved');
    for (const entry of entries) if (entry.resolution?.status !== 'resolved') entry.lifecycle = undefined;
    if (!resolved.length || !this.#forecaster) return;
    const facts = resolved.map((e) => (e.resolution as { facts: ImageFacts }).facts);
    const answers = await this.#forecaster.forecastMany(facts, 'bulk');
    resolved.forEach((entry, i) => {
      entry.lifecycle = answers[i];
    });
  }

  #track(work: Promise<void>): void {
    const guarded = work.catch((err: unknown) => this.#log.error({ err }, 'resolution failed unexpectedly'));
    this.#pending.add(guarded);
    void guarded.finally(() => this.#pending.delete(guarded));
  }
}

function repositoryOf(entry: ImageEntry): string {
  const ecr = entry.parsed.ok ? entry.parsed.ref.ecr : null;
  return ecr ? repositoryKey(ecr, ecr.repository) : '';
}

/** Same answer as before? Then nothing changes for metrics (a refresh of an unchanged image is quiet). */
function sameResolution(a: Resolution | null, b: Resolution): boolean {
  if (!a || a.status !== b.status) return false;
  if (a.status === 'unresolved' || b.status === 'unresolved') {
    return a.status === 'unresolved' && b.status === 'unresolved' && a.reason === b.reason;
  }
  const x = a.facts;
  const y = b.facts;
  return (
    x.digest === y.digest &&
    x.imageStatus === y.imageStatus &&
    x.lastRecordedPullTime?.getTime() === y.lastRecordedPullTime?.getTime() &&
    x.lastArchivedAt?.getTime() === y.lastArchivedAt?.getTime() &&
    x.tags.join(',') === y.tags.join(',') &&
    x.scan?.status === y.scan?.status &&
    x.scan?.completedAt?.getTime() === y.scan?.completedAt?.getTime() &&
    JSON.stringify(x.scan?.findings) === JSON.stringify(y.scan?.findings) &&
    x.scanError === y.scanError &&
    x.tagImmutable === y.tagImmutable &&
    x.index?.platforms?.length === y.index?.platforms?.length &&
    x.index?.error === y.index?.error
  );
}
