/**
 * Both simulators (Kubernetes API and ECR) in a process of their own, for benchmarks that measure the
 * controller's memory: with the simulators beside it, their pod store, watch buffers and ECR scenario
 * would count as the controller's. Forked with an IPC channel; it answers `Ready` once seeded, then one
 * reply per command.
 *
 * The fleet: 500 repositories of 10 images (5,000 images) in two regions. The first 200 repositories
 * (2,000 images) back the 10,000-pod cluster it starts with; `load-all-images` switches to a cluster
 * that uses all 5,000.
 */
import {
  type EcrSimulator,
  type RequestCounts,
  SIMULATOR_CREDENTIALS,
  startEcrSimulator,
} from '../sim/ecr/index.ts';
import { buildPod, type KubeSimulator, type PodJson, startKubeSimulator } from '../sim/kube/index.ts';
import {
  buildFleet,
  type FleetImage,
  imagesOfRepositories,
  type MinimumCalls,
  minimumCalls,
} from './fleet.ts';

const FLEET_REPOSITORIES = 500;
const CLUSTER_REPOSITORIES = 200;
const CLUSTER_PODS = 10_000;
const ECR_LATENCY_MS = 50;

export type SimCommand =
  | { type: 'ecr-counts' }
  | { type: 'reset-counts' }
  | { type: 'ecr-latency'; ms: number }
  /** Compacts history and ends pod watches with 410; answers once a new pod watch is open. */
  | { type: 'expire-watches' }
  | { type: 'delete-all-pods' }
  /** Replaces the cluster with CLUSTER_PODS pods over every image of the fleet. */
  | { type: 'load-all-images' }
  /** One pod's kubelet reports another running digest: a MODIFIED event the inventory counts. */
  | { type: 'touch-pod'; round: number }
  | { type: 'stop' };

export interface Ready {
  type: 'ready';
  ecrEndpoint: string;
  ecrCredentials: { accessKeyId: string; secretAccessKey: string };
  kubeconfig: string;
  ecrLatencyMs: number;
  pods: number;
  images: number;
  repositories: number;
  /** The fewest ECR calls that resolve the starting cluster's images. */
  minimum: MinimumCalls;
  /** Bytes of the pod list as JSON: what a relist moves. */
  podJsonBytes: number;
}

export type SimReply =
  | { type: 'ecr-counts'; counts: RequestCounts }
  | {
      type: 'expired';
      watches: number;
      /** From the 410 being sent to a new pod watch being opened (the relist in between). */
      relistMs: number;
      listRequests: number;
    }
  | { type: 'done'; pods?: number; images?: number };

/** A pod as a Deployment makes it: labels, owner, env, probes, resources; about 3.3 KB of JSON as stored. */
function clusterPod(image: FleetImage, digest: string, index: number): PodJson {
  const [team, service] = image.repository.split('/') as [string, string];
  const name = `${service}-${image.tag.replace('.', '-')}-7d9c6b5f4d-${index.toString(36).padStart(5, '0')}`;
  return buildPod({
    namespace: team,
    name,
    nodeName: `ip-10-0-${index % 64}-${index % 251}.ec2.internal`,
    labels: {
      app: service,
      'app.kubernetes.io/name': service,
      'app.kubernetes.io/part-of': team,
      'app.kubernetes.io/version': image.tag,
      'pod-template-hash': '7d9c6b5f4d',
    },
    annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: `${service}-7d9c6b5f4d`,
        uid: '3b0f5c1e-0000-4000-8000-000000000001',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    containers: [
      {
        name: service,
        image: image.ref,
        spec: {
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: Array.from({ length: 8 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}` })),
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 5 },
        },
      },
    ],
    imageIDs: { [service]: digest },
  });
}

function podsFor(images: readonly FleetImage[], ecr: EcrSimulator): PodJson[] {
  const digests = images.map((image) => {
    const view = ecr.image({
      registryId: image.registryId,
      region: image.region,
      repository: image.repository,
      tag: image.tag,
    });
    if (!view) throw new Error(`${image.ref} is not in the simulated registry`);
    return view.digest;
  });
  // Pods spread evenly over the images: image i runs in pods i, i + n, i + 2n, …
  return Array.from({ length: CLUSTER_PODS }, (_, i) =>
    clusterPod(images[i % images.length]!, digests[i % images.length]!, i),
  );
}

async function serve(): Promise<void> {
  const fleet = buildFleet(FLEET_REPOSITORIES);
  const clusterImages = imagesOfRepositories(fleet, CLUSTER_REPOSITORIES);
  const ecr = await startEcrSimulator({ scenario: fleet.scenario, latencyMs: ECR_LATENCY_MS });
  // No periodic compaction: the benchmark compacts when it means to.
  const kube: KubeSimulator = await startKubeSimulator({ compactionIntervalMs: 0 });
  const pods = podsFor(clusterImages, ecr);
  kube.bulkLoad(pods);
  const podJsonBytes = kube.pods().reduce((n, p) => n + Buffer.byteLength(JSON.stringify(p)), 0);

  const reply = (message: SimReply | Ready) => process.send?.(message);
  process.on('message', (command: SimCommand) => {
    void handle(command).catch((err: unknown) => {
      process.stderr.write(`sim-server: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    });
  });

  async function handle(command: SimCommand): Promise<void> {
    switch (command.type) {
      case 'ecr-counts':
        reply({ type: 'ecr-counts', counts: ecr.requests() });
        return;
      case 'reset-counts':
        ecr.resetCounts();
        kube.resetCounters();
        reply({ type: 'done' });
        return;
      case 'ecr-latency':
        ecr.setLatency(command.ms);
        reply({ type: 'done' });
        return;
      case 'expire-watches': {
        const listsBefore = kube.requestCount('list', 'pods');
        const reopened = kube.nextWatch({ resource: 'pods' });
        const started = performance.now();
        kube.compact();
        const watches = kube.expireWatches({ resource: 'pods' });
        await reopened;
        const relistMs = performance.now() - started;
        reply({
          type: 'expired',
          watches,
          relistMs,
          listRequests: kube.requestCount('list', 'pods') - listsBefore,
        });
        return;
      }
      case 'delete-all-pods':
        for (const pod of kube.pods()) kube.deletePod(pod.metadata.namespace!, pod.metadata.name!);
        reply({ type: 'done', pods: kube.podCount() });
        return;
      case 'load-all-images': {
        for (const pod of kube.pods()) kube.deletePod(pod.metadata.namespace!, pod.metadata.name!);
        kube.bulkLoad(podsFor(fleet.images, ecr));
        reply({ type: 'done', pods: kube.podCount(), images: fleet.images.length });
        return;
      }
      case 'touch-pod': {
        const pod = kube.pods()[0]!;
        const { namespace, name } = pod.metadata as { namespace: string; name: string };
        kube.patchPodStatus(namespace, name, (status) => {
          const first = status.containerStatuses?.[0];
          // Alternate between two made-up digests so every round is a change.
          if (first) first.imageID = `${first.image}@sha256:${String(command.round % 2).repeat(64)}`;
          return status;
        });
        reply({ type: 'done' });
        return;
      }
      case 'stop':
        await kube.close();
        await ecr.close();
        process.disconnect();
        return;
    }
  }

  reply({
    type: 'ready',
    ecrEndpoint: ecr.endpoint,
    ecrCredentials: { ...SIMULATOR_CREDENTIALS },
    kubeconfig: kube.kubeconfigYaml(),
    ecrLatencyMs: ECR_LATENCY_MS,
    pods: kube.podCount(),
    images: clusterImages.length,
    repositories: CLUSTER_REPOSITORIES,
    minimum: minimumCalls(clusterImages),
    podJsonBytes,
  });
}

if (import.meta.main) await serve();
