import { createHash, randomUUID } from 'node:crypto';
import { podStrategy } from './pod-strategy.ts';
import type { ContainerJson, ContainerStatusJson, PodJson } from './types.ts';

/**
 * Builders for realistic v1 Pods as the API server stores them after a kubelet has reported on
 * them: defaulted spec, conditions, and container statuses whose `imageID` names the digest the
 * node actually runs (`<repository>@sha256:<digest>`, as containerd reports it).
 */

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ContainerInput {
  name: string;
  image: string;
  /** Extra container fields (env, ports, resources, ...), merged into the spec entry. */
  spec?: Record<string, unknown>;
}

export interface BuildPodOptions {
  namespace: string;
  name: string;
  containers: ContainerInput[];
  initContainers?: ContainerInput[];
  ephemeralContainers?: ContainerInput[];
  /** A scheduled pod (with a node) defaults to Running, an unscheduled one to Pending. */
  nodeName?: string;
  phase?: PodPhase;
  /**
   * What each container runs, by container name: a full `repo@sha256:…` imageID or just a
   * `sha256:…` digest (joined to the container's repository). Containers not listed get a digest
   * derived from their image reference, so equal references run equal digests.
   */
  imageIDs?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  /** RFC 3339; defaults to now. */
  creationTimestamp?: string;
  ownerReferences?: unknown[];
  podIP?: string;
  restartCounts?: Record<string, number>;
}

/** The repository part of a reference: no tag, no digest. */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** A stable fake digest for an image reference. */
export function digestFor(image: string): string {
  return `sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** `repo@sha256:…` for a container, from an explicit imageID/digest or derived from the image. */
export function imageIdFor(image: string, given?: string): string {
  if (given && !given.startsWith('sha256:')) return given;
  const digestInRef = image.includes('@') ? image.slice(image.indexOf('@') + 1) : undefined;
  return `${repositoryOf(image)}@${given ?? digestInRef ?? digestFor(image)}`;
}

function containerId(pod: string, container: string): string {
  return `containerd://${createHash('sha256').update(`${pod}/${container}`).digest('hex')}`;
}

function specEntry(input: ContainerInput): ContainerJson {
  return { name: input.name, image: input.image, ...input.spec };
}

/** A stable pod IP in 10.0.0.0/8 derived from the pod's identity. */
function podIpFor(namespace: string, name: string): string {
  const h = createHash('sha256').update(`${namespace}/${name}`).digest();
  return `10.${h[0]}.${h[1]}.${Math.max(1, h[2]! % 255)}`;
}

export function buildPod(options: BuildPodOptions): PodJson {
  const created = options.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const phase: PodPhase = options.phase ?? (options.nodeName ? 'Running' : 'Pending');
  const pod: PodJson = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      uid: options.uid ?? randomUUID(),
      creationTimestamp: created,
      ...(options.labels ? { labels: { ...options.labels } } : {}),
      ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
      ...(options.ownerReferences ? { ownerReferences: structuredClone(options.ownerReferences) } : {}),
    },
    spec: {
      containers: options.containers.map(specEntry),
      ...(options.initContainers?.length ? { initContainers: options.initContainers.map(specEntry) } : {}),
      ...(options.ephemeralContainers?.length
        ? { ephemeralContainers: options.ephemeralContainers.map(specEntry) }
        : {}),
      ...(options.nodeName ? { nodeName: options.nodeName } : {}),
    },
    status: {},
  };
  podStrategy.applyDefaults(pod);
  podStrategy.prepareForCreate(pod);
  pod.status = buildStatus(pod, options, phase, created);
  return pod;
}

function buildStatus(
  pod: PodJson,
  options: BuildPodOptions,
  phase: PodPhase,
  created: string,
): PodJson['status'] {
  const status = structuredClone(pod.status ?? {});
  status.phase = phase;
  if (!options.nodeName) {
    status.conditions = [
      {
        type: 'PodScheduled',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: created,
        reason: 'Unschedulable',
      },
    ];
    return status;
  }
  const ran = phase !== 'Pending';
  const running = phase === 'Running';
  const condition = (type: string, ok: boolean) => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: created,
  });
  status.conditions = [
    condition('PodReadyToStartContainers', ran),
    condition('Initialized', ran),
    condition('Ready', running),
    condition('ContainersReady', running),
    condition('PodScheduled', true),
  ];
  status.hostIP = '192.168.0.10';
  status.hostIPs = [{ ip: '192.168.0.10' }];
  if (ran) {
    status.podIP = options.podIP ?? podIpFor(options.namespace, options.name);
    status.podIPs = [{ ip: status.podIP }];
  }
  status.startTime = created;
  const statusOf = (input: ContainerInput, kind: 'init' | 'main' | 'ephemeral'): ContainerStatusJson => {
    const given = options.imageIDs?.[input.name];
    // A container that has not started has no imageID yet, whatever image it will run.
    const started = ran;
    const base = {
      name: input.name,
      image: input.image,
      imageID: started ? imageIdFor(input.image, given) : '',
      restartCount: options.restartCounts?.[input.name] ?? 0,
    };
    if (!started) {
      // With init containers to run first, the kubelet reports every container as PodInitializing.
      const reason = options.initContainers?.length ? 'PodInitializing' : 'ContainerCreating';
      return { ...base, ready: false, started: false, state: { waiting: { reason } }, lastState: {} };
    }
    const containerID = containerId(`${options.namespace}/${options.name}`, input.name);
    const done = kind === 'init' || phase === 'Succeeded' || phase === 'Failed';
    if (done) {
      const failed = phase === 'Failed' && kind !== 'init';
      return {
        ...base,
        containerID,
        ready: kind === 'init',
        started: false,
        state: {
          terminated: {
            exitCode: failed ? 1 : 0,
            reason: failed ? 'Error' : 'Completed',
            startedAt: created,
            finishedAt: created,
            containerID,
          },
        },
        lastState: {},
      };
    }
    // Ephemeral containers are never "ready": they take no traffic.
    return {
      ...base,
      containerID,
      ready: kind === 'main' && running,
      started: true,
      state: { running: { startedAt: created } },
      lastState: {},
    };
  };
  if (options.initContainers?.length)
    status.initContainerStatuses = options.initContainers.map((c) => statusOf(c, 'init'));
  status.containerStatuses = options.containers.map((c) => statusOf(c, 'main'));
  if (options.ephemeralContainers?.length) {
    status.ephemeralContainerStatuses = options.ephemeralContainers.map((c) => statusOf(c, 'ephemeral'));
  }
  return status;
}
