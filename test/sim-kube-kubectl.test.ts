import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { buildPod, type KubeSimulator, type RequestInfo, startKubeSimulator } from '../sim/kube/index.ts';

/**
 * The real kubectl against the simulator: discovery, server-side printing, chunked lists,
 * create/apply/delete and watch must all work as they do against a cluster.
 */

const KUBECTL = '/usr/bin/kubectl';
const skip = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL}; skipping the kubectl tests`;
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v7';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl against the simulator', { skip }, () => {
  let sim: KubeSimulator;
  let home: string;
  let env: NodeJS.ProcessEnv;
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

  function requestsSince(mark: number, verb: string, resource: string): RequestInfo[] {
    return requests.slice(mark).filter((r) => r.verb === verb && r.isResource && r.resource === resource);
  }

  before(async () => {
    sim = await startKubeSimulator();
    sim.on('request', (info) => requests.push(info));
    home = await mkdtemp(join(tmpdir(), 'sim-kube-kubectl-'));
    const kubeconfig = join(home, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    // A private HOME keeps kubectl's discovery cache away from the user's.
    env = { HOME: home, KUBECONFIG: kubeconfig, PATH: process.env.PATH };
    sim.upsertPod(
      buildPod({
        namespace: 'default',
        name: 'api-0',
        containers: [{ name: 'api', image: IMAGE }],
        nodeName: 'n1',
      }),
    );
    sim.upsertPod(
      buildPod({
        namespace: 'default',
        name: 'api-1',
        containers: [{ name: 'api', image: IMAGE }],
        nodeName: 'n1',
        phase: 'Failed',
      }),
    );
    for (let i = 0; i < 5; i++) {
      sim.upsertPod(
        buildPod({
          namespace: 'shop',
          name: `web-${i}`,
          containers: [{ name: 'web', image: IMAGE }],
          nodeName: 'n2',
        }),
      );
    }
  });

  after(async () => {
    await sim.close();
    await rm(home, { recursive: true, force: true });
  });

  it('lists every pod in every namespace as JSON', async () => {
    const list = JSON.parse(await ok('get', 'pods', '-A', '-o', 'json')) as {
      kind: string;
      items: Array<{
        metadata: { namespace: string; name: string };
        status: { containerStatuses: Array<{ imageID: string }> };
      }>;
    };
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
      sim.pods().map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    );
    assert.match(list.items[0]?.status.containerStatuses[0]?.imageID ?? '', /api@sha256:[0-9a-f]{64}$/);
  });

  it('pages with --chunk-size through limit and continue', async () => {
    const mark = requests.length;
    const list = JSON.parse(await ok('get', 'pods', '-A', '-o', 'json', '--chunk-size=2')) as {
      items: unknown[];
    };
    assert.equal(list.items.length, 7);
    const pages = requestsSince(mark, 'list', 'pods');
    assert.equal(pages.length, 4);
    assert.ok(pages.every((p) => p.query.get('limit') === '2'));
    assert.deepEqual(
      pages.map((p) => p.query.has('continue')),
      [false, true, true, true],
    );
  });

  it('prints the server-side table a cluster prints', async () => {
    const out = await ok('get', 'pods', '-n', 'default');
    const lines = out.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.match(lines[1] ?? '', /^api-0\s+1\/1\s+Running\s+0\s+\d+s$/);
    assert.match(lines[2] ?? '', /^api-1\s+0\/1\s+Error\s+0\s+\d+s$/);
  });

  it('reports a missing pod as the API server does', async () => {
    const result = await kubectl('get', 'pod', 'nope');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error from server \(NotFound\): pods "nope" not found/);
  });

  it('creates, applies and deletes from a manifest', async () => {
    const manifest = join(home, 'pod.yaml');
    const write = (tag: string) =>
      writeFile(
        manifest,
        [
          'apiVersion: v1',
          'kind: Pod',
          'metadata:',
          '  name: from-file',
          '  namespace: shop',
          'spec:',
          '  containers:',
          '  - name: app',
          `    image: ${IMAGE.replace(':v7', `:${tag}`)}`,
          '',
        ].join('\n'),
      );

    await write('v1');
    const mark = requests.length;
    assert.match(await ok('create', '-f', manifest), /pod\/from-file created/);
    const [post] = requestsSince(mark, 'create', 'pods');
    assert.equal(post?.query.get('fieldValidation'), 'Strict', 'kubectl trusts the server to validate');
    assert.equal(sim.pod('shop', 'from-file')?.status?.phase, 'Pending');

    await write('v2');
    assert.match(await ok('apply', '-f', manifest), /pod\/from-file configured/);
    assert.equal(sim.pod('shop', 'from-file')?.spec.containers[0]?.image, IMAGE.replace(':v7', ':v2'));
    assert.equal(requestsSince(mark, 'patch', 'pods').length, 1);

    assert.match(await ok('delete', '-f', manifest), /pod "from-file" deleted/);
    assert.equal(sim.pod('shop', 'from-file'), undefined);
  });

  it('shows leases with their holder', async () => {
    const leases = sim.kubeConfig().makeApiClient(CoordinationV1Api);
    await leases.createNamespacedLease({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'ecr-warden' },
        spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15 },
      },
    });
    const out = await ok('get', 'leases', '-n', 'kube-system');
    assert.match(out, /^NAME\s+HOLDER\s+AGE\necr-warden\s+replica-a\s+\d+s\n$/);
  });

  it('watches with get -w and prints new pods as they come', async () => {
    const child = spawn(KUBECTL, ['get', 'pods', '-n', 'shop', '-w'], { env });
    try {
      // One listener gathers the output; each wait looks for a whole line (a chunk may end mid-line).
      let out = '';
      const waiters = new Set<() => void>();
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        for (const check of waiters) check();
      });
      const seen = (line: RegExp) =>
        new Promise<void>((resolve, reject) => {
          const check = () => {
            if (!line.test(out)) return;
            waiters.delete(check);
            resolve();
          };
          waiters.add(check);
          child.once('exit', () => reject(new Error(`kubectl exited before printing ${line}: ${out}`)));
          check();
        });
      await seen(/^web-4\s.*\n/m);
      await sim.waitForWatches(1, { resource: 'pods', namespace: 'shop' });
      sim.upsertPod(
        buildPod({ namespace: 'shop', name: 'late-arrival', containers: [{ name: 'web', image: IMAGE }] }),
      );
      await seen(/^late-arrival\s.*\n/m);
      assert.match(out, /^late-arrival\s+0\/1\s+Pending/m);
    } finally {
      child.kill();
    }
  });
});
