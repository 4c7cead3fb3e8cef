/**
 * Deciding well under load and through an outage (issue 9): a controller (inventory, metrics, the
 * resolver and the policy, as `serve` wires them) against the Kubernetes simulator and the ECR
 * simulator, the latter in a process of its own (bench/ecr-process.ts), 2,000 images in use.
 *
 *   node bench/resilience.ts
 *
 * 1. Webhook lookups during a full refresh: every TTL expired, the inventory refreshes all 2,000
 *    images while lookups of images nobody runs (so neither cached nor part of the refresh) go through
 *    the Assessor with the webhook's deadline, at a steady rate, as `/validate` makes them. Side by
 *    side, the same refresh with the same lookups sent through the refresh's own lane (one FIFO
 *    queue), which is what a webhook without an admission lane gets.
 * 2. A 10-minute ECR outage: short TTLs, an injected clock, every ECR call answering 500 while the
 *    inventory refreshes every simulated minute; the per-image fact series are compared with those
 *    before the outage at every refresh. Side by side, the same outage with `ecr.staleIfError: 0`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { lookupBudgetMs } from '../src/admission/lookup-budget.ts';
import { parseConfig } from '../src/config/index.ts';
import type { Config } from '../src/config/types.ts';
import { type Controller, startController } from '../src/commands/serve.ts';
import type { Lane } from '../src/ecr/types.ts';
import { silentLogger } from '../src/log.ts';
import { type EcrScenario, type SimRepository, SIMULATOR_CREDENTIALS } from '../sim/ecr/index.ts';
import { buildPod, type KubeSimulator, type PodJson, startKubeSimulator } from '../sim/kube/index.ts';
import { type EcrProcess, startEcrProcess } from './ecr-process.ts';
import { buildFleet, type FleetImage } from './fleet.ts';
import { percentile } from './measure.ts';
import { formatCount, formatMs, printTable, type Row, type Table } from './table.ts';

const REPOSITORIES = 200;
const LATENCY_MS = 50;
/** Webhook lookups per second while the refresh runs: a busy cluster's rate of pod creations with new images. */
const LOOKUPS_PER_SECOND = 10;
/** Images nobody runs, for the webhook lookups: more than one refresh's worth of lookups per run. */
const PROBE_REPOSITORIES = 60;
/** Lookups made before the refresh, with nothing else running. */
const IDLE_LOOKUPS = 100;
const PROBE_IMAGES_PER_REPOSITORY = 10;
/** p99 target of a lookup: its two calls (DescribeImages, DescribeImageScanFindings) and 20 ms. */
const P99_TARGET_MS = 2 * LATENCY_MS + 20;

/** The outage: every ECR call fails this long, the inventory refreshing every simulated minute. */
const OUTAGE_MINUTES = 10;
/** ECR latency during the outage rows: they count series, not time, and 500s come back at once. */
const OUTAGE_LATENCY_MS = 5;
const OUTAGE_ECR = { tagTTL: '30s', detailTTL: '30s', negativeTTL: '10s', maxAttempts: 1 } as const;
const MINUTE_MS = 60_000;

export async function runResilienceBench(): Promise<Table> {
  const fleet = buildFleet(REPOSITORIES);
  const probes = probeRepositories();
  const { scenario, host } = withProbes(fleet.scenario, probes);
  const ecr = await startEcrProcess(scenario, LATENCY_MS);
  const kube = await startKubeSimulator({ compactionIntervalMs: 0 });
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    kube.bulkLoad(await podsFor(fleet.images, ecr));
    // Interleaved by repository, so lookups close in time ask different repositories.
    const probeImages = Array.from({ length: PROBE_IMAGES_PER_REPOSITORY }, (_, i) =>
      probes.map((repository) => `${host}/${repository.name}:${repository.images[i]!.tags![0]}`),
    ).flat();
    // A share of the images nobody runs for each series, so every lookup is of an uncached image.
    const idleImages = probeImages.slice(0, IDLE_LOOKUPS);
    const rest = probeImages.slice(IDLE_LOOKUPS);
    const half = Math.floor(rest.length / 2);
    const run = await lookupsDuringRefresh(ecr, kube, 'admission', rest.slice(0, half), idleImages);
    const admission = run.during;
    const fifoRun = await lookupsDuringRefresh(ecr, kube, 'bulk', rest.slice(half));
    const fifo = fifoRun.during;
    const idle = run.idle!;
    rows.push(
      {
        figure: 'webhook lookups during a full refresh: answered by onError',
        measured: `${admission.onError} of ${admission.latencies.length}`,
        target: '0',
        ok: admission.latencies.length > 0 && admission.onError === 0,
      },
      {
        figure: 'webhook lookups during a full refresh: p99',
        measured: latencySummary(admission),
        target: `≤ ${formatMs(P99_TARGET_MS)} (2 × ECR latency + 20 ms)`,
        ok: percentile(admission.latencies, 0.99) <= P99_TARGET_MS,
      },
      {
        figure: '  the same lookups with no refresh running',
        measured: `${idle.onError} of ${idle.latencies.length} by onError; ${latencySummary(idle)}`,
        target: 'reported',
      },
      {
        figure: "  the same lookups in the refresh's FIFO queue",
        measured: `${fifo.onError} of ${fifo.latencies.length} by onError; ${latencySummary(fifo)}`,
        target: 'reported',
      },
      {
        figure: '  the refresh',
        measured: `${formatMs(run.refreshMs)} (lookups in their lane), ${formatMs(fifoRun.refreshMs)} (lookups in its queue)`,
        target: 'reported',
      },
      {
        figure: "  the controller's event-loop delay, p99 / max",
        measured: `${formatMs(admission.loopP99Ms)} / ${formatMs(admission.loopMaxMs)} during the refresh, ${formatMs(idle.loopP99Ms)} / ${formatMs(idle.loopMaxMs)} idle`,
        target: 'reported',
      },
      {
        figure: "  the controller's CPU, share of one core",
        measured: `${percent(admission.cpuShare)} during the refresh, ${percent(idle.cpuShare)} idle`,
        target: 'reported',
      },
    );
    notes.push(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(
          ' ',
        )} on ${availableParallelism()} CPUs after the lookups (other work on the machine shows in the tails)`,
      `lookups: ${LOOKUPS_PER_SECOND} a second, each of an image no pod runs (one DescribeImages and one DescribeImageScanFindings), ` +
        `through Assessor.assess with the deadline /validate gives it (webhook.deadline 2s less its headroom); the refresh is Inventory.refresh() ` +
        `with every TTL expired, ${formatCount(fleet.images.length)} images in ${REPOSITORIES} repositories, ${LATENCY_MS} ms ECR latency, default configuration`,
      `"the refresh's FIFO queue": the same lookups with AssessOptions.lane 'bulk'. No configuration puts admission and bulk calls in one queue of ` +
        `maxConcurrency slots: maxConcurrency 1 makes one shared queue of a single slot, which changes the refresh too`,
      `the controller's process also holds the Kubernetes simulator (idle during the refresh) and this load generator; the ECR simulator runs in another`,
    );

    const kept = await outage(ecr, kube, '1h');
    const blank = await outage(ecr, kube, '0s');
    rows.push(
      {
        figure: `fact series lost during a ${OUTAGE_MINUTES}-minute ECR outage`,
        measured: `${kept.lost} of ${formatCount(kept.series)} (${kept.changed} changed, ${kept.unresolved} images unresolved)`,
        target: '0',
        ok: kept.lost === 0 && kept.changed === 0 && kept.unresolved === 0 && kept.failedCalls > 0,
      },
      {
        figure: '  facts after ECR recovers',
        measured: kept.recovered ? 'as before the outage' : 'differ from before the outage',
        target: 'as before',
        ok: kept.recovered,
      },
      {
        figure: '  the same outage with ecr.staleIfError: 0',
        measured: `${formatCount(blank.lost)} of ${formatCount(blank.series)} lost, ${formatCount(blank.unresolved)} images unresolved`,
        target: 'reported',
      },
    );
    notes.push(
      `outage: TTLs ${OUTAGE_ECR.tagTTL}, maxAttempts ${OUTAGE_ECR.maxAttempts}, staleIfError 1h (the default); every ECR call answers ServerException ` +
        `for ${OUTAGE_MINUTES} simulated minutes with a refresh each minute (${formatCount(kept.failedCalls)} failed calls); series compared at every refresh: ` +
        `every ecr_warden_image_* series but image_series_dropped, and ecr_warden_policy_violations; ${OUTAGE_LATENCY_MS} ms ECR latency, the figures count series, not time`,
    );
  } finally {
    await kube.close();
    await ecr.close();
  }
  return {
    title: `Admission first, and through an outage (${formatCount(fleet.images.length)} images in use)`,
    rows,
    notes,
  };
}

// ---------------------------------------------------------------- webhook lookups during a refresh

interface Lookups {
  latencies: number[];
  onError: number;
  /** The controller's event-loop delay while they ran, p99 and max, in ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** The controller process's CPU time over the wall time while they ran (1 = one core busy). */
  cpuShare: number;
}

interface LookupRun {
  /** The same lookups with nothing else running, first: the floor on this machine. */
  idle: Lookups | null;
  during: Lookups;
  refreshMs: number;
}

/**
 * A controller synced on the fleet; then every TTL expired and a full refresh, with webhook lookups of
 * `images` at a steady rate until it ends. With `idleFirst`, a first series of lookups before it.
 */
async function lookupsDuringRefresh(
  ecr: EcrProcess,
  kube: KubeSimulator,
  lane: Lane,
  images: readonly string[],
  idleFirst: readonly string[] = [],
): Promise<LookupRun> {
  await ecr.setLatency(LATENCY_MS);
  const clock = { now: Date.now() };
  const { warden, config } = await startWarden(kube, ecr, {}, () => clock.now);
  try {
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
    const ask = (image: string): Promise<{ ms: number; onError: boolean }> => {
      // As /validate does: the deadline less the headroom for judging and answering.
      const receivedAt = performance.now();
      return warden.core.assessor
        .assess(image, { deadlineMs: lookupBudgetMs(config.webhook.deadline, receivedAt), lane })
        .then((a) => ({
          ms: performance.now() - receivedAt,
          onError:
            a.status !== 'resolved' ||
            a.evaluation.violations.some((v) => v.message.includes('(policy.onError:')),
        }));
    };
    const idle = idleFirst.length ? await steadyLookups(idleFirst, ask, () => false) : null;

    // Every TTL expired: the inventory's refresh asks ECR about every image again. (A webhook lookup of
    // an image in use would be given its known answer at once: the lookups are of images nobody runs.)
    const { tagTTL, detailTTL, negativeTTL } = config.ecr;
    clock.now += Math.max(tagTTL, detailTTL, negativeTTL) + 1_000;
    let done = false;
    const started = performance.now();
    const refresh = warden.inventory!.refresh().then(() => {
      done = true;
      return performance.now() - started;
    });
    const during = await steadyLookups(images, ask, () => done);
    return { idle, during, refreshMs: await refresh };
  } finally {
    await warden.stop();
  }
}

/** One lookup every 1/LOOKUPS_PER_SECOND s, not waiting for answers, until `stop()` or no image is left. */
async function steadyLookups(
  images: readonly string[],
  ask: (image: string) => Promise<{ ms: number; onError: boolean }>,
  stop: () => boolean,
): Promise<Lookups> {
  // 10 ms resolution: enough to tell a stalled event loop from a slow ECR.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const pending: Promise<{ ms: number; onError: boolean }>[] = [];
  for (const image of images) {
    if (stop()) break;
    pending.push(ask(image));
    await sleep(1000 / LOOKUPS_PER_SECOND);
  }
  const answers = await Promise.all(pending);
  loop.disable();
  const { user, system } = process.cpuUsage(cpu);
  const cpuShare = (user + system) / 1000 / (performance.now() - started);
  return {
    latencies: answers.map((a) => a.ms),
    onError: answers.filter((a) => a.onError).length,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    cpuShare,
  };
}

// ---------------------------------------------------------------- the outage

interface OutageRun {
  /** Fact series before the outage. */
  series: number;
  /** The most series missing at any refresh during the outage, against before it. */
  lost: number;
  /** The most series with another value at any refresh during the outage. */
  changed: number;
  /** The most images unresolved at any refresh during the outage. */
  unresolved: number;
  failedCalls: number;
  /** After ECR recovers and a refresh past the TTLs, the series are those from before the outage. */
  recovered: boolean;
}

async function outage(ecr: EcrProcess, kube: KubeSimulator, staleIfError: string): Promise<OutageRun> {
  await ecr.clearFaults();
  await ecr.setLatency(OUTAGE_LATENCY_MS);
  const clock = { now: Date.now() };
  const { warden } = await startWarden(kube, ecr, { ecr: { ...OUTAGE_ECR, staleIfError } }, () => clock.now);
  try {
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
    // One healthy refresh past the TTLs first: the facts as they stand between refreshes.
    clock.now += MINUTE_MS;
    await warden.inventory!.refresh();
    const before = factSeries(await scrape(warden));
    await ecr.resetCounts();
    await ecr.failAll();
    let lost = 0;
    let changed = 0;
    let unresolved = 0;
    for (let minute = 1; minute <= OUTAGE_MINUTES; minute++) {
      clock.now += MINUTE_MS;
      await warden.inventory!.refresh();
      const now = factSeries(await scrape(warden));
      const diff = compare(before, now);
      lost = Math.max(lost, diff.lost);
      changed = Math.max(changed, diff.changed);
      unresolved = Math.max(unresolved, diff.unresolved);
    }
    const failedCalls = (await ecr.requests()).byOutcome.failed ?? 0;
    await ecr.clearFaults();
    clock.now += MINUTE_MS;
    await warden.inventory!.refresh();
    await warden.inventory!.settled();
    const after = compare(before, factSeries(await scrape(warden)));
    return {
      series: before.size,
      lost,
      changed,
      unresolved,
      failedCalls,
      recovered: after.lost === 0 && after.changed === 0 && after.added === 0,
    };
  } finally {
    await warden.stop();
  }
}

/**
 * Per-image fact series (`name{labels}` → value): every ecr_warden_image_* line with labels (the
 * per-image families and image_unresolved; not the image_series_dropped count) and the violations.
 */
function factSeries(text: string): Map<string, string> {
  const series = new Map<string, string>();
  for (const line of text.split('\n')) {
    const perImage = line.startsWith('ecr_warden_image_') && line.includes('{');
    if (!perImage && !line.startsWith('ecr_warden_policy_violations{')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), line.slice(space + 1));
  }
  return series;
}

function compare(
  before: ReadonlyMap<string, string>,
  now: ReadonlyMap<string, string>,
): { lost: number; changed: number; added: number; unresolved: number } {
  let lost = 0;
  let changed = 0;
  for (const [key, value] of before) {
    const current = now.get(key);
    if (current === undefined) lost++;
    else if (current !== value) changed++;
  }
  let added = 0;
  let unresolved = 0;
  for (const [key, value] of now) {
    if (!before.has(key)) added++;
    if (key.startsWith('ecr_warden_image_unresolved{')) unresolved += Number(value);
  }
  return { lost, changed, added, unresolved };
}

// ---------------------------------------------------------------- the world

/** A controller as `serve` wires it (inventory and metrics; no webhook server, no leader election). */
async function startWarden(
  kube: KubeSimulator,
  ecr: EcrProcess,
  settings: Record<string, unknown>,
  now: () => number,
): Promise<{ warden: Controller; config: Config }> {
  const config = parseConfig({ logLevel: 'warn', ...settings, metrics: { address: '127.0.0.1', port: 0 } });
  const warden = await startController(config, {
    log: silentLogger,
    kubeConfig: kube.kubeConfig(),
    ecrEndpoint: ecr.endpoint,
    ecrCredentials: SIMULATOR_CREDENTIALS,
    now,
  });
  return { warden, config };
}

async function scrape(warden: Controller): Promise<string> {
  const res = await fetch(`${warden.metricsUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** One running pod per image, on the digest its tag points to. */
async function podsFor(images: readonly FleetImage[], ecr: EcrProcess): Promise<PodJson[]> {
  const views = await ecr.views(
    images.map((i) => ({ registryId: i.registryId, region: i.region, repository: i.repository, tag: i.tag })),
  );
  return images.map((image, i) => {
    const [team, service] = image.repository.split('/') as [string, string];
    const digest = views[i]?.digest;
    if (!digest) throw new Error(`${image.ref} is not in the simulated registry`);
    return buildPod({
      namespace: team,
      name: `${service}-${image.tag.replace('.', '-')}-${i}`,
      nodeName: `ip-10-0-${i % 64}-1.ec2.internal`,
      containers: [{ name: service, image: image.ref }],
      imageIDs: { [service]: digest },
    });
  });
}

/** Repositories of images no pod runs: AWS-native basic scans, so a lookup takes two calls. */
function probeRepositories(): SimRepository[] {
  const pushedAt = new Date(Date.now() - 7 * 86_400_000);
  return Array.from({ length: PROBE_REPOSITORIES }, (_, r) => ({
    name: `webhook/probe-${String(r).padStart(2, '0')}`,
    images: Array.from({ length: PROBE_IMAGES_PER_REPOSITORY }, (_, i) => ({
      tags: [`v${i}`],
      pushedAt,
      scan: { kind: 'native-basic' as const, status: 'COMPLETE' as const, findings: { HIGH: 1, LOW: 3 } },
    })),
  }));
}

/** The fleet's scenario with the probe repositories added to its first registry, and that registry's host. */
function withProbes(scenario: EcrScenario, probes: SimRepository[]): { scenario: EcrScenario; host: string } {
  const [first, ...rest] = scenario.registries;
  if (!first) throw new Error('the fleet has no registry');
  return {
    scenario: {
      ...scenario,
      registries: [{ ...first, repositories: [...first.repositories, ...probes] }, ...rest],
    },
    host: `${first.accountId}.dkr.ecr.${first.region}.amazonaws.com`,
  };
}

function percent(share: number): string {
  return `${Math.round(share * 100)} %`;
}

function latencySummary(lookups: Lookups): string {
  const { latencies } = lookups;
  return `p99 ${formatMs(percentile(latencies, 0.99))} (p50 ${formatMs(percentile(latencies, 0.5))}, max ${formatMs(Math.max(...latencies))})`;
}

if (import.meta.main) printTable(await runResilienceBench());
