import type { Resolution } from '../ecr/types.ts';
import { parseImageReference } from '../images/reference.ts';
import type { ParseResult } from '../images/types.ts';
import type { PodSink } from '../kube/pod-watcher.ts';
import type { TrackedPod } from '../kube/trim.ts';
import type { ForecastAnswer } from '../lifecycle/forecast.ts';
import type { NamespaceScope } from './scope.ts';

/** One distinct image reference in use, with the containers that use it counted, never listed. */
export interface ImageEntry {
  image: string;
  parsed: ParseResult;
  containers: number;
  /** Containers per running digest (null: not started yet or not comparable), for drift. */
  running: Map<string | null, number>;
  /** Containers per namespace, for the policy verdict, which depends on the namespace. */
  namespaces: Map<string, number>;
  resolution: Resolution | null;
  /** The lifecycle forecast for the image; undefined until made (or with the forecast off). */
  lifecycle: ForecastAnswer | undefined;
}

/** What the store tells whoever resolves images: one arrived, or the last container using one left. */
export interface ImageListener {
  added(entry: ImageEntry): void;
  removed(entry: ImageEntry): void;
}

/**
 * The pods in scope and the images they run (SPEC section 5): the pod watcher's sink. Every container
 * of every running pod is counted per distinct image reference; a pod that finished (phase Succeeded
 * or Failed) runs nothing and is not tracked, and one that finishes while tracked is dropped like a
 * deleted one. `version` moves whenever anything counted does, so views and metrics rebuild only then.
 */
export class PodStore implements PodSink {
  readonly #scope: NamespaceScope;
  readonly #listener: ImageListener;
  readonly #onCounts: ((pods: number, images: number) => void) | undefined;
  readonly #pods = new Map<string, TrackedPod>();
  readonly #images = new Map<string, ImageEntry>();
  #version = 0;

  constructor(options: {
    scope: NamespaceScope;
    listener: ImageListener;
    onCounts?: (pods: number, images: number) => void;
  }) {
    this.#scope = options.scope;
    this.#listener = options.listener;
    this.#onCounts = options.onCounts;
  }

  get podCount(): number {
    return this.#pods.size;
  }

  get imageCount(): number {
    return this.#images.size;
  }

  version(): number {
    return this.#version;
  }

  /** Something the views read changed without a pod changing (an ECR answer, a forecast, the clock). */
  changed(): void {
    this.#version++;
    this.#onCounts?.(this.#pods.size, this.#images.size);
  }

  pods(): Iterable<TrackedPod> {
    return this.#pods.values();
  }

  images(): Iterable<ImageEntry> {
    return this.#images.values();
  }

  /** The entry for an image string, if some tracked container uses it. */
  image(image: string): ImageEntry | undefined {
    return this.#images.get(image);
  }

  /** Whether `entry` is still the one in use for its image (it may have left while ECR was answering). */
  holds(entry: ImageEntry): boolean {
    return this.#images.get(entry.image) === entry;
  }

  // ── PodSink ──────────────────────────────────────────────────────────────────────────────

  replaceAll(pods: TrackedPod[], scope: string | null): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      if (!this.#scope.contains(pod.namespace) || pod.finished) continue;
      const key = podKey(pod.namespace, pod.name);
      seen.add(key);
      this.#put(key, pod);
    }
    // A relist is the truth: whatever it no longer holds was deleted while we were not watching.
    for (const [key, pod] of this.#pods) {
      if (seen.has(key) || (scope !== null && pod.namespace !== scope)) continue;
      this.#drop(key);
    }
    this.changed();
  }

  upsert(pod: TrackedPod): void {
    if (!this.#scope.contains(pod.namespace)) return;
    if (pod.finished) this.remove(pod.namespace, pod.name);
    else if (this.#put(podKey(pod.namespace, pod.name), pod)) this.changed();
  }

  remove(namespace: string, name: string): void {
    if (this.#drop(podKey(namespace, name))) this.changed();
  }

  /** Stores a pod; false when nothing the store counts changed (most pod updates are status noise). */
  #put(key: string, pod: TrackedPod): boolean {
    const old = this.#pods.get(key);
    if (old && sameContainers(old, pod)) {
      // The uid is not counted, but a pod re-created under the same name must be named by its new one.
      if (old.uid !== pod.uid) this.#pods.set(key, pod);
      return false;
    }
    this.#pods.set(key, pod);
    // Count the new state before uncounting the old: an image the pod keeps using never drops to zero
    // containers in between, so it keeps its resolution and series instead of being looked up again.
    this.#account(pod, +1);
    if (old) this.#account(old, -1);
    return true;
  }

  #drop(key: string): boolean {
    const old = this.#pods.get(key);
    if (!old) return false;
    this.#account(old, -1);
    this.#pods.delete(key);
    return true;
  }

  #account(pod: TrackedPod, delta: 1 | -1): void {
    for (const c of pod.containers) {
      let entry = this.#images.get(c.image);
      if (!entry) {
        if (delta < 0) continue;
        entry = {
          image: c.image,
          parsed: parseImageReference(c.image),
          containers: 0,
          running: new Map(),
          namespaces: new Map(),
          resolution: null,
          lifecycle: undefined,
        };
        this.#images.set(c.image, entry);
        this.#listener.added(entry);
      }
      entry.containers += delta;
      bump(entry.running, c.runningDigest, delta);
      bump(entry.namespaces, pod.namespace, delta);
      // The last container using an image is gone: so are its series.
      if (entry.containers <= 0) {
        this.#images.delete(c.image);
        this.#listener.removed(entry);
      }
    }
  }
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function bump<K>(map: Map<K, number>, key: K, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

function sameContainers(a: TrackedPod, b: TrackedPod): boolean {
  if (a.containers.length !== b.containers.length) return false;
  return a.containers.every((c, i) => {
    const d = b.containers[i]!;
    return (
      c.name === d.name && c.kind === d.kind && c.image === d.image && c.runningDigest === d.runningDigest
    );
  });
}
