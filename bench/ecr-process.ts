/**
 * The ECR simulator in a process of its own, for benchmarks that time the controller: ECR is a remote
 * service, and a simulator answering in the controller's process would spend the controller's event
 * loop on parsing, answering and generating findings, and count as the controller's latency.
 *
 * Forked with an IPC channel in Node's `advanced` serialization (structured clone), so a scenario and
 * the simulator's answers keep their Dates. Each request carries an id; the child answers each once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  type EcrScenario,
  type EcrSimulator,
  type ImageRef,
  type ImageView,
  type RequestCounts,
  startEcrSimulator,
} from '../sim/ecr/index.ts';

type Command =
  | { type: 'start'; scenario: EcrScenario; latencyMs: number }
  | { type: 'requests' }
  | { type: 'reset-counts' }
  | { type: 'views'; refs: ImageRef[] }
  /** Every call answers ServerException (HTTP 500) until `clear-faults`. */
  | { type: 'fail-all' }
  | { type: 'clear-faults' }
  | { type: 'latency'; ms: number }
  | { type: 'stop' };

interface Request {
  id: number;
  command: Command;
}

interface Reply {
  id: number;
  error?: string;
  endpoint?: string;
  counts?: RequestCounts;
  views?: (ImageView | undefined)[];
}

/** More calls than any benchmark makes: "every call fails from now on". */
const FAIL_ALL = 100_000_000;

/** The simulator's controls a benchmark uses, each a round trip to the child. */
export interface EcrProcess {
  endpoint: string;
  requests(): Promise<RequestCounts>;
  resetCounts(): Promise<void>;
  /** The simulator's own view of each image (undefined when it holds none), as it reads now. */
  views(refs: readonly ImageRef[]): Promise<(ImageView | undefined)[]>;
  failAll(): Promise<void>;
  clearFaults(): Promise<void>;
  setLatency(ms: number): Promise<void>;
  close(): Promise<void>;
}

const CHILD_FLAG = '--ecr-process';

export async function startEcrProcess(scenario: EcrScenario, latencyMs: number): Promise<EcrProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  child.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (!pending) return;
    if (reply.error) pending.reject(new Error(`ECR simulator process: ${reply.error}`));
    else pending.resolve(reply);
  });
  child.on('exit', (code) => {
    for (const { reject } of waiting.values()) reject(new Error(`ECR simulator process exited (${code})`));
    waiting.clear();
  });
  const ask = (command: Command): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ id, command } satisfies Request);
    });

  const started = await ask({ type: 'start', scenario, latencyMs });
  return {
    endpoint: started.endpoint!,
    requests: async () => (await ask({ type: 'requests' })).counts!,
    resetCounts: async () => void (await ask({ type: 'reset-counts' })),
    views: async (refs) => (await ask({ type: 'views', refs: [...refs] })).views!,
    failAll: async () => void (await ask({ type: 'fail-all' })),
    clearFaults: async () => void (await ask({ type: 'clear-faults' })),
    setLatency: async (ms) => void (await ask({ type: 'latency', ms })),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      await ask({ type: 'stop' });
      await exited;
    },
  };
}

async function serve(): Promise<void> {
  let sim: EcrSimulator | undefined;
  const reply = (message: Reply) => process.send?.(message);
  process.on('message', ({ id, command }: Request) => {
    void (async () => {
      if (command.type === 'start') {
        sim = await startEcrSimulator({ scenario: command.scenario, latencyMs: command.latencyMs });
        return reply({ id, endpoint: sim.endpoint });
      }
      if (!sim) throw new Error(`${command.type} before start`);
      switch (command.type) {
        case 'requests':
          return reply({ id, counts: sim.requests() });
        case 'reset-counts':
          sim.resetCounts();
          return reply({ id });
        case 'views':
          return reply({ id, views: command.refs.map((ref) => sim!.image(ref)) });
        case 'fail-all':
          sim.failNext(FAIL_ALL);
          return reply({ id });
        case 'clear-faults':
          sim.clearFaults();
          return reply({ id });
        case 'latency':
          sim.setLatency(command.ms);
          return reply({ id });
        case 'stop':
          await sim.close();
          reply({ id });
          process.disconnect();
          return;
      }
    })().catch((err: unknown) => reply({ id, error: (err as Error).stack ?? String(err) }));
  });
}

if (import.meta.main && process.argv.includes(CHILD_FLAG)) await serve();
