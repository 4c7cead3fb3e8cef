/**
 * Results benchmark (Events on pods and OpenReports, SPEC section 11): the real writers, through
 * @kubernetes/client-node, against the Kubernetes simulator, reading a hand-set inventory of 10,000
 * pods in 50 namespaces; then a rescan of a common base image turns 5,000 of them violating at once.
 *
 *   node bench/reports.ts
 *
 * Time is simulated: the writers and the simulator share a manual clock moved on one second at a
 * time, so a minute of rate limits runs in moments and the write log is in that clock's time. What
 * the apiserver sees in the minute after the rescan is the write log's; how long the writers took of
 * real time is measured beside it.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_OVERALL_LIMIT, DEFAULT_REPORT_LIMITS, ResultWriters } from '../src/reports/index.ts';
import type { PodFindings } from '../src/reports/types.ts';
import { openReportsCrds, startKubeSimulator } from '../sim/kube/index.ts';
import {
  drift,
  FakeFindingsSource,
  finding,
  ManualClock,
  podFindings,
  REGISTRY,
} from '../test/helpers/findings.ts';
import { formatBytes, formatCount, formatMs, printTable, type Row, type Table } from './table.ts';

const PODS = 10_000;
const NAMESPACES = 50;
const VIOLATING = 5000;
/** Pods with a drifted container before the rescan, so Reports and Events exist already. */
const DRIFTED_BEFORE = 500;
const MINUTE = 60_000;
const STEP_MS = 1000;
/** The writers' defaults, which the targets are computed from. */
const MIN_INTERVAL_MS = 5000;
const RATE = DEFAULT_OVERALL_LIMIT;
/** A namespace this crowded gets the size bound's Report. */
const CROWDED_PODS = 2000;
/** Simulated time given to emit every Event before the benchmark gives up. */
const EVENTS_DEADLINE_MS = 60 * MINUTE;

function namespaceOf(i: number): string {
  return `team-${String(i % NAMESPACES).padStart(2, '0')}`;
}

function podName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}-7d9f8c6b5-x2x9q`;
}

function inventory(rescanned: boolean): { pods: PodFindings[]; tallies: Record<string, { pass: number }> } {
  const pods: PodFindings[] = [];
  const tallies: Record<string, { pass: number }> = {};
  for (let i = 0; i < PODS; i++) {
    const namespace = namespaceOf(i);
    const findings = [];
    if (i < DRIFTED_BEFORE) findings.push(drift());
    // Half the pods of every namespace run the common base image the rescan found CRITICAL findings in.
    if (rescanned && Math.floor(i / NAMESPACES) % 2 === 1)
      findings.push(finding({ image: `${REGISTRY}/platform/base:2026.05` }));
    if (findings.length) pods.push(podFindings(namespace, podName(i), findings));
    else (tallies[namespace] ??= { pass: 0 }).pass++;
  }
  return { pods, tallies };
}

export async function runReportsBench(): Promise<Table> {
  const clock = new ManualClock();
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => namespaceOf(i));
  const sim = await startKubeSimulator({
    clock: clock.now,
    namespaces: [...namespaces, 'crowded'],
    crds: openReportsCrds(),
    eventTtlMs: 0,
    compactionIntervalMs: 0,
    writeLogLimit: 200_000,
  });
  const source = new FakeFindingsSource();
  const writers = new ResultWriters({
    reports: { events: true, openReports: true },
    kubeConfig: sim.kubeConfig(),
    source,
    clock,
    instance: 'ecr-warden-bench',
  });
  const step = () => clock.run([writers], STEP_MS);
  try {
    // Before: 500 drifted pods, reported and settled.
    const before = inventory(false);
    source.set(before.pods, before.tallies);
    writers.start();
    while (writers.events!.stats().waiting > 0 || writers.openReports!.stats().pending > 0) await step();
    await clock.run([writers], 10 * MINUTE, 10_000);

    // The rescan.
    const after = inventory(true);
    const rescanAt = clock.now();
    const wallStart = performance.now();
    source.set(after.pods, after.tallies);
    let reportsCurrentMs = Number.NaN;
    let reportsCurrentWall = Number.NaN;
    let eventsDoneMs = Number.NaN;
    let eventsDoneWall = Number.NaN;
    while (clock.now() - rescanAt < EVENTS_DEADLINE_MS) {
      await step();
      if (Number.isNaN(reportsCurrentMs) && writers.openReports!.stats().pending === 0) {
        reportsCurrentMs = clock.now() - rescanAt;
        reportsCurrentWall = performance.now() - wallStart;
      }
      if (writers.events!.stats().waiting === 0) {
        eventsDoneMs = clock.now() - rescanAt;
        eventsDoneWall = performance.now() - wallStart;
        break;
      }
    }
    const minute = { since: rescanAt, until: rescanAt + MINUTE };
    const eventWrites = sim.writeCount({ resource: 'events', ...minute });
    const reportWrites = sim.writeCount({ group: 'openreports.io', ...minute });
    const worstSecond = sim.maxWritesInWindow(1000, { resource: 'events', since: rescanAt });
    const worstMinute = sim.maxWritesInWindow(MINUTE, { resource: 'events', since: rescanAt });
    const failed = sim.writeCount({ since: rescanAt, succeeded: false });
    const eventsTarget = RATE.perSecond * 60 + RATE.burst;
    const reportsTarget = (NAMESPACES * 60_000) / MIN_INTERVAL_MS;
    const largest = Math.max(...sim.reports().map((r) => Buffer.byteLength(JSON.stringify(r))));

    // One namespace with 2,000 violating pods: the size bound.
    const crowded = Array.from({ length: CROWDED_PODS }, (_, i) =>
      podFindings('crowded', podName(i), [finding({ image: `${REGISTRY}/platform/base:2026.05` }), drift()]),
    );
    source.set([...after.pods, ...crowded], after.tallies);
    await clock.run([writers], 10_000);
    const crowdedReport = sim.report('crowded', 'ecr-warden');
    const crowdedBytes = crowdedReport ? Buffer.byteLength(JSON.stringify(crowdedReport)) : Number.NaN;

    const rows: Row[] = [
      {
        figure: 'Event writes in the minute after the rescan',
        measured: formatCount(eventWrites),
        target: `<= ${formatCount(eventsTarget)} (${RATE.perSecond}/s x 60 + burst ${RATE.burst})`,
        ok: eventWrites <= eventsTarget,
      },
      {
        figure: 'Event writes, worst second / worst minute',
        measured: `${worstSecond} / ${worstMinute}`,
        target: `<= ${RATE.burst + RATE.perSecond} / ${eventsTarget}`,
        ok: worstSecond <= RATE.burst + RATE.perSecond && worstMinute <= eventsTarget,
      },
      {
        figure: 'Report writes in the minute after the rescan',
        measured: formatCount(reportWrites),
        target: `<= ${formatCount(reportsTarget)} (${NAMESPACES} namespaces x 60 s / ${MIN_INTERVAL_MS / 1000} s)`,
        ok: reportWrites <= reportsTarget,
      },
      {
        figure: 'time until every Report is current (simulated / real)',
        measured: `${formatMs(reportsCurrentMs)} / ${formatMs(reportsCurrentWall)}`,
        target: 'reported',
      },
      {
        figure: `time until all ${formatCount(VIOLATING)} new Events are written (simulated / real)`,
        measured: `${formatMs(eventsDoneMs)} / ${formatMs(eventsDoneWall)}`,
        target: `reported (${formatCount(VIOLATING)} / ${RATE.perSecond} per s)`,
      },
      {
        figure: 'failed writes after the rescan',
        measured: formatCount(failed),
        target: '0',
        ok: failed === 0,
      },
      {
        figure: 'largest Report (100 violating pods)',
        measured: formatBytes(largest),
        target: 'reported',
      },
      {
        figure: `Report of a namespace with ${formatCount(CROWDED_PODS)} violating pods`,
        measured: `${formatBytes(crowdedBytes)}, ${crowdedReport?.metadata.annotations?.['ecr-warden.io/results-omitted'] ?? 0} results omitted`,
        target: `< 1 MiB (bound ${formatBytes(DEFAULT_REPORT_LIMITS.maxBytes)})`,
        ok: crowdedBytes < 1024 * 1024,
      },
    ];
    return {
      title: `Events and OpenReports (${formatCount(PODS)} pods in ${NAMESPACES} namespaces; a rescan turns ${formatCount(VIOLATING)} violating)`,
      rows,
      notes: [
        'simulated time moves 1 s per step; the writers and the simulator share the clock, so the write log is in simulated time',
        `before the rescan ${DRIFTED_BEFORE} drifted pods had their Events and Reports, settled for 10 minutes`,
      ],
    };
  } finally {
    await writers.stop();
    await sim.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printTable(await runReportsBench());
