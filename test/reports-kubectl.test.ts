import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ResultWriters } from '../src/reports/index.ts';
import { buildPod, type KubeSimulator, openReportsCrds, startKubeSimulator } from '../sim/kube/index.ts';
import {
  drift,
  FakeFindingsSource,
  finding,
  ManualClock,
  podFindings,
  REGISTRY,
} from './helpers/findings.ts';

/**
 * What a user sees with the real kubectl once ecr-warden has written its results: the Event in
 * `kubectl describe pod`, the Reports in `kubectl get reports -A`.
 */

const KUBECTL = '/usr/bin/kubectl';
const skip = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL}; skipping the kubectl tests`;
const IMAGE = `${REGISTRY}/api:v7`;

describe('kubectl shows what the writers wrote', { skip }, () => {
  // kubectl computes ages from its own clock: the writers' and the simulator's start at real time.
  const clock = new ManualClock(Date.now());
  const source = new FakeFindingsSource();
  let sim: KubeSimulator;
  let writers: ResultWriters;
  let home: string;
  let env: NodeJS.ProcessEnv;

  function kubectl(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(KUBECTL, args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
      );
    });
  }

  before(async () => {
    sim = await startKubeSimulator({
      clock: clock.now,
      namespaces: ['default', 'shop'],
      crds: openReportsCrds(),
    });
    home = await mkdtemp(join(tmpdir(), 'reports-kubectl-'));
    const kubeconfig = join(home, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    env = { HOME: home, KUBECONFIG: kubeconfig, PATH: process.env.PATH };
    const pod = (namespace: string, name: string) =>
      sim.upsertPod(
        buildPod({ namespace, name, containers: [{ name: 'api', image: IMAGE }], nodeName: 'n1' }),
      ).metadata.uid!;
    source.set(
      [
        podFindings('shop', 'api-0', [finding()], pod('shop', 'api-0')),
        podFindings('shop', 'api-1', [drift()], pod('shop', 'api-1')),
        podFindings(
          'default',
          'web-0',
          [finding({ check: 'scanComplete', action: 'warn' })],
          pod('default', 'web-0'),
        ),
      ],
      { shop: { pass: 4 }, default: { pass: 1, error: 1 } },
    );
    writers = new ResultWriters({
      reports: { events: true, openReports: true },
      kubeConfig: sim.kubeConfig(),
      source,
      clock,
      instance: 'ecr-warden-7d9f-abcde',
    });
    writers.start();
    await clock.run([writers], 1000);
  });

  after(async () => {
    await writers?.stop();
    await sim?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('`kubectl describe pod` shows the pod’s Event, naming container, image and check', async () => {
    const out = await kubectl('describe', 'pod', 'api-0', '-n', 'shop');
    const events = out.slice(out.indexOf('Events:'));
    const message = finding().message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(
      events,
      new RegExp(
        `\\n\\s+Warning\\s+ImagePolicyViolation\\s+\\S+\\s+ecr-warden\\.io/controller\\s+${message}\\n`,
      ),
    );
    assert.doesNotMatch(events, /ImageDrift/, 'only this pod’s Events');
    assert.match(await kubectl('describe', 'pod', 'api-1', '-n', 'shop'), /Warning\s+ImageDrift\s+/);
  });

  it('`kubectl get reports -A` lists one Report per namespace with its summary', async () => {
    const lines = (await kubectl('get', 'reports', '-A')).trim().split('\n');
    assert.match(lines[0] ?? '', /^NAMESPACE\s+NAME\s+PASS\s+FAIL\s+WARN\s+ERROR\s+SKIP\s+AGE$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/).slice(0, 7)),
      [
        ['default', 'ecr-warden', '1', '0', '1', '1', '0'],
        ['shop', 'ecr-warden', '4', '1', '1', '0', '0'],
      ],
    );
  });
});
