import type { Assessor, ImageAssessment } from '../assessor.ts';
import type { Config } from '../config/types.ts';
import type { Resolver } from '../ecr/resolver.ts';
import type { Resolution } from '../ecr/types.ts';
import { needsTagMutability } from '../policy/evaluate.ts';
import { parseImageReference } from '../images/reference.ts';
import type { ParseResult } from '../images/types.ts';
import type { PodSink } from '../kube/pod-watcher.ts';
import type { TrackedContainer, TrackedPod } from '../kube/trim.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { ImageSeriesRow, ImageSeriesSource, UnresolvedRow, ViolationRow } from '../metrics/images.ts';

/** One distinct image reference in use, with the containers that use it counted, never listed. */
interface ImageEntry {
  image: string;
  parsed: ParseResult;
  containers: number;
  /** Containers per running digest (null: not started yet or not comparable), for drift. */
  running: Map<string | null, number>;
  /** Containers per namespace, for the policy verdict, which depends on the namespace. */
  namespaces: Map<string, number>;
  resolution: Resolution | null;
}

/** One container of a tracked pod as `report` shows it (SPEC section 7's report element). */
export interface ContainerRow {
  namespace: string;
  pod: string;
  container: TrackedContainer;
  assessment: ImageAssessment;
  runningDigest: string | null;
  drift: boolean;
  stale: boolean;
}

export interface InventoryOptions {
  config: Config;
  resolver: Resolver;
  assessor: Assessor;
  log?: Logger;
  now?: () => number;
  /** The shortest wait before an unresolved image is asked again (default 5 s; tests shorten it). */
  minRetryMs?: number;
  /** Called when pod or image counts change (the pods_tracked / images_tracked gauges). */
  onCounts?: (pods: number, images: number) => void;
  /** Learn every fact ECR gives, the tags' mutability included (`report` shows them all). */
  allFacts?: boolean;
}

/**
 * The live inventory of SPEC section 5: every container of every tracked pod, aggregated per distinct
 * image; each ECR image resolved through the shared resolver (new images at once, all of them every
 * ecr.refreshInterval); drift, staleness and policy violations derived on demand. It is the pod
 * watcher's sink and the per-image metrics' source.
 */
export class Inventory implements PodSink, ImageSeriesSource {
  readonly #config: Config;
  readonly #resolver: Resolver;
  readonly #assessor: Assessor;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #onCounts: InventoryOptions['onCounts'];
  readonly #minRetryMs: number;
  readonly #tagMutability: boolean;
  readonly #pods = new Map<string, TrackedPod>();
  readonly #images = new Map<string, ImageEntry>();
  readonly #excluded: ReadonlySet<string>;
  #version = 0;
  #toResolve = new Set<ImageEntry>();
  #resolveScheduled = false;
  #pendingResolutions = new Set<Promise<void>>();
  #refreshTimer: NodeJS.Timeout | null = null;
  #refreshing = false;
  /** At most one pending retry per image: a retry's own failure must not start a second chain. */
  readonly #retryTimers = new Map<ImageEntry, NodeJS.Timeout>();
  #violationsCache: { version: number; rows: ViolationRow[] } | null = null;

  constructor(options: InventoryOptions) {
    this.#config = options.config;
    this.#resolver = options.resolver;
    this.#assessor = options.assessor;
    this.#log = (options.log ?? silentLogger).child({ component: 'inventory' });
    this.#now = options.now ?? Date.now;
    this.#onCounts = options.onCounts;
    this.#minRetryMs = options.minRetryMs ?? 5_000;
    this.#tagMutability = options.allFacts === true || needsTagMutability(options.config.policy);
    this.#excluded = new Set(options.config.namespaces.exclude);
  }

  get podCount(): number {
    return this.#pods.size;
  }

  get imageCount(): number {
    return this.#images.size;
  }

  version(): number {
    return this.#version;
  }

  // ── PodSink ──────────────────────────────────────────────────────────────────────────────

  /**
   * A finished pod (phase Succeeded or Failed) runs nothing: it is not tracked at all, so it counts in
   * no per-image figure, drift or violation, and `report` leaves it out (SPEC section 5). A pod that
   * finishes while tracked is dropped like a deleted one.
   */
  replaceAll(pods: TrackedPod[], scope: string | null): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      if (!this.#inScope(pod.namespace) || pod.finished) continue;
      const key = podKey(pod.namespace, pod.name);
      seen.add(key);
      this.#put(key, pod);
    }
    // A relist is the truth: whatever it no longer holds was deleted while we were not watching.
    for (const [key, pod] of this.#pods) {
      if (seen.has(key) || (scope !== null && pod.namespace !== scope)) continue;
      this.#drop(key);
    }
    this.#changed();
  }

  upsert(pod: TrackedPod): void {
    const key = podKey(pod.namespace, pod.name);
    if (!this.#inScope(pod.namespace)) return;
    if (pod.finished) this.remove(pod.namespace, pod.name);
    else if (this.#put(key, pod)) this.#changed();
  }

  remove(namespace: string, name: string): void {
    if (this.#drop(podKey(namespace, name))) this.#changed();
  }

  // ── resolution ───────────────────────────────────────────────────────────────────────────

  /** Resolves new images right away and every image each ecr.refreshInterval. */
  startRefresh(): void {
    this.stopRefresh();
    this.#scheduleRefresh();
  }

  /**
   * The next refresh, ecr.refreshInterval ± 10 % from now: jittered, so replicas started together
   * and a fleet of controllers do not ask ECR in step; and a refresh still running is never joined
   * by a second.
   */
  #scheduleRefresh(): void {
    const delay = this.#config.ecr.refreshInterval * (0.9 + Math.random() * 0.2);
    this.#refreshTimer = setTimeout(() => {
      if (this.#refreshing) return this.#scheduleRefresh();
      this.#refreshing = true;
      void this.refresh().finally(() => {
        this.#refreshing = false;
        if (this.#refreshTimer) this.#scheduleRefresh();
      });
    }, delay);
    this.#refreshTimer.unref();
  }

  stopRefresh(): void {
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
  }

  /**
   * An image ECR could not resolve is asked again once its negative answer has expired (at least
   * 5 s, at most refreshInterval later), so a fixed tag or a recovered ECR shows within about
   * negativeTTL instead of a whole refresh interval. Only while the refresh runs (`serve`).
   */
  #retryLater(entry: ImageEntry): void {
    if (!this.#refreshTimer || this.#retryTimers.has(entry)) return;
    const { negativeTTL, refreshInterval } = this.#config.ecr;
    const delay = Math.min(refreshInterval, Math.max(negativeTTL, this.#minRetryMs));
    const timer = setTimeout(() => {
      this.#retryTimers.delete(entry);
      if (this.#images.get(entry.image) === entry) this.#queueResolve(entry);
    }, delay);
    timer.unref();
    this.#retryTimers.set(entry, timer);
  }

  /**
   * Re-resolves every ECR image in use (answers still within their TTL come from the cache), paced:
   * a wave of REFRESH_WAVE images at a time, in repository order so each repository's images share
   * their batched calls, the next wave once the last has answered. The bulk lane's queue stays short,
   * and the webhook's lookups have their own lane besides (SPEC section 4, "Admission first").
   */
  async refresh(): Promise<void> {
    const entries = [...this.#images.values()].sort((a, b) => repositoryOf(a).localeCompare(repositoryOf(b)));
    for (let i = 0; i < entries.length; i += REFRESH_WAVE) {
      for (const entry of entries.slice(i, i + REFRESH_WAVE)) this.#queueResolve(entry);
      await this.settled();
    }
    // Staleness and the age checks change with the clock alone, with no pod or ECR answer changing:
    // the metrics rendered from a version would otherwise keep yesterday's verdicts until some
    // unrelated change. Re-judging once per refresh is plenty for ages counted in days.
    this.#changed();
  }

  /** Resolves once every lookup queued so far has answered. */
  async settled(): Promise<void> {
    while (this.#toResolve.size || this.#pendingResolutions.size) {
      if (this.#toResolve.size) this.#flushResolves();
      await Promise.all(this.#pendingResolutions);
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
    const work = Promise.all(
      batch.map(async (entry) => {
        if (!entry.parsed.ok) return;
        const resolution = await this.#resolver.resolveOne(entry.parsed.ref, {
          lane: 'bulk',
          tagMutability: this.#tagMutability,
        });
        // The image may have left the inventory while ECR was answering.
        if (this.#images.get(entry.image) !== entry) return;
        if (!sameResolution(entry.resolution, resolution)) {
          entry.resolution = resolution;
          this.#changed();
        }
        // A scan whose findings could not be read (a throttled findings call) is as good as unresolved
        // for the policy: it is asked again on the same schedule, not kept until the next refresh.
        if (resolution.status === 'unresolved' || resolution.facts.scanError !== null)
          this.#retryLater(entry);
      }),
    ).then(
      () => undefined,
      (err: unknown) => this.#log.error({ err }, 'resolution failed unexpectedly'),
    );
    this.#pendingResolutions.add(work);
    void work.finally(() => this.#pendingResolutions.delete(work));
  }

  // ── bookkeeping ──────────────────────────────────────────────────────────────────────────

  #inScope(namespace: string): boolean {
    const include = this.#config.namespaces.include;
    if (include.length && !include.includes(namespace)) return false;
    return !this.#excluded.has(namespace);
  }

  /** Stores a pod; false when nothing the inventory counts changed (most pod updates are status noise). */
  #put(key: string, pod: TrackedPod): boolean {
    const old = this.#pods.get(key);
    if (old && sameContainers(old, pod)) return false;
    this.#pods.set(key, pod);
    // Count the new state before uncounting the old: an image the pod keeps using never drops to zero
    // containers in between, so it keeps its resolution and series instead of being looked up again.
    this.#account(pod, +1);
    if (old) this.#account(old, -1);
    return true;
  }

  #drop(key: string): boolean {
    const old = this.#pods.get(key);
    if (!old) return false;
    this.#account(old, -1);
    this.#pods.delete(key);
    return true;
  }

  #account(pod: TrackedPod, delta: 1 | -1): void {
    for (const c of pod.containers) {
      let entry = this.#images.get(c.image);
      if (!entry) {
        if (delta < 0) continue;
        entry = {
          image: c.image,
          parsed: parseImageReference(c.image),
          containers: 0,
          running: new Map(),
          namespaces: new Map(),
          resolution: null,
        };
        this.#images.set(c.image, entry);
        this.#queueResolve(entry);
      }
      entry.containers += delta;
      bump(entry.running, c.runningDigest, delta);
      bump(entry.namespaces, pod.namespace, delta);
      // The last container using an image is gone: so are its series.
      if (entry.containers <= 0) this.#images.delete(c.image);
    }
  }

  #changed(): void {
    this.#version++;
    this.#onCounts?.(this.#pods.size, this.#images.size);
  }

  // ── views ────────────────────────────────────────────────────────────────────────────────

  #isStale(resolution: Resolution | null): boolean {
    if (resolution?.status !== 'resolved') return false;
    const pulled = resolution.facts.lastRecordedPullTime;
    return pulled !== null && this.#now() - pulled.getTime() > this.#config.inventory.staleAfter;
  }

  /**
   * One row per distinct (registry, region, repository, tag, digest): references written differently
   * (`api` and `api:latest`, an upper-case host, `:443`) name the same image and share one series,
   * their containers summed — two rows with equal labels would be one series Prometheus keeps once.
   */
  images(): Iterable<ImageSeriesRow> {
    const rows = new Map<string, ImageSeriesRow>();
    for (const entry of this.#images.values()) {
      const r = entry.resolution;
      if (r?.status !== 'resolved' || !entry.parsed.ok) continue;
      let drifted = 0;
      for (const [digest, count] of entry.running)
        if (digest !== null && digest !== r.facts.digest) drifted += count;
      const tag = entry.parsed.ref.tag ?? '';
      const key = `${r.facts.registryId}|${r.facts.region}|${r.facts.repository}|${tag}|${r.facts.digest}`;
      const same = rows.get(key);
      if (same) {
        same.containers += entry.containers;
        same.driftedContainers += drifted;
        continue;
      }
      rows.set(key, {
        registryId: r.facts.registryId,
        region: r.facts.region,
        repository: r.facts.repository,
        tag,
        facts: r.facts,
        containers: entry.containers,
        driftedContainers: drifted,
        stale: this.#isStale(r),
      });
    }
    return rows.values();
  }

  *unresolved(): Iterable<UnresolvedRow> {
    const counts = new Map<string, UnresolvedRow>();
    for (const entry of this.#images.values()) {
      let row: Omit<UnresolvedRow, 'images'> | null = null;
      if (!entry.parsed.ok) row = { registryId: '', region: '', repository: '', reason: 'invalid_reference' };
      else if (entry.resolution?.status === 'unresolved' && entry.parsed.ref.ecr) {
        const { registryId, region, repository } = entry.parsed.ref.ecr;
        row = { registryId, region, repository, reason: entry.resolution.reason };
      }
      if (!row) continue;
      const key = `${row.registryId}|${row.region}|${row.repository}|${row.reason}`;
      const existing = counts.get(key);
      if (existing) existing.images++;
      else counts.set(key, { ...row, images: 1 });
    }
    yield* counts.values();
  }

  violations(): Iterable<ViolationRow> {
    if (this.#violationsCache?.version === this.#version) return this.#violationsCache.rows;
    const counts = new Map<string, ViolationRow>();
    for (const entry of this.#images.values()) {
      for (const [namespace, containers] of entry.namespaces) {
        if (containers <= 0) continue;
        const { evaluation } = this.#assessor.judge(entry.image, entry.parsed, entry.resolution, namespace);
        for (const v of evaluation.violations) {
          const key = `${namespace}|${v.check}|${v.action}`;
          const row = counts.get(key);
          if (row) row.containers += containers;
          else counts.set(key, { namespace, check: v.check, action: v.action, containers });
        }
      }
    }
    const rows = [...counts.values()];
    this.#violationsCache = { version: this.#version, rows };
    return rows;
  }

  /** Every container of every tracked pod, with its verdict, drift and staleness (for `report`). */
  containers(namespace?: string | null): ContainerRow[] {
    const rows: ContainerRow[] = [];
    const pods = [...this.#pods.values()]
      .filter((p) => !namespace || p.namespace === namespace)
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    for (const pod of pods) {
      for (const c of pod.containers) {
        const entry = this.#images.get(c.image);
        const parsed = entry?.parsed ?? parseImageReference(c.image);
        const resolution = entry?.resolution ?? null;
        const assessment = this.#assessor.judge(c.image, parsed, resolution, pod.namespace);
        const digest = resolution?.status === 'resolved' ? resolution.facts.digest : null;
        rows.push({
          namespace: pod.namespace,
          pod: pod.name,
          container: c,
          assessment,
          runningDigest: c.runningDigest,
          drift: digest !== null && c.runningDigest !== null && c.runningDigest !== digest,
          stale: this.#isStale(resolution),
        });
      }
    }
    return rows;
  }
}

/** Images resolved at once by a refresh: five DescribeImages batches' worth. */
const REFRESH_WAVE = 500;

function repositoryOf(entry: ImageEntry): string {
  const ecr = entry.parsed.ok ? entry.parsed.ref.ecr : null;
  return ecr ? `${ecr.registryId}/${ecr.region}/${ecr.repository}` : '';
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function bump<K>(map: Map<K, number>, key: K, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

function sameContainers(a: TrackedPod, b: TrackedPod): boolean {
  if (a.containers.length !== b.containers.length) return false;
  return a.containers.every((c, i) => {
    const d = b.containers[i]!;
    return (
      c.name === d.name && c.kind === d.kind && c.image === d.image && c.runningDigest === d.runningDigest
    );
  });
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
    x.scan?.status === y.scan?.status &&
    x.scan?.completedAt?.getTime() === y.scan?.completedAt?.getTime() &&
    JSON.stringify(x.scan?.findings) === JSON.stringify(y.scan?.findings) &&
    x.scanError === y.scanError &&
    x.tagImmutable === y.tagImmutable &&
    x.index?.platforms?.length === y.index?.platforms?.length &&
    x.index?.error === y.index?.error
  );
}
