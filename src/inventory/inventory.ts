import type { Assessor } from '../policy/assessor.ts';
import type { Config } from '../config/types.ts';
import type { Resolver } from '../ecr/resolver.ts';
import type { PodSink } from '../kube/pod-watcher.ts';
import type { TrackedPod } from '../kube/trim.ts';
import type { KeepAlive } from '../lifecycle/keepalive.ts';
import { type Logger, silentLogger } from '../log.ts';
import { needsTagMutability } from '../policy/evaluate.ts';
import type { FindingsSource, NamespaceTally, PodFindings } from '../reports/types.ts';
import { PodStore } from './pod-store.ts';
import { Refresher } from './refresher.ts';
import { NamespaceScope } from './scope.ts';
import {
  type ContainerRow,
  type ImageSeriesRow,
  type ImageSeriesSource,
  InventoryViews,
  type UnresolvedRow,
  type ViolationRow,
} from './views.ts';

export type {
  ContainerRow,
  ImageSeriesRow,
  ImageSeriesSource,
  UnresolvedRow,
  ViolationRow,
} from './views.ts';

export interface InventoryOptions {
  config: Config;
  resolver: Resolver;
  assessor: Assessor;
  log?: Logger;
  now?: () => number;
  /** Namespaces covered; config.namespaces by default (`report -n` narrows it to one). */
  scope?: NamespaceScope;
  /** The shortest wait before an unresolved image is asked again (default 5 s; tests shorten it). */
  minRetryMs?: number;
  /** Called when pod or image counts change (the pods_tracked / images_tracked gauges). */
  onCounts?: (pods: number, images: number) => void;
  /** Learn every fact ECR gives, the tags' mutability included (`report` shows them all). */
  allFacts?: boolean;
  /** Keep-alive reads (lifecycle.keepAlive); none by default. */
  keepAlive?: KeepAlive | null;
}

/**
 * The live inventory of SPEC section 5, in three parts: the pod store (pods in scope and the images
 * they run, counted), the refresher (what is known about each image kept current: ECR answers and
 * lifecycle forecasts, on their schedules) and the views (what metrics, `report`, Events and
 * Reports read). This class only puts them together: the pod watcher's sink, the metrics' source.
 */
export class Inventory implements PodSink, ImageSeriesSource, FindingsSource {
  readonly scope: NamespaceScope;
  readonly #store: PodStore;
  readonly #refresher: Refresher;
  readonly #views: InventoryViews;

  constructor(options: InventoryOptions) {
    const now = options.now ?? Date.now;
    const log = (options.log ?? silentLogger).child({ component: 'inventory' });
    this.scope = options.scope ?? new NamespaceScope(options.config.namespaces);
    // The store tells the refresher about images coming and going (the refresher is built just after).
    this.#store = new PodStore({
      scope: this.scope,
      listener: {
        added: (entry) => this.#refresher.added(entry),
        removed: (entry) => this.#refresher.removed(entry),
      },
      ...(options.onCounts ? { onCounts: options.onCounts } : {}),
    });
    this.#refresher = new Refresher({
      config: options.config,
      store: this.#store,
      resolver: options.resolver,
      forecaster: options.assessor.forecaster,
      keepAlive: options.keepAlive ?? null,
      log,
      tagMutability: options.allFacts === true || needsTagMutability(options.config.policy),
      ...(options.minRetryMs !== undefined ? { minRetryMs: options.minRetryMs } : {}),
    });
    this.#views = new InventoryViews({
      store: this.#store,
      assessor: options.assessor,
      now,
      staleAfter: options.config.inventory.staleAfter,
    });
  }

  get podCount(): number {
    return this.#store.podCount;
  }

  get imageCount(): number {
    return this.#store.imageCount;
  }

  version(): number {
    return this.#store.version();
  }

  // ── PodSink ──────────────────────────────────────────────────────────────────────────────

  replaceAll(pods: TrackedPod[], scope: string | null): void {
    this.#store.replaceAll(pods, scope);
  }

  upsert(pod: TrackedPod): void {
    this.#store.upsert(pod);
  }

  remove(namespace: string, name: string): void {
    this.#store.remove(namespace, name);
  }

  // ── keeping it current ───────────────────────────────────────────────────────────────────

  /** Refreshes on ecr.refreshInterval and lifecycle.refreshInterval; retries unresolved images. */
  startRefresh(): void {
    this.#refresher.start();
  }

  stopRefresh(): void {
    this.#refresher.stop();
  }

  /** Resolves every image in use again (tests and benchmarks call it; `serve` on its schedule). */
  refresh(): Promise<void> {
    return this.#refresher.refresh();
  }

  /** Reads every lifecycle policy again and forecasts every image in use (then keep-alive). */
  refreshLifecycle(): Promise<void> {
    return this.#refresher.refreshLifecycle();
  }

  /** Resolves once every lookup queued so far has answered. */
  settled(): Promise<void> {
    return this.#refresher.settled();
  }

  // ── views ────────────────────────────────────────────────────────────────────────────────

  images(): Iterable<ImageSeriesRow> {
    return this.#views.images();
  }

  unresolved(): Iterable<UnresolvedRow> {
    return this.#views.unresolved();
  }

  violations(): Iterable<ViolationRow> {
    return this.#views.violations();
  }

  containers(namespace?: string | null): ContainerRow[] {
    return this.#views.containers(namespace);
  }

  podFindings(): Iterable<PodFindings> {
    return this.#views.podFindings();
  }

  namespaceTallies(): ReadonlyMap<string, NamespaceTally> {
    return this.#views.namespaceTallies();
  }
}
