import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificateAuthority, issueServingCertificate } from '../self-signed.ts';
import { parseConfig } from '../../src/config/index.ts';
import { startController } from '../../src/commands/serve.ts';
import type { Logger } from '../../src/log.ts';
import { DEMO_HOST, startDemoWorld } from './world.ts';
import { SIMULATOR_CREDENTIALS } from '../ecr/index.ts';
import { sendSampleReview } from './reviews.ts';
import { runReport } from '../../src/commands/report.ts';

/** The demo listens where a user expects (9090, 8443) unless those are taken; then anywhere free. */
async function portOr(preferred: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen(preferred, host, () => probe.close(() => resolve(preferred)));
  });
}

/**
 * `ecr-warden demo`: a simulated Kubernetes API and a simulated ECR in this process, seeded with a
 * realistic fleet, and `serve` running against them through the real clients (client-node, the AWS
 * SDK, HTTPS for the webhook). Prints where everything listens and a report, then runs until
 * Ctrl-C. Resolves with the exit status once stopped.
 */
export async function runDemo(out: NodeJS.WritableStream, log: Logger, signal: AbortSignal): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ecr-warden-demo-'));
  const world = await startDemoWorld();
  try {
    const ca = await generateCertificateAuthority('ecr-warden demo CA');
    const serving = await issueServingCertificate(ca, ['localhost', '127.0.0.1']);
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    const caFile = join(dir, 'ca.crt');
    const kubeconfigFile = join(dir, 'kubeconfig');
    await Promise.all([
      writeFile(certFile, serving.cert),
      writeFile(keyFile, serving.key, { mode: 0o600 }),
      writeFile(caFile, ca.cert),
      world.kube.writeKubeconfig(kubeconfigFile),
    ]);
    const config = parseConfig({
      logLevel: 'warn',
      metrics: { address: '127.0.0.1', port: await portOr(9090, '127.0.0.1') },
      webhook: {
        enabled: true,
        address: '127.0.0.1',
        port: await portOr(8443, '127.0.0.1'),
        certFile,
        keyFile,
        kinds: ['Pod', 'Deployment'],
        pinDigests: true,
      },
      // The demo shows enforcement; a real rollout starts in audit (see docs/rollout.md).
      policy: { mode: 'enforce', checks: { nonEcr: { action: 'warn' } } },
      // Both places Kubernetes users look: Events on pods and a Report per namespace.
      reports: { events: true, openReports: true },
    });
    const controller = await startController(config, {
      log,
      kubeConfig: world.kube.kubeConfig(),
      ecrEndpoint: world.ecr.endpoint,
      ecrCredentials: SIMULATOR_CREDENTIALS,
    });
    try {
      await controller.whenInventorySynced();
      await controller.inventory?.settled();
      out.write(
        [
          'ecr-warden demo: a simulated EKS cluster and Amazon ECR, with ecr-warden serving against them.',
          '',
          `  metrics     ${controller.metricsUrl}/metrics   (also /healthz, /readyz)`,
          `  webhook     ${controller.webhookUrl}/validate and /mutate   (CA: ${caFile})`,
          `  kube API    ${world.kube.url}   (KUBECONFIG=${kubeconfigFile})`,
          `  ECR API     ${world.ecr.endpoint}   (AWS_ENDPOINT_URL_ECR)`,
          '',
          'Try, in another terminal:',
          `  curl -s ${controller.metricsUrl}/metrics | grep '^ecr_warden_image_scan_findings'`,
          `  KUBECONFIG=${kubeconfigFile} kubectl get pods -A`,
          `  KUBECONFIG=${kubeconfigFile} kubectl describe pod -n payments ledger-0     # its Events`,
          `  KUBECONFIG=${kubeconfigFile} kubectl get reports -A                        # OpenReports`,
          `  KUBECONFIG=${kubeconfigFile} AWS_ENDPOINT_URL_ECR=${world.ecr.endpoint} AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \\`,
          '    node src/cli.ts report -A',
          `  AWS_ENDPOINT_URL_ECR=${world.ecr.endpoint} AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \\`,
          `    node src/cli.ts check --mode enforce ${DEMO_HOST}/payments/ledger:v1.9.2`,
          '',
          'What the cluster runs (policy.mode enforce):',
          '',
        ].join('\n'),
      );
      await runReport(
        config,
        controller.core,
        world.kube.kubeConfig(),
        { namespace: null, output: 'table', failOn: null },
        out,
        log,
      );
      if (controller.webhookUrl) await showAdmission(out, controller.webhookUrl, ca.cert);
      out.write('\nPress Ctrl-C to stop.\n');
      if (!signal.aborted) await once(signal, 'abort');
    } finally {
      await controller.stop();
    }
    return 0;
  } finally {
    await world.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Two sample Pods through /validate and one through /mutate, printed as the apiserver would see them. */
async function showAdmission(out: NodeJS.WritableStream, webhookUrl: string, ca: string): Promise<void> {
  const lines = ['', 'Admission, as the apiserver would ask it:'];
  const bad = await sendSampleReview(webhookUrl, '/validate', ca, {
    name: 'ledger-canary',
    namespace: 'payments',
    images: { ledger: `${DEMO_HOST}/payments/ledger:v1.9.2`, proxy: 'docker.io/envoyproxy/envoy:v1.31.0' },
  });
  lines.push(`  POST /validate  Pod payments/ledger-canary → ${bad.allowed ? 'allowed' : 'denied'}`);
  for (const line of (bad.message ?? '').split('\n').filter(Boolean)) lines.push(`      ${line}`);
  for (const w of bad.warnings) lines.push(`      warning: ${w}`);
  const good = await sendSampleReview(webhookUrl, '/validate', ca, {
    name: 'api-canary',
    namespace: 'payments',
    images: { api: `${DEMO_HOST}/payments/api:v2.4.0` },
  });
  lines.push(`  POST /validate  Pod payments/api-canary → ${good.allowed ? 'allowed' : 'denied'}`);
  const pinned = await sendSampleReview(webhookUrl, '/mutate', ca, {
    name: 'api-canary',
    namespace: 'payments',
    images: { api: `${DEMO_HOST}/payments/api:v2.4.0` },
  });
  for (const op of (pinned.patch ?? []) as { path?: string; value?: unknown }[]) {
    lines.push(`  POST /mutate    Pod payments/api-canary → ${op.path} = ${String(op.value)}`);
  }
  out.write(`${lines.join('\n')}\n`);
}

export { startDemoWorld };
