/**
 * The inventory benchmark's measuring process (bench/inventory.ts bundles and forks it): starts the
 * simulators' process, runs the controller in this one against them, measures, then runs the
 * makeInformer peer (bench/informer-peer.ts) against the same cluster in a process of its own, and
 * sends its table to the launcher.
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../src/config/index.ts';
import { type Controller, startController } from '../src/commands/serve.ts';
import { createLogger } from '../src/log.ts';
import type { PeerResult, PeerStart } from './informer-peer.ts';
import { collectGarbage, memoryBreakdown } from './memory.ts';
import type { Ready, SimCommand, SimReply } from './sim-server.ts';
import { formatBytes, formatCount, formatMs, median, type Row, type Table } from './table.ts';

export const MEASURE_FLAG = '--inventory-bench-measure';
/** The node flags this process was started with: the image's and the chart's (bench/inventory.ts). */
const nodeFlags = () => process.execArgv.filter((flag) => flag !== '--expose-gc');

const RSS_TARGET_MIB = 150;
const HEAP_PER_POD_TARGET = 2048;
const RENDER_TARGET_MS = 50;
const RELIST_TARGET_MS = 5000;
/** Image series the render is measured at: the default ecr.maxImageSeries. */
const RENDER_IMAGES = 5000;
/** Renders per median: odd, so the median is one of them. */
const RENDERS = 9;
/** Idle time after the first complete inventory before memory is read, as a scrape interval or two. */
const SETTLE_MS = 5000;
/** A wait for the controller to catch up with the simulated cluster gives up after this long. */
const CATCH_UP_TIMEOUT_MS = 120_000;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- the simulators' process

class SimProcess {
  readonly ready: Ready;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, ready: Ready) {
    this.#child = child;
    this.ready = ready;
  }

  static async start(): Promise<SimProcess> {
    // Compiled (.js) or not (.ts), the simulators' script sits beside this one.
    const script = fileURLToPath(new URL(`./sim-server${extname(import.meta.url)}`, import.meta.url));
    const child = fork(script, [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [ready] = (await once(child, 'message')) as [Ready];
    return new SimProcess(child, ready);
  }

  /** Sends one command and waits for its reply (commands are never interleaved). */
  async command<T extends SimReply = SimReply>(command: SimCommand): Promise<T> {
    const replied = once(this.#child, 'message');
    this.#child.send(command);
    const [reply] = (await replied) as [T];
    return reply;
  }

  async stop(): Promise<void> {
    const exited = once(this.#child, 'exit');
    this.#child.send({ type: 'stop' } satisfies SimCommand);
    await exited;
  }

  kill(): void {
    this.#child.kill();
  }
}

// ---------------------------------------------------------------- the measuring process

/** GET with node:http, not fetch: fetch would load its own HTTP client into the measured process. */
async function scrape(url: string): Promise<void> {
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    get(url, resolve).on('error', reject),
  );
  response.resume();
  await once(response, 'end');
  if (response.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${response.statusCode}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls the controller until `done` holds. The inventory has no "caught up with the cluster" event to
 * wait on (the watch is continuous), so the benchmark looks every few milliseconds; no figure is timed
 * by this wait.
 */
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Times what a scrape of /metrics costs before the first byte is written: the exposition's chunks. */
async function timeRender(controller: Controller): Promise<{ ms: number; chunks: Buffer[] }> {
  const started = performance.now();
  const chunks = await controller.metrics.exposition();
  return { ms: performance.now() - started, chunks };
}

async function measure(): Promise<Table> {
  const sim = await SimProcess.start();
  const rows: Row[] = [];
  const notes: string[] = [];
  const { ready } = sim;
  let controller: Controller | null = null;
  let maxConcurrency: number;
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(ready.kubeconfig);
    const config = parseConfig({
      logLevel: 'warn',
      metrics: { address: '127.0.0.1', port: 0 },
      ecr: { maxImageSeries: RENDER_IMAGES },
    });
    maxConcurrency = config.ecr.maxConcurrency;
    const log = createLogger('warn');

    // ---- start to first complete inventory
    collectGarbage();
    const before = memoryBreakdown();
    await sim.command({ type: 'reset-counts' });
    const started = performance.now();
    controller = await startController(config, {
      log,
      kubeConfig,
      ecrEndpoint: ready.ecrEndpoint,
      ecrCredentials: ready.ecrCredentials,
    });
    const inventory = controller.inventory;
    if (!inventory) throw new Error('the controller runs no inventory');
    await controller.whenInventorySynced();
    const syncedMs = performance.now() - started;
    await inventory.settled();
    const completeMs = performance.now() - started;
    const resolvedImages = [...inventory.images()].length;
    const { counts } = await sim.command<Extract<SimReply, { type: 'ecr-counts' }>>({ type: 'ecr-counts' });
    const describe = counts.byOperation.DescribeImages ?? 0;
    const findings = counts.byOperation.DescribeImageScanFindings ?? 0;
    const policies = counts.byOperation.GetLifecyclePolicy ?? 0;
    const { minimum } = ready;
    const complete = inventory.podCount === ready.pods && resolvedImages === ready.images;
    rows.push({
      figure: 'start → first complete inventory',
      measured: `${formatMs(completeMs)} (pods listed at ${formatMs(syncedMs)}; ${formatCount(inventory.podCount)} pods, ${formatCount(resolvedImages)} images resolved)`,
      target: `report (${formatCount(ready.pods)} pods, ${formatCount(ready.images)} images)`,
      ok: complete ? undefined : false,
    });
    rows.push({
      figure: 'ECR calls for it',
      measured: `${formatCount(describe)} DescribeImages + ${formatCount(findings)} DescribeImageScanFindings + ${formatCount(policies)} GetLifecyclePolicy${counts.total > describe + findings + policies ? ` + ${counts.total - describe - findings - policies} other` : ''}`,
      target: `= ${formatCount(minimum.describeImages)} + ${formatCount(minimum.scanFindings)} + ${formatCount(minimum.lifecyclePolicies)} (minimum; one policy per repository)`,
      ok:
        describe === minimum.describeImages &&
        findings === minimum.scanFindings &&
        policies === minimum.lifecyclePolicies &&
        counts.total === minimum.total + minimum.lifecyclePolicies,
    });

    // ---- memory at 10,000 pods
    const heapWithPods = collectGarbage();
    // A steady process has been scraped: the cached exposition text is part of its footprint.
    await scrape(`${controller.metricsUrl}/metrics`);
    await sleep(SETTLE_MS);
    const steady = memoryBreakdown();
    collectGarbage();
    const afterGc = memoryBreakdown();
    rows.push({
      figure: `steady RSS at ${formatCount(inventory.podCount)} pods`,
      measured: `${formatBytes(steady.rss)} (${formatBytes(afterGc.rss)} after a full GC)`,
      target: `≤ ${RSS_TARGET_MIB} MiB`,
      ok: steady.rss <= RSS_TARGET_MIB * MiB,
    });
    const bare = await bareNodeRss();
    rows.push({
      figure: 'RSS before the first pod',
      measured: `${formatBytes(before.rss)} (Node alone ${formatBytes(bare)}; the program loaded ${formatBytes(before.rss - bare)}, ${formatBytes(before.heapUsed)} of heap used)`,
      target: 'report, and what it is made of',
    });
    notes.push(
      `RSS is the controller process's alone (the simulators run in another), read ${SETTLE_MS / 1000} s after the first complete inventory and one /metrics scrape, without forcing a GC`,
      `steady RSS, where: ${describeBreakdown(steady)}`,
      `RSS before the first pod (the program loaded, the controller not started), where: ${describeBreakdown(before)}`,
      `Node alone: a process of the same node binary and flags that loads nothing`,
      `node flags of the image's ENTRYPOINT and the chart's NODE_OPTIONS (${nodeFlags().join(' ')}), and the image's environment (MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'unset'}); the controller runs bundled, as the image ships it (scripts/bundle.ts)`,
    );

    // ---- the peer: client-node's informer holding the same pods, in its own process
    const peer = await runPeer(ready.kubeconfig, ready.pods);
    const ourHeapPerPod = (heapWithPods - before.heapUsed) / ready.pods;
    const peerHeapPerPod = (peer.heapWithPods - peer.heapBefore) / peer.podsHeld;
    const ratio = steady.rss / peer.steady.rss;
    rows.push({
      figure: `makeInformer peer: steady RSS at ${formatCount(peer.podsHeld)} pods`,
      measured: `${formatBytes(peer.steady.rss)} (${formatBytes(peer.before.rss)} before the first pod; listed in ${formatMs(peer.listedMs)})`,
      target: 'report',
    });
    rows.push({
      figure: 'heap per pod, from before the first pod: ours | peer',
      measured: `${formatBytes(ourHeapPerPod)} | ${formatBytes(peerHeapPerPod)}`,
      target: 'report',
    });
    rows.push({
      figure: 'our steady RSS / the peer’s, same run',
      measured: `${ratio.toFixed(2)} (${formatBytes(steady.rss)} / ${formatBytes(peer.steady.rss)})`,
      target: '≤ 0.6',
      ok: ratio <= 0.6,
    });
    notes.push(
      `peer: @kubernetes/client-node's makeInformer over listPodForAllNamespaces (bench/informer-peer.ts), bundled and heap-sized as ours, holding the same ${formatCount(ready.pods)} pods and doing nothing else (no ECR, no metrics); RSS read ${SETTLE_MS / 1000} s after its cache held them all`,
      `peer steady RSS, where: ${describeBreakdown(peer.steady)}`,
      `heap per pod here is heap used after full GCs with every pod held, minus the same before the first pod, over the pods: ours includes the resolver cache and the metrics of 2,000 images`,
    );

    // ---- relist after a 410
    const restartsBefore = await goneRestarts(controller);
    const expired = await sim.command<Extract<SimReply, { type: 'expired' }>>({ type: 'expire-watches' });
    const restartsAfter = await goneRestarts(controller);
    const relisted = inventory.podCount === ready.pods && restartsAfter === restartsBefore + 1;
    rows.push({
      figure: `relist of ${formatCount(ready.pods)} pods after a 410`,
      measured: `${formatMs(expired.relistMs)} (${expired.listRequests} list pages; restarts{reason="gone"} +${restartsAfter - restartsBefore}; ${formatCount(inventory.podCount)} pods after)`,
      target: `≤ ${RELIST_TARGET_MS / 1000} s`,
      ok: expired.relistMs <= RELIST_TARGET_MS && relisted,
    });
    notes.push(
      `relist: timed in the simulator from compaction and the ERROR 410 event to the controller's next pod watch, the full list in between (${formatBytes(ready.podJsonBytes)} of pod JSON)`,
    );

    // ---- heap per tracked pod: the same process with every pod deleted
    await sim.command({ type: 'delete-all-pods' });
    await until('the inventory to empty', () => inventory.podCount === 0);
    // Drops the exposition cached at 10,000 pods; heapWithPods was read before any scrape.
    await controller.metrics.exposition();
    const heapEmpty = collectGarbage();
    const perPod = (heapWithPods - heapEmpty) / ready.pods;
    rows.push({
      figure: 'heap per tracked pod',
      measured: `${formatBytes(perPod)} (${formatBytes(heapWithPods)} at ${formatCount(ready.pods)} pods, ${formatBytes(heapEmpty)} at 0)`,
      target: `≤ ${HEAP_PER_POD_TARGET / 1024} KiB`,
      ok: perPod <= HEAP_PER_POD_TARGET,
    });
    notes.push(
      'heap per pod: heap used after full GCs with 10,000 pods, minus the same with all deleted, over 10,000; the resolver cache (per image, held in both) is not in it',
    );

    // ---- /metrics render at 5,000 image series
    await sim.command({ type: 'ecr-latency', ms: 0 });
    const loaded = await sim.command<Extract<SimReply, { type: 'done' }>>({ type: 'load-all-images' });
    await until(
      `${RENDER_IMAGES} images tracked`,
      () => inventory.podCount === loaded.pods && inventory.imageCount === loaded.images,
    );
    await inventory.settled();
    const first = await timeRender(controller);
    const series = countImageInfo(Buffer.concat(first.chunks).toString());
    const textBytes = first.chunks.reduce((n, chunk) => n + chunk.length, 0);
    const cached: number[] = [];
    for (let i = 0; i < RENDERS; i++) cached.push((await timeRender(controller)).ms);
    const uncached: number[] = [];
    for (let round = 1; round <= RENDERS; round++) {
      const version = inventory.version();
      await sim.command({ type: 'touch-pod', round });
      await until('the pod change to arrive', () => inventory.version() !== version);
      uncached.push((await timeRender(controller)).ms);
    }
    const renderOk = series === RENDER_IMAGES;
    rows.push({
      figure: `/metrics render at ${formatCount(series)} image series, after a change`,
      measured: `${formatMs(median(uncached))} median of ${RENDERS} (max ${formatMs(Math.max(...uncached))}; ${formatBytes(textBytes)} of text)`,
      target: `≤ ${RENDER_TARGET_MS} ms`,
      ok: median(uncached) <= RENDER_TARGET_MS && renderOk,
    });
    rows.push({
      figure: `/metrics render at ${formatCount(series)} image series, unchanged`,
      measured: `${formatMs(median(cached))} median of ${RENDERS} (max ${formatMs(Math.max(...cached))})`,
      target: `≤ ${RENDER_TARGET_MS} ms`,
      ok: median(cached) <= RENDER_TARGET_MS && renderOk,
    });
    notes.push(
      `render: controller.metrics.exposition() (the bytes /metrics sends) with ${formatCount(loaded.pods ?? 0)} pods over ${formatCount(loaded.images ?? 0)} images; "after a change" follows a pod's MODIFIED event: the inventory's version moves, every image row and verdict is looked at again, and what changed is rewritten`,
    );
    rows.push({
      figure: 'peak RSS over the run (every phase above)',
      measured: formatBytes(process.resourceUsage().maxRSS * 1024),
      target: 'report',
    });

    await controller.stop();
    controller = null;
    await sim.stop();
  } catch (err) {
    await controller?.stop().catch(() => undefined);
    sim.kill();
    throw err;
  }
  return {
    title: `Inventory (${formatCount(ready.pods)} pods, ${formatCount(ready.images)} images in ${ready.repositories} repositories, ECR latency ${ready.ecrLatencyMs} ms, maxConcurrency ${maxConcurrency})`,
    rows,
    notes,
  };
}

/** The resident memory of a process of this node binary with the same flags that loads nothing. */
async function bareNodeRss(): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    ...process.execArgv,
    '--eval',
    'process.stdout.write(String(process.memoryUsage().rss))',
  ]);
  return Number(stdout);
}

/** Runs the makeInformer peer in its own process against the simulated cluster and waits for its figures. */
async function runPeer(
  kubeconfig: string,
  pods: number,
): Promise<Extract<PeerResult, { type: 'peer-result' }>> {
  // Bundled beside this script by the launcher; from the sources, the .ts file.
  const script = import.meta.url.endsWith('.bundle.js')
    ? new URL('./informer-peer.bundle.js', import.meta.url)
    : new URL(`./informer-peer${extname(import.meta.url)}`, import.meta.url);
  const child = fork(fileURLToPath(script), [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const answer = once(child, 'message').then(([message]) => message as PeerResult);
  child.send({ kubeconfig, pods, settleMs: SETTLE_MS, timeoutMs: CATCH_UP_TIMEOUT_MS } satisfies PeerStart);
  const result = await Promise.race([answer, exited.then(() => null)]);
  const [code, signal] = await exited;
  if (!result)
    throw new Error(`the makeInformer peer exited (${signal ?? `code ${code}`}) without its figures`);
  if (result.type === 'peer-error') throw new Error(`the makeInformer peer failed: ${result.message}`);
  return result;
}

function describeBreakdown(m: ReturnType<typeof memoryBreakdown>): string {
  const parts = [
    `V8 heap ${formatBytes(m.heapCommitted)} committed (${formatBytes(m.heapUsed)} used, young generation ${formatBytes(m.youngCommitted)})`,
    `external ${formatBytes(m.external)}`,
  ];
  if (m.nodeBinary !== null) parts.push(`node executable ${formatBytes(m.nodeBinary)}`);
  if (m.mallocHeap !== null) parts.push(`malloc main arena ${formatBytes(m.mallocHeap)}`);
  return parts.join(', ');
}

async function goneRestarts(controller: Controller): Promise<number> {
  const text = await controller.metrics.registry.getSingleMetricAsString('ecr_warden_watch_restarts_total');
  const match = /\{reason="gone"\} (\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

function countImageInfo(text: string): number {
  let n = 0;
  for (
    let at = text.indexOf('\necr_warden_image_info{');
    at >= 0;
    at = text.indexOf('\necr_warden_image_info{', at + 1)
  )
    n++;
  return n;
}

if (process.argv.includes(MEASURE_FLAG)) {
  const table = await measure();
  process.send?.(table);
  process.disconnect();
}
