import { BoundedMap } from '../util/lru.ts';

/** The only parts of a pod the inventory keeps: a few hundred bytes instead of the whole object. */
export interface TrackedContainer {
  name: string;
  kind: 'init' | 'regular' | 'ephemeral';
  image: string;
  /** Digest the node runs, from containerStatuses[].imageID; null until the container has started. */
  runningDigest: string | null;
}

export interface TrackedPod {
  namespace: string;
  name: string;
  /** metadata.uid: Events name the pod by it (kubectl describe selects on it). */
  uid: string;
  /**
   * Phase Succeeded or Failed: every container has terminated and none will start again (a terminal
   * phase is final), so the pod runs nothing — a CronJob's kept history, an evicted pod.
   */
  finished: boolean;
  containers: TrackedContainer[];
}

/**
 * Interning pool: ten thousand pods share a few hundred namespaces, images and container names, so
 * each distinct string is held once. Bounded (least recently used out first), so strings of pods long
 * gone cannot pile up without limit; a string still in use stays alive through the pods that hold it.
 */
export class StringPool {
  readonly #pool: BoundedMap<string, string>;

  constructor(maxEntries = 100_000) {
    this.#pool = new BoundedMap(maxEntries);
  }

  intern(s: string): string {
    const existing = this.#pool.get(s);
    if (existing !== undefined) return existing;
    this.#pool.set(s, s);
    return s;
  }

  get size(): number {
    return this.#pool.size;
  }
}

interface RawContainer {
  name?: unknown;
  image?: unknown;
}
interface RawStatus {
  name?: unknown;
  imageID?: unknown;
}
interface RawPod {
  metadata?: { name?: unknown; namespace?: unknown; uid?: unknown };
  spec?: {
    containers?: RawContainer[];
    initContainers?: RawContainer[];
    ephemeralContainers?: RawContainer[];
  };
  status?: {
    phase?: unknown;
    containerStatuses?: RawStatus[];
    initContainerStatuses?: RawStatus[];
    ephemeralContainerStatuses?: RawStatus[];
  };
}

/**
 * `repo@sha256:…` (containerd, CRI-O), `docker-pullable://repo@sha256:…` (dockershim) → the digest.
 * A bare `sha256:…` is an image *config* ID on some runtimes, not a manifest digest, so it cannot be
 * compared with ECR's digest: null.
 */
export function runningDigestOf(imageID: unknown): string | null {
  if (typeof imageID !== 'string') return null;
  const at = imageID.lastIndexOf('@');
  if (at < 0) return null;
  const digest = imageID.slice(at + 1);
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(digest) ? digest : null;
}

/** Trims a Pod (a raw watch object or a client-node model: same field names) to a TrackedPod. */
export function trimPod(raw: unknown, pool: StringPool): TrackedPod | null {
  const pod = raw as RawPod;
  const name = pod?.metadata?.name;
  const namespace = pod?.metadata?.namespace;
  if (typeof name !== 'string' || typeof namespace !== 'string') return null;
  const containers: TrackedContainer[] = [];
  const add = (
    kind: TrackedContainer['kind'],
    specs: RawContainer[] | undefined,
    statuses: RawStatus[] | undefined,
  ) => {
    if (!Array.isArray(specs)) return;
    for (const c of specs) {
      if (typeof c?.name !== 'string' || typeof c.image !== 'string') continue;
      const status = Array.isArray(statuses) ? statuses.find((s) => s?.name === c.name) : undefined;
      const digest = runningDigestOf(status?.imageID);
      containers.push({
        name: pool.intern(c.name),
        kind,
        image: pool.intern(c.image),
        runningDigest: digest === null ? null : pool.intern(digest),
      });
    }
  };
  add('init', pod.spec?.initContainers, pod.status?.initContainerStatuses);
  add('regular', pod.spec?.containers, pod.status?.containerStatuses);
  add('ephemeral', pod.spec?.ephemeralContainers, pod.status?.ephemeralContainerStatuses);
  return {
    namespace: pool.intern(namespace),
    name,
    uid: typeof pod.metadata?.uid === 'string' ? pod.metadata.uid : '',
    finished: isTerminalPhase(pod.status?.phase),
    containers,
  };
}

/**
 * Succeeded and Failed are the terminal pod phases: "all containers in the Pod have terminated" and
 * will not be restarted (Kubernetes docs, Pod Lifecycle: Pod phase). Pending, Running and Unknown (the
 * node stopped reporting) may still run something, so they count.
 */
export function isTerminalPhase(phase: unknown): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}
