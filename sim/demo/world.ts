import { type EcrSimulator, type SimImage, startEcrSimulator } from '../ecr/index.ts';
import {
  buildPod,
  type ContainerInput,
  type KubeSimulator,
  openReportsCrds,
  startKubeSimulator,
} from '../kube/index.ts';

export const DEMO_ACCOUNT = '123456789012';
export const DEMO_REGION = 'us-east-1';
export const DEMO_HOST = `${DEMO_ACCOUNT}.dkr.ecr.${DEMO_REGION}.amazonaws.com`;
const EU_HOST = `${DEMO_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DAY = 86_400_000;

export interface DemoWorld {
  kube: KubeSimulator;
  ecr: EcrSimulator;
  close(): Promise<void>;
}

const ago = (now: number, days: number) => new Date(now - days * DAY);

/**
 * The demo's cluster and registry: a realistic small fleet that shows every finding ecr-warden
 * makes — a tag that moved after pods started (drift), CRITICAL findings, an archived image, an image
 * nobody has pulled in months (stale), a scan still running, enhanced (Inspector) scanning, a
 * non-ECR image, a tag that does not exist, init and ephemeral containers, a second region, and the
 * images current build tools push: a BuildKit index whose one platform image has CRITICAL findings
 * (the index itself has no scan, as in ECR), a multi-arch image, a pull through cache image no node
 * has pulled yet, a repository whose tags are immutable, and a lifecycle policy about to archive an
 * image that still runs.
 */
export async function startDemoWorld(options: { now?: number } = {}): Promise<DemoWorld> {
  const now = options.now ?? Date.now();
  const basic = (findings: Record<string, number>) => ({
    kind: 'native-basic' as const,
    status: 'COMPLETE' as const,
    findings,
  });
  const img = (tags: string[], pushedDaysAgo: number, extra: Partial<SimImage> = {}): SimImage => ({
    tags,
    pushedAt: ago(now, pushedDaysAgo),
    lastRecordedPullTime: ago(now, 1),
    ...extra,
  });
  const ecr = await startEcrSimulator({
    scenario: {
      callerAccount: DEMO_ACCOUNT,
      registries: [
        {
          accountId: DEMO_ACCOUNT,
          region: DEMO_REGION,
          // AWS-native basic scanning on push: what a first pull through the cache gets scanned with.
          scanning: { kind: 'native-basic', scanDurationMs: 2 * 60_000 },
          pullThroughCacheRules: [
            {
              ecrRepositoryPrefix: 'docker-hub',
              upstreamRegistryUrl: 'registry-1.docker.io',
              credentialArn: `arn:aws:secretsmanager:${DEMO_REGION}:${DEMO_ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-Xy12Ab`,
              createdAt: ago(now, 200),
              upstream: {
                'library/nginx': [
                  { tags: ['1.27'], pushedAt: ago(now, 30), vulnerabilities: { MEDIUM: 2, LOW: 3 } },
                ],
              },
            },
          ],
          repositories: [
            {
              name: 'payments/api',
              images: [
                img(['v2.3.0'], 40, { scan: basic({ HIGH: 2, MEDIUM: 5 }) }),
                img(['v2.4.0'], 3, { scan: basic({ MEDIUM: 1 }) }),
              ],
            },
            {
              name: 'payments/ledger',
              images: [img(['v1.9.2'], 60, { scan: basic({ CRITICAL: 3, HIGH: 1, MEDIUM: 7 }) })],
            },
            {
              name: 'web/frontend',
              // `stable` is moved below, after pods started on this image: they drift.
              images: [img(['stable'], 20, { scan: basic({ LOW: 4 }) })],
            },
            {
              name: 'batch/reports',
              images: [
                img(['2025.06'], 500, {
                  imageStatus: 'ARCHIVED',
                  lastRecordedPullTime: ago(now, 200),
                  scan: basic({}),
                }),
                img(['2026.11'], 5, {
                  scan: {
                    kind: 'enhanced',
                    status: 'ACTIVE',
                    findings: { HIGH: 1, UNTRIAGED: 2 },
                    includeCounts: false,
                  },
                }),
              ],
            },
            {
              name: 'platform/metrics-agent',
              images: [
                img(['v0.9.1'], 300, { lastRecordedPullTime: ago(now, 120), scan: basic({ LOW: 2 }) }),
              ],
              // The agent runs for months without a pull: this policy archives it in ten days, and the
              // next node that needs it would get a 404. The forecast and lifecycleRisk say so first.
              lifecyclePolicy: {
                text: JSON.stringify({
                  rules: [
                    {
                      rulePriority: 1,
                      description: 'archive images not pulled in 130 days',
                      selection: {
                        tagStatus: 'any',
                        countType: 'sinceImagePulled',
                        countUnit: 'days',
                        countNumber: 130,
                      },
                      action: { type: 'transition', targetStorageClass: 'archive' },
                    },
                  ],
                }),
                lastEvaluatedAt: new Date(now - 6 * 3_600_000),
              },
            },
            {
              name: 'platform/migrations',
              images: [img(['v5'], 1, { scan: { kind: 'native-basic', status: 'IN_PROGRESS' } })],
            },
            { name: 'tools/debug', images: [img(['1.0'], 90, { scan: basic({ MEDIUM: 2 }) })] },
            {
              // docker/build-push-action's default: an OCI index of the platform image and its
              // provenance attestation. The tag names the index; the findings are the platform image's.
              name: 'payments/checkout',
              images: [
                img(['v1.4.0'], 2, {
                  index: {
                    platforms: [{ platform: 'linux/amd64', scan: basic({ CRITICAL: 2, HIGH: 1 }) }],
                    attestations: true,
                  },
                }),
              ],
            },
            {
              name: 'platform/gateway',
              images: [
                img(['v3.2.1'], 6, {
                  index: {
                    platforms: [
                      { platform: 'linux/amd64', scan: basic({ HIGH: 3, MEDIUM: 2 }) },
                      { platform: 'linux/arm64', scan: basic({ MEDIUM: 1 }) },
                    ],
                    attestations: true,
                  },
                }),
              ],
            },
            {
              name: 'identity/auth',
              imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
              imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
              images: [img(['v2.0.1', 'latest'], 12, { scan: basic({ LOW: 1 }) })],
            },
          ],
        },
        {
          accountId: DEMO_ACCOUNT,
          region: 'eu-west-1',
          repositories: [
            { name: 'payments/api', images: [img(['v2.4.0'], 3, { scan: basic({ MEDIUM: 1 }) })] },
          ],
        },
      ],
    },
  });

  const digestOf = (region: string, repository: string, tag: string) =>
    ecr.image({ registryId: DEMO_ACCOUNT, region, repository, tag })?.digest ?? '';
  const oldFrontend = digestOf(DEMO_REGION, 'web/frontend', 'stable');
  // CI pushed a new `stable` after the frontend pods started: the nodes still run the old digest.
  ecr.pushImage(
    { registryId: DEMO_ACCOUNT, region: DEMO_REGION, repository: 'web/frontend' },
    img(['stable'], 0.2, { scan: basic({ LOW: 1 }) }),
  );

  // The OpenReports CRDs, as Kyverno or Policy Reporter (or the chart's reports.installCRDs) install them.
  const kube = await startKubeSimulator({
    crds: openReportsCrds(),
    namespaces: ['default', 'kube-system', 'payments', 'web', 'batch', 'platform', 'identity'],
  });
  const c = (name: string, image: string): ContainerInput => ({ name, image });
  const running = (image: string, region = DEMO_REGION) => {
    const [repository, tag] = image.slice(image.indexOf('/') + 1).split(':') as [string, string];
    return digestOf(region, repository, tag);
  };
  const pods = [
    ...[1, 2, 3].map((i) =>
      buildPod({
        namespace: 'payments',
        name: `payments-api-7d9f-${i}`,
        nodeName: `ip-10-0-1-${i}.ec2.internal`,
        containers: [c('api', `${DEMO_HOST}/payments/api:v2.4.0`)],
        initContainers: [c('migrate', `${DEMO_HOST}/platform/migrations:v5`)],
        imageIDs: {
          api: running(`${DEMO_HOST}/payments/api:v2.4.0`),
          migrate: running(`${DEMO_HOST}/platform/migrations:v5`),
        },
      }),
    ),
    buildPod({
      namespace: 'payments',
      name: 'payments-api-eu-0',
      nodeName: 'ip-10-1-1-1.eu-west-1.compute.internal',
      containers: [c('api', `${EU_HOST}/payments/api:v2.4.0`)],
      imageIDs: { api: running(`${EU_HOST}/payments/api:v2.4.0`, 'eu-west-1') },
    }),
    buildPod({
      namespace: 'payments',
      name: 'ledger-0',
      nodeName: 'ip-10-0-1-4.ec2.internal',
      containers: [
        c('ledger', `${DEMO_HOST}/payments/ledger:v1.9.2`),
        c('proxy', 'docker.io/envoyproxy/envoy:v1.31.0'),
      ],
      imageIDs: { ledger: running(`${DEMO_HOST}/payments/ledger:v1.9.2`) },
    }),
    ...[1, 2].map((i) =>
      buildPod({
        namespace: 'web',
        name: `frontend-5c6b-${i}`,
        nodeName: `ip-10-0-2-${i}.ec2.internal`,
        containers: [c('web', `${DEMO_HOST}/web/frontend:stable`)],
        imageIDs: { web: oldFrontend, debugger: running(`${DEMO_HOST}/tools/debug:1.0`) },
        ...(i === 1 ? { ephemeralContainers: [c('debugger', `${DEMO_HOST}/tools/debug:1.0`)] } : {}),
      }),
    ),
    buildPod({
      namespace: 'web',
      name: 'frontend-canary',
      containers: [c('web', `${DEMO_HOST}/web/frontend:v3-rc1`)],
    }),
    buildPod({
      namespace: 'batch',
      name: 'reports-legacy-28731',
      nodeName: 'ip-10-0-3-1.ec2.internal',
      containers: [c('report', `${DEMO_HOST}/batch/reports:2025.06`)],
      imageIDs: { report: running(`${DEMO_HOST}/batch/reports:2025.06`) },
    }),
    buildPod({
      namespace: 'batch',
      name: 'reports-28732',
      nodeName: 'ip-10-0-3-2.ec2.internal',
      containers: [c('report', `${DEMO_HOST}/batch/reports:2026.11`)],
      imageIDs: { report: running(`${DEMO_HOST}/batch/reports:2026.11`) },
    }),
    buildPod({
      namespace: 'platform',
      name: 'metrics-agent-x7k2p',
      nodeName: 'ip-10-0-1-1.ec2.internal',
      containers: [c('agent', `${DEMO_HOST}/platform/metrics-agent:v0.9.1`)],
      imageIDs: { agent: running(`${DEMO_HOST}/platform/metrics-agent:v0.9.1`) },
    }),
    buildPod({
      namespace: 'payments',
      name: 'checkout-6b8d-1',
      nodeName: 'ip-10-0-1-2.ec2.internal',
      containers: [c('checkout', `${DEMO_HOST}/payments/checkout:v1.4.0`)],
      imageIDs: { checkout: running(`${DEMO_HOST}/payments/checkout:v1.4.0`) },
    }),
    buildPod({
      namespace: 'platform',
      name: 'gateway-7f4c-1',
      nodeName: 'ip-10-0-1-3.ec2.internal',
      containers: [c('gateway', `${DEMO_HOST}/platform/gateway:v3.2.1`)],
      imageIDs: { gateway: running(`${DEMO_HOST}/platform/gateway:v3.2.1`) },
    }),
    buildPod({
      namespace: 'identity',
      name: 'auth-5d9b-1',
      nodeName: 'ip-10-0-1-4.ec2.internal',
      containers: [c('auth', `${DEMO_HOST}/identity/auth:v2.0.1`)],
      imageIDs: { auth: running(`${DEMO_HOST}/identity/auth:v2.0.1`) },
    }),
    // Just created, not started: no node has pulled docker-hub/library/nginx:1.27 through the cache yet.
    buildPod({
      namespace: 'web',
      name: 'edge-proxy-0',
      containers: [c('nginx', `${DEMO_HOST}/docker-hub/library/nginx:1.27`)],
    }),
    buildPod({
      namespace: 'kube-system',
      name: 'coredns-6f9c-abcde',
      nodeName: 'ip-10-0-1-1.ec2.internal',
      containers: [c('coredns', 'registry.k8s.io/coredns/coredns:v1.11.3')],
    }),
  ];
  try {
    kube.bulkLoad(pods);
  } catch (err) {
    await Promise.all([kube.close(), ecr.close()]);
    throw err;
  }

  return {
    kube,
    ecr,
    async close() {
      await Promise.all([kube.close(), ecr.close()]);
    },
  };
}
