/**
 * Inventory benchmark (the live pod inventory issue): the real controller — client-node pod watch,
 * inventory, resolver, AWS SDK, metrics — against 10,000 pods using 2,000 distinct images in 200
 * repositories, and beside it the peer a TypeScript engineer would write instead.
 *
 *   node bench/inventory.ts
 *
 * Four processes, so that memory figures are each one's alone: this one (the launcher) bundles
 * bench/inventory-measure.ts with the controller as the container image's program is bundled
 * (scripts/bundle.ts) and forks it, with --expose-gc so heap figures are taken after a full
 * collection, and with the V8 heap flags the chart renders into NODE_OPTIONS; that
 * process forks bench/sim-server.ts, which holds both simulators, and then, for the side-by-side
 * comparison, bench/informer-peer.ts: client-node's makeInformer holding the same pods, bundled and
 * sized the same way.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { compileProject } from './compile.ts';
import { chartNodeOptions } from '../test/helpers/webhook-process.ts';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from './image.ts';
import { MEASURE_FLAG } from './inventory-measure.ts';
import { printTable, type Table } from './table.ts';

/** Bundles the measuring script, runs it in a fresh process and returns its table. */
export async function runInventoryBench(): Promise<Table> {
  const compiled = await compileProject();
  try {
    const measuring = await compiled.bundle('inventory-measure');
    await compiled.bundle('informer-peer');
    // Node run as the image runs it (its ENTRYPOINT's flags) with V8's heap as the chart sizes it
    // (values.yaml: nodeOptions), for the controller and the peer alike.
    const nodeOptions = (await chartNodeOptions()).split(/\s+/).filter(Boolean);
    const child = fork(measuring, [MEASURE_FLAG], {
      execArgv: ['--expose-gc', ...IMAGE_NODE_FLAGS, ...nodeOptions],
      env: { ...process.env, ...IMAGE_ENV },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const answer = once(child, 'message').then(([message]) => message as Table);
    const result = await Promise.race([answer, exited.then(() => null)]);
    const [code, signal] = await exited;
    if (!result)
      throw new Error(`inventory benchmark process exited (${signal ?? `code ${code}`}) without a table`);
    return result;
  } finally {
    await compiled.cleanup();
  }
}

if (import.meta.main) printTable(await runInventoryBench());
