import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventsV1Api, PatchStrategy, setHeaderOptions, V1MicroTime } from '@kubernetes/client-node';
import { buildPod, type KubeSimulator, type RequestInfo, startKubeSimulator } from '../sim/kube/index.ts';
import { eventBody, TestClock } from './sim-kube-support.ts';

/**
 * The real kubectl reading what ecr-warden writes: Events on pods (`kubectl describe pod`,
 * `kubectl get events`) and OpenReports Reports, after installing the chart's CRDs with
 * `kubectl apply`, exactly as a user of a cluster would.
 */

const KUBECTL = '/usr/bin/kubectl';
const skip = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL}; skipping the kubectl tests`;
const CRD_DIR = fileURLToPath(new URL('../charts/ecr-warden/files/crds/', import.meta.url));
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v7';
const NOTE = `container api: image ${IMAGE} fails check critical-findings`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl reads Events and OpenReports from the simulator', { skip }, () => {
  const clock = new TestClock();
  let sim: KubeSimulator;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let podUid: string;
  const requests: RequestInfo[] = [];

  /** Runs kubectl asynchronously: the simulator lives in this process and must keep serving. */
  function kubectl(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      execFile(KUBECTL, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(...args: string[]): Promise<string> {
    const result = await kubectl(...args);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  before(async () => {
    // kubectl computes ages from its own clock, so the simulator's runs at real time here.
    clock.ms = Date.now();
    sim = await startKubeSimulator({ clock: clock.now, namespaces: ['default', 'shop'] });
    sim.on('request', (info) => requests.push(info));
    home = await mkdtemp(join(tmpdir(), 'sim-kube-kubectl-results-'));
    const kubeconfig = join(home, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    env = { HOME: home, KUBECONFIG: kubeconfig, PATH: process.env.PATH };
    podUid = sim.upsertPod(
      buildPod({
        namespace: 'default',
        name: 'api-0',
        containers: [{ name: 'api', image: IMAGE }],
        nodeName: 'n1',
      }),
    ).metadata.uid!;
    sim.upsertPod(
      buildPod({
        namespace: 'default',
        name: 'api-1',
        containers: [{ name: 'api', image: IMAGE }],
        nodeName: 'n1',
      }),
    );
    const events = sim.kubeConfig().makeApiClient(EventsV1Api);
    const start = clock.ms - 70_000;
    await events.createNamespacedEvent({
      namespace: 'default',
      body: eventBody({ podUid, note: NOTE, eventTime: start }),
    });
    // Seen twice more since, the last time ten seconds ago: a series, as client-go's recorder keeps it.
    await events.patchNamespacedEvent(
      {
        namespace: 'default',
        name: 'api-0.1',
        body: { series: { count: 3, lastObservedTime: new V1MicroTime(clock.ms - 10_000) } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await events.createNamespacedEvent({
      namespace: 'default',
      body: eventBody({
        pod: 'api-1',
        reason: 'ImageDrift',
        note: 'container api drifted',
        eventTime: start,
      }),
    });
  });

  after(async () => {
    await sim.close();
    await rm(home, { recursive: true, force: true });
  });

  it('shows the Events of a pod in `kubectl describe pod`, the series as a count', async () => {
    const mark = requests.length;
    const out = await ok('describe', 'pod', 'api-0');
    const events = out.slice(out.indexOf('Events:'));
    assert.match(events, /^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/);
    assert.match(
      events,
      new RegExp(
        `\\n\\s+Warning\\s+ImagePolicyViolation\\s+\\d+s \\(x3 over \\d+s\\)\\s+ecr-warden\\.io/controller\\s+${NOTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`,
      ),
    );
    assert.doesNotMatch(events, /ImageDrift/, 'only this pod’s Events');
    // What kubectl 1.32 asks for: core v1 Events of the pod by name, namespace and uid, in pages of 500.
    const asked = requests.slice(mark).filter((r) => r.isResource && r.resource === 'events');
    assert.equal(asked.length, 1);
    const [list] = asked;
    assert.equal(list?.path, '/api/v1/namespaces/default/events');
    assert.equal(list?.verb, 'list');
    assert.equal(list?.query.get('limit'), '500');
    assert.deepEqual(list?.query.get('fieldSelector')?.split(',').sort(), [
      'involvedObject.name=api-0',
      'involvedObject.namespace=default',
      `involvedObject.uid=${podUid}`,
    ]);
  });

  it('prints Events in `kubectl get events`, wide and filtered', async () => {
    const lines = (await ok('get', 'events')).trim().split('\n');
    assert.match(lines[0] ?? '', /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s{2,}/).slice(1, 4)),
      [
        ['Warning', 'ImagePolicyViolation', 'pod/api-0'],
        ['Warning', 'ImageDrift', 'pod/api-1'],
      ],
    );
    const wide = await ok('get', 'events', '-o', 'wide', '--field-selector', 'involvedObject.name=api-0');
    assert.match(
      wide,
      /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME\n/,
    );
    assert.match(
      wide,
      /ecr-warden\.io\/controller, ecr-warden-7d9f-abcde\s+container api: .*\s+\d+s\s+3\s+api-0\.1\n$/,
    );
    const mark = requests.length;
    const v1 = await ok(
      'get',
      'events.events.k8s.io',
      '--field-selector',
      'regarding.name=api-1',
      '-o',
      'name',
    );
    assert.match(v1, /^event(\.events\.k8s\.io)?\/api-1\.1\n$/);
    const [asked] = requests.slice(mark).filter((r) => r.isResource && r.resource === 'events');
    assert.equal(asked?.path, '/apis/events.k8s.io/v1/namespaces/default/events');
    assert.equal(asked?.query.get('fieldSelector'), 'regarding.name=api-1');
  });

  it('installs the chart’s CRDs with `kubectl apply`, then creates, lists and deletes Reports', async () => {
    const applied = await ok('apply', '-f', CRD_DIR);
    assert.match(
      applied,
      /customresourcedefinition\.apiextensions\.k8s\.io\/reports\.openreports\.io created/,
    );
    assert.match(
      applied,
      /customresourcedefinition\.apiextensions\.k8s\.io\/clusterreports\.openreports\.io created/,
    );
    assert.equal((await kubectl('get', 'reports', '-A')).stderr, 'No resources found\n');

    const manifest = join(home, 'report.yaml');
    const write = (namespace: string, extra = '') =>
      writeFile(
        manifest,
        [
          'apiVersion: openreports.io/v1alpha1',
          'kind: Report',
          'metadata:',
          '  name: ecr-warden',
          `  namespace: ${namespace}`,
          'source: ecr-warden',
          'summary: {pass: 0, fail: 2, warn: 1, error: 0, skip: 0}',
          'results:',
          '- policy: ecr-warden',
          '  rule: critical-findings',
          '  result: fail',
          extra,
          '',
        ].join('\n'),
      );
    await write('default');
    assert.match(await ok('create', '-f', manifest), /report\.openreports\.io\/ecr-warden created/);
    await write('shop');
    assert.match(await ok('apply', '-f', manifest), /report\.openreports\.io\/ecr-warden created/);

    for (const resource of ['reports', 'reports.openreports.io']) {
      const lines = (await ok('get', resource, '-A')).trim().split('\n');
      assert.match(lines[0] ?? '', /^NAMESPACE\s+NAME\s+PASS\s+FAIL\s+WARN\s+ERROR\s+SKIP\s+AGE$/);
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(/\s+/).slice(0, 7)),
        [
          ['default', 'ecr-warden', '0', '2', '1', '0', '0'],
          ['shop', 'ecr-warden', '0', '2', '1', '0', '0'],
        ],
      );
    }
    assert.match(await ok('get', 'reps', '-n', 'shop', '-o', 'wide'), /^NAME\s+KIND\s+NAME\s+PASS/);

    // kubectl asks the server for Strict field validation: a typo is refused, not dropped.
    await write('default', 'resutls: []');
    const typo = await kubectl('replace', '-f', manifest);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /strict decoding error: unknown field "resutls"/);

    assert.match(
      await ok('delete', 'report', 'ecr-warden', '-n', 'shop'),
      /report\.openreports\.io "ecr-warden" deleted/,
    );
    assert.deepEqual(
      sim.reports().map((r) => r.metadata.namespace),
      ['default'],
    );
  });
});
