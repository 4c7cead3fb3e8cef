import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { WriterClock } from './clock.ts';
import { EventRecorder, type EventRecorderOptions } from './events.ts';
import { OpenReportsWriter, type OpenReportsWriterOptions } from './open-reports.ts';
import type { FindingsSource } from './types.ts';

/**
 * Results where Kubernetes users look (SPEC section 11): Events on pods and OpenReports Reports,
 * written from the inventory's findings by the replica that runs the inventory.
 *
 *   const writers = new ResultWriters({ reports: config.reports, kubeConfig, source: inventory, log });
 *   onStartedLeading: writers.start();   onStoppedLeading / SIGTERM: await writers.stop();
 */

export type { WriterClock } from './clock.ts';
export { systemClock } from './clock.ts';
export {
  DEFAULT_OVERALL_LIMIT,
  DEFAULT_PER_OBJECT_LIMIT,
  EventRecorder,
  type EventRecorderOptions,
  type EventRecorderStats,
  eventName,
  REPORTING_CONTROLLER,
} from './events.ts';
export { DEFAULT_REPORT_LIMITS, OMITTED_ANNOTATION, REPORT_NAME, type ReportLimits } from './open-report.ts';
export {
  OpenReportsWriter,
  type OpenReportsWriterOptions,
  type OpenReportsWriterStats,
} from './open-reports.ts';
export type { RateLimit } from './token-bucket.ts';
export type * from './types.ts';

type Tuning<T> = Partial<Omit<T, 'kubeConfig' | 'source' | 'log' | 'clock'>>;

export interface ResultWritersOptions {
  /** config.reports: which writers exist at all. */
  reports: Config['reports'];
  kubeConfig: KubeConfig;
  source: FindingsSource;
  /** reportingInstance of the Events: the pod's name (POD_NAME); the hostname by default. */
  instance?: string;
  log?: Logger;
  clock?: WriterClock;
  events?: Tuning<EventRecorderOptions>;
  openReports?: Tuning<OpenReportsWriterOptions>;
}

/** The writers `config.reports` turns on, started and stopped together. */
export class ResultWriters {
  /** Null when `reports.events` is off. */
  readonly events: EventRecorder | null;
  /** Null when `reports.openReports` is off. */
  readonly openReports: OpenReportsWriter | null;

  constructor(options: ResultWritersOptions) {
    const common = {
      kubeConfig: options.kubeConfig,
      source: options.source,
      log: options.log,
      clock: options.clock,
    };
    this.events = options.reports.events
      ? new EventRecorder({
          ...options.events,
          ...common,
          instance: options.instance ?? options.events?.instance,
        })
      : null;
    this.openReports = options.reports.openReports
      ? new OpenReportsWriter({ ...options.openReports, ...common })
      : null;
  }

  /** Starts writing (the replica runs the inventory now). */
  start(): void {
    this.events?.start();
    this.openReports?.start();
  }

  /** Stops writing; resolves when nothing is in flight. */
  async stop(): Promise<void> {
    await Promise.all([this.events?.stop(), this.openReports?.stop()]);
  }

  /** Resolves when neither writer is in a pass. */
  async idle(): Promise<void> {
    await Promise.all([this.events?.idle(), this.openReports?.idle()]);
  }
}
