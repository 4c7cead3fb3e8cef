/**
 * The container image runs one bundled file (scripts/bundle.ts), not src/ and node_modules. The
 * bundler leaves out what nothing imports and is told that client-node's modules do no work on
 * import, so what the image runs is checked here as a program: the bundle alone in a directory with
 * no node_modules anywhere above it, `serve` against both simulators with every part that talks to
 * the apiserver or ECR turned on (pod watch, lease, Events, Reports, the webhook), then `check` and
 * `demo`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleProgram } from '../scripts/bundle.ts';
import { openReportsCrds } from '../sim/kube/index.ts';
import { scanned } from './helpers/ecr.ts';
import { createTestCertificates, reviewOf, type TestCertificates } from './helpers/reviews.ts';
import { ecrImage, ecrRef, eventually, startWorld, type World } from './helpers/world.ts';
import { IMAGE_NODE_FLAGS } from '../bench/image.ts';

const ROOT = new URL('..', import.meta.url).pathname;

let dir: string;
let program: string;
let world: World;
let certs: TestCertificates;
let env: Record<string, string>;

before(async () => {
  // Under the system's temporary directory, where no node_modules can be found by walking up.
  dir = await mkdtemp(join(tmpdir(), 'ecr-warden-bundle-'));
  program = join(dir, 'ecr-warden.mjs');
  await bundleProgram({ entry: join(ROOT, 'src/cli.ts'), outfile: program });
  world = await startWorld({
    repositories: [
      { name: 'ledger', images: [ecrImage(['v1'], { scan: scanned({ CRITICAL: 3 }) })] },
      { name: 'web', images: [ecrImage(['stable'], { scan: scanned({}) })] },
    ],
    kube: { crds: openReportsCrds() },
  });
  world.kube.upsertPod(world.pod('shop', 'ledger-0', { ledger: ecrRef('ledger', 'v1') }));
  world.kube.upsertPod(world.pod('shop', 'web-0', { web: ecrRef('web', 'stable') }));
  await world.kube.writeKubeconfig(join(dir, 'kubeconfig'), 'shop');
  certs = await createTestCertificates();
  env = {
    PATH: process.env.PATH ?? '',
    HOME: '/nonexistent',
    KUBECONFIG: join(dir, 'kubeconfig'),
    AWS_ENDPOINT_URL_ECR: world.ecr.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    POD_NAME: 'ecr-warden-0',
    POD_NAMESPACE: 'shop',
  };
});

after(async () => {
  await world?.close();
  await certs?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  // Run as the image runs it: its ENTRYPOINT's node flags, then the bundle.
  const child = spawn(process.execPath, [...IMAGE_NODE_FLAGS, program, ...args], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function review(port: number, body: unknown): Promise<{ response: { allowed: boolean } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca: certs.ca.cert,
        servername: 'localhost',
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve(JSON.parse(text) as { response: { allowed: boolean } }));
      },
    );
    req.on('error', reject);
    req.setHeader('Content-Type', 'application/json');
    req.end(JSON.stringify(body));
  });
}

describe('the bundled program', () => {
  it('is one file, with nothing beside it to load, no simulator and no source map in it', async () => {
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.mjs') || f === 'node_modules'),
      ['ecr-warden.mjs'],
    );
    const text = await readFile(program, 'utf8');
    assert.doesNotMatch(text, /sourceMappingURL/);
    for (const simulatorOnly of ['startEcrSimulator', 'startKubeSimulator', 'generateCertificateAuthority'])
      assert.equal(text.includes(simulatorOnly), false, `${simulatorOnly} is not bundled`);
  });

  it('serves: watches pods, leads, writes Events and Reports, answers the webhook, exports metrics', async () => {
    const config = join(dir, 'serve.yaml');
    await writeFile(
      config,
      [
        'logLevel: info',
        'metrics: { address: 127.0.0.1, port: 0 }',
        `webhook: { enabled: true, address: 127.0.0.1, port: 0, certFile: ${certs.certFile}, keyFile: ${certs.keyFile} }`,
        'leaderElection: { enabled: true }',
        'reports: { events: true, openReports: true }',
        'policy: { mode: enforce }',
        '',
      ].join('\n'),
    );
    const serve = start(['serve', '--config', config]);
    try {
      const started = await eventually(() => {
        const line = serve
          .output()
          .split('\n')
          .find((l) => l.includes('"ecr-warden serving"'));
        assert.ok(line, `serve has not started:\n${serve.output()}`);
        return JSON.parse(line) as { metrics: string; webhook: string };
      }, 30_000);
      const lease = await eventually(() => {
        const found = world.kube.lease('shop', 'ecr-warden');
        assert.ok(found?.spec?.holderIdentity?.startsWith('ecr-warden-0_'), 'the lease is held');
        return found;
      }, 30_000);
      assert.match(String(lease?.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const text = await eventually(async () => {
        const body = await (await fetch(`${started.metrics}/metrics`)).text();
        assert.match(body, /^ecr_warden_image_containers\{[^}]*repository="ledger",tag="v1"[^}]*\} 1$/m);
        assert.match(body, /^ecr_warden_policy_violations\{[^}]*check="severity"[^}]*\} 1$/m);
        return body;
      }, 30_000);
      assert.match(text, /^ecr_warden_pods_tracked 2$/m);
      assert.match(text, /^ecr_warden_leader 1$/m);
      await eventually(() => {
        const events = world.kube.events({ regarding: { kind: 'Pod', name: 'ledger-0' } });
        assert.deepEqual(
          events.map((e) => (e as unknown as { reason: string }).reason),
          ['ImagePolicyViolation'],
        );
      }, 30_000);
      await eventually(() => {
        const report = world.kube.report('shop', 'ecr-warden') as { results: unknown[] } | undefined;
        assert.equal(report?.results.length, 1);
      }, 30_000);
      const port = Number(new URL(started.webhook).port);
      const denied = await review(port, reviewOf('Pod', [ecrRef('ledger', 'v1')], { namespace: 'shop' }));
      assert.equal(denied.response.allowed, false);
      const allowed = await review(port, reviewOf('Pod', [ecrRef('web', 'stable')], { namespace: 'shop' }));
      assert.equal(allowed.response.allowed, true);
    } finally {
      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited, 0, serve.output());
    }
    // Released on the way out, so a successor need not wait for it to expire.
    assert.equal(world.kube.lease('shop', 'ecr-warden')?.spec?.holderIdentity ?? '', '');
  });

  it('checks an image against ECR', async () => {
    const check = start(['check', '-o', 'json', ecrRef('ledger', 'v1')]);
    assert.equal(await check.exited, 0, check.output());
    const [image] = JSON.parse(check.output()) as [{ status: string; scan: { findings: object } }];
    assert.equal(image.status, 'resolved');
    assert.deepEqual(image.scan.findings, { CRITICAL: 3 });
  });

  it('says in one line that the demo is not in it', async () => {
    const demo = start(['demo']);
    assert.equal(await demo.exited, 2);
    assert.equal(
      demo.output(),
      'ecr-warden: the demo is not part of the container image; run it from the npm package: npx ecr-warden demo\n',
    );
  });
});
