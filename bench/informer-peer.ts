/**
 * The peer the inventory benchmark compares the controller with: what a TypeScript engineer would
 * write instead, @kubernetes/client-node's own informer (`makeInformer` over
 * `listPodForAllNamespaces`) holding every pod of the same simulated cluster. Forked by the inventory
 * benchmark's measuring process, bundled the same way and run with the same V8 heap flags as the
 * controller, in a process of its own so its memory is its alone; it holds the pods and does nothing
 * else (no ECR, no metrics), so it is the floor of what that approach costs.
 *
 * Protocol: the parent sends `PeerStart`, the peer answers one `PeerResult` and exits.
 */
import { once } from 'node:events';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { collectGarbage, memoryBreakdown, type MemoryBreakdown } from './memory.ts';

export interface PeerStart {
  kubeconfig: string;
  /** How many pods the cluster holds: the peer is done listing when its cache has them all. */
  pods: number;
  settleMs: number;
  timeoutMs: number;
}

export type PeerResult =
  | {
      type: 'peer-result';
      /** After client-node is loaded and the informer made, before it lists a pod. */
      before: MemoryBreakdown;
      /** `settleMs` after the cache holds every pod, without forcing a GC. */
      steady: MemoryBreakdown;
      /** Heap used after full collections, at 0 pods (before) and with every pod held. */
      heapBefore: number;
      heapWithPods: number;
      listedMs: number;
      podsHeld: number;
    }
  | { type: 'peer-error'; message: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(start: PeerStart): Promise<PeerResult> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(start.kubeconfig);
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Pod>(kubeConfig, '/api/v1/pods', () => api.listPodForAllNamespaces());
  const failures: unknown[] = [];
  informer.on('error', (err) => failures.push(err));
  const heapBefore = collectGarbage();
  const before = memoryBreakdown();
  const started = performance.now();
  await informer.start();
  const deadline = started + start.timeoutMs;
  while (informer.list().length < start.pods) {
    if (performance.now() > deadline)
      throw new Error(
        `the informer held ${informer.list().length} of ${start.pods} pods after ${start.timeoutMs} ms (${failures.length} errors)`,
      );
    await sleep(10);
  }
  const listedMs = performance.now() - started;
  await sleep(start.settleMs);
  const steady = memoryBreakdown();
  const heapWithPods = collectGarbage();
  const podsHeld = informer.list().length;
  await informer.stop();
  return { type: 'peer-result', before, steady, heapBefore, heapWithPods, listedMs, podsHeld };
}

if (process.send) {
  const [start] = (await once(process, 'message')) as [PeerStart];
  const result = await run(start).catch((err: unknown): PeerResult => ({
    type: 'peer-error',
    message: (err as Error).stack ?? String(err),
  }));
  process.send(result, () => process.exit(0));
}
