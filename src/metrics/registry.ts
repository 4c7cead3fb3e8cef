import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Millis } from '../config/types.ts';
import type { CacheResult, FailureReason, ResolverObserver } from '../ecr/types.ts';
import type { KeepAliveObserver } from '../lifecycle/keepalive.ts';
import { METRICS } from './definitions.ts';
import { ImageMetricsRenderer, type ImageSeriesSource } from './images.ts';

const labelNames = (d: { labels: readonly string[] }) => [...d.labels];

/** ECR calls take tens of milliseconds when healthy and seconds when throttled and retried. */
const ECR_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Admission answers must come in milliseconds when warm and before the deadline (2 s default) always. */
const ADMISSION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5];

/**
 * 90% of the webhook deadline in seconds, rounded to the millisecond (at least 1 ms): the bound of
 * EcrWardenWebhookNearDeadline, which counts the reviews slower than it. The chart computes the same
 * number from config.webhook.deadline (templates/prometheusrule.yaml) and selects the bucket by the
 * `le` prom-client writes for it (String(number), so 1.8 or 9), so both must round alike.
 */
function nearDeadlineBound(deadline: Millis): number {
  return Math.max(1, Math.round((deadline * 9) / 10)) / 1000;
}

/**
 * ADMISSION_BUCKETS plus the deadline and nearDeadlineBound(deadline): with fixed buckets only, a
 * deadline above the largest one (the config allows 29 s) could never show as near, and a bound
 * inside a bucket was interpolated (a 2 s deadline reported 1.8 s when some reviews took 1.1 s).
 */
function admissionBuckets(deadline: Millis): number[] {
  const bounds = new Set([...ADMISSION_BUCKETS, nearDeadlineBound(deadline), deadline / 1000]);
  return [...bounds].sort((a, b) => a - b);
}

/**
 * The process's own prom-client Registry (never the global one, so tests and embedders can hold
 * several) plus the per-image series from the inventory. Implements the observer hooks the resolver,
 * the webhook and the pod watch call, so those modules never import prom-client themselves.
 */
export class WardenMetrics implements ResolverObserver, KeepAliveObserver {
  readonly registry = new Registry();
  readonly #ecrRequests: Counter;
  readonly #ecrDuration: Histogram;
  readonly #cache: Counter;
  readonly #reviews: Counter;
  readonly #reviewDuration: Histogram;
  readonly #watchRestarts: Counter;
  readonly podsTracked: Gauge;
  readonly imagesTracked: Gauge;
  readonly #seriesDropped: Gauge;
  readonly #leader: Gauge;
  readonly #keepAlivePulls: Counter;
  #images: ImageMetricsRenderer | null = null;

  /** `webhookDeadline` is config.webhook.deadline: the review histogram has buckets at it and at 90% of it. */
  constructor(options: { version: string; webhookDeadline: Millis; defaultMetrics?: boolean }) {
    const registers = [this.registry];
    const counter = (d: (typeof METRICS)[keyof typeof METRICS]) =>
      new Counter({ name: d.name, help: d.help, labelNames: labelNames(d), registers });
    const gauge = (d: (typeof METRICS)[keyof typeof METRICS]) =>
      new Gauge({ name: d.name, help: d.help, labelNames: labelNames(d), registers });
    this.#ecrRequests = counter(METRICS.ecrRequests);
    this.#ecrDuration = new Histogram({
      name: METRICS.ecrRequestDuration.name,
      help: METRICS.ecrRequestDuration.help,
      labelNames: labelNames(METRICS.ecrRequestDuration),
      buckets: ECR_BUCKETS,
      registers,
    });
    this.#cache = counter(METRICS.cacheRequests);
    this.#reviews = counter(METRICS.admissionReviews);
    this.#reviewDuration = new Histogram({
      name: METRICS.admissionDuration.name,
      help: METRICS.admissionDuration.help,
      labelNames: labelNames(METRICS.admissionDuration),
      buckets: admissionBuckets(options.webhookDeadline),
      registers,
    });
    this.podsTracked = gauge(METRICS.podsTracked);
    this.imagesTracked = gauge(METRICS.imagesTracked);
    this.#watchRestarts = counter(METRICS.watchRestarts);
    this.#seriesDropped = gauge(METRICS.imageSeriesDropped);
    this.#leader = gauge(METRICS.leader);
    this.#keepAlivePulls = counter(METRICS.keepalivePulls);
    this.#keepAlivePulls.inc({ outcome: 'success' }, 0);
    gauge(METRICS.buildInfo).set({ version: options.version }, 1);
    // Known label values start at zero so rate() and absent() work before the first event.
    for (const result of ['hit', 'miss', 'coalesced', 'stale']) this.#cache.inc({ result }, 0);
    this.#seriesDropped.set(0);
    this.#leader.set(0);
    this.podsTracked.set(0);
    this.imagesTracked.set(0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Attaches the inventory's per-image series (bounded by ecr.maxImageSeries). */
  attachImages(source: ImageSeriesSource, maxSeries: number): void {
    this.#images = new ImageMetricsRenderer(source, maxSeries);
  }

  ecrRequest(operation: string, region: string, outcome: 'success' | FailureReason, seconds: number): void {
    this.#ecrRequests.inc({ operation, region, outcome });
    this.#ecrDuration.observe({ operation, region }, seconds);
  }

  cache(result: CacheResult): void {
    this.#cache.inc({ result });
  }

  review(
    webhook: 'validate' | 'mutate',
    kind: string,
    decision: 'allowed' | 'warned' | 'denied' | 'error' | 'rejected',
    seconds: number,
  ): void {
    this.#reviews.inc({ webhook, kind, decision });
    // A 429 is refused unread in no time: timing it would hide, under load, how long the reviews
    // actually handled take.
    if (decision !== 'rejected') this.#reviewDuration.observe({ webhook }, seconds);
  }

  keepAlivePull(outcome: 'success' | FailureReason): void {
    this.#keepAlivePulls.inc({ outcome });
  }

  watchRestart(reason: string): void {
    this.#watchRestarts.inc({ reason });
  }

  setLeader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The full exposition as the chunks to send, in order: the registry's metrics (a few KB, rendered
   * per call), then the per-image families (the renderer's cached slices themselves, not a copy).
   */
  async exposition(): Promise<Buffer[]> {
    // Taken before the await below, so the dropped gauge describes the very images text sent.
    const images = this.#images?.render();
    if (this.#images) this.#seriesDropped.set(this.#images.dropped);
    const base = Buffer.from(await this.registry.metrics());
    return images ? [base, ...images] : [base];
  }

  /** The full exposition as text. */
  async render(): Promise<string> {
    return Buffer.concat(await this.exposition()).toString();
  }
}
