import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ContainerJson } from '../src/commands/report.ts';
import type { ImageJson } from '../src/output/json.ts';
import { type EcrSimulator, startEcrSimulator } from '../sim/ecr/index.ts';
import { buildPod, type KubeSimulator, startKubeSimulator } from '../sim/kube/index.ts';
import { VERSION } from '../src/version.ts';
import { ACCOUNT, DAY, HOST, REGION } from './helpers/ecr.ts';

const CLI = new URL('../src/cli.ts', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const now = Date.now();
let ecr: EcrSimulator;
let kube: KubeSimulator;
let dir: string;
let awsEnv: Record<string, string>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecr-warden-cli-'));
  ecr = await startEcrSimulator({
    scenario: {
      registries: [
        {
          accountId: ACCOUNT,
          region: REGION,
          repositories: [
            {
              name: 'api',
              images: [
                {
                  tags: ['v7'],
                  pushedAt: new Date(now - 10 * DAY),
                  lastRecordedPullTime: new Date(now - DAY),
                  scan: { kind: 'native-basic', status: 'COMPLETE', findings: { CRITICAL: 3, HIGH: 1 } },
                },
                {
                  tags: ['v8'],
                  pushedAt: new Date(now - DAY),
                  scan: { kind: 'legacy-basic', status: 'COMPLETE', findings: { LOW: 1 } },
                },
              ],
            },
          ],
        },
      ],
    },
  });
  awsEnv = {
    AWS_ENDPOINT_URL_ECR: ecr.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  kube = await startKubeSimulator({ namespaces: ['default', 'shop'] });
  const v7 = ecr.image({ registryId: ACCOUNT, region: REGION, repository: 'api', tag: 'v7' })!.digest;
  kube.bulkLoad([
    buildPod({
      namespace: 'shop',
      name: 'api-0',
      nodeName: 'node-1',
      containers: [{ name: 'api', image: `${HOST}/api:v7` }],
      initContainers: [{ name: 'setup', image: `${HOST}/api:v8` }],
      imageIDs: { api: v7 },
    }),
  ]);
  await kube.writeKubeconfig(join(dir, 'kubeconfig'), 'shop');
});

after(async () => {
  await Promise.all([ecr?.close(), kube?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('ecr-warden check', () => {
  it('prints one JSON element per argument, in order, with the facts of SPEC section 7', async () => {
    const images = [`${HOST}/api:v7`, 'nginx', `${HOST}/api:nope`, 'Bad Ref!'];
    const r = await run(['check', '-o', 'json', ...images], awsEnv);
    assert.equal(r.code, 0, r.stderr); // audit mode: nothing is denied
    const out = JSON.parse(r.stdout) as ImageJson[];
    assert.deepEqual(
      out.map((e) => e.image),
      images,
    );
    const [api, nginx, missing, bad] = out as [ImageJson, ImageJson, ImageJson, ImageJson];
    assert.deepEqual(api.ecr, {
      registryId: ACCOUNT,
      region: REGION,
      repository: 'api',
      tag: 'v7',
      tagImmutable: false,
    });
    assert.equal(api.platforms, null);
    assert.equal(api.lifecycle, null);
    assert.match(api.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(api.status, 'resolved');
    assert.equal(api.reason, null);
    assert.deepEqual(api.scan?.findings, { CRITICAL: 3, HIGH: 1 });
    assert.equal(api.imageStatus, 'ACTIVE');
    assert.equal(api.verdict, 'allow');
    assert.deepEqual(api.violations, [
      { check: 'severity', action: 'deny', message: '3 CRITICAL findings (max 0)' },
    ]);
    assert.equal(nginx.ecr, null);
    assert.equal(nginx.status, 'skipped');
    assert.equal(missing.status, 'unresolved');
    assert.equal(missing.reason, 'not_found');
    assert.equal(bad.status, 'unresolved');
    assert.equal(bad.reason, 'invalid_reference');
  });

  it('exits 1 when an image is denied under enforce, and names the failed check in the table', async () => {
    const r = await run(['check', '--mode', 'enforce', `${HOST}/api:v7`, `${HOST}/api:v8`], awsEnv);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^IMAGE\s+DIGEST\s+STATUS\s+SCAN\s+FINDINGS\s+PUSHED\s+LIFECYCLE\s+VERDICT$/m);
    assert.match(r.stdout, /api:v7\s+sha256:[0-9a-f]{12}\s+resolved\s+COMPLETE\s+C:3 H:1\s+\S+\s+-\s+deny/);
    assert.match(r.stdout, /✗ severity \(deny\): 3 CRITICAL findings \(max 0\)/);
    assert.match(r.stdout, /api:v8\s+.*\s+allow$/m);
    assert.match(r.stdout, /2 images: 1 allow, 0 warn, 1 deny/);
  });

  it('reads policy from a config file', async () => {
    const file = join(dir, 'strict.yaml');
    await writeFile(file, 'policy:\n  mode: enforce\n  checks:\n    nonEcr: { action: deny }\n');
    const r = await run(['check', '--config', file, 'nginx:1.27'], awsEnv);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /nonEcr \(deny\): not an Amazon ECR image \(registry docker\.io\)/);
  });

  const usageCases: [string, string[], RegExp][] = [
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['an unknown flag', ['check', '--bogus', 'x'], /check: Unknown option '--bogus'/],
    ['no image', ['check'], /check: give at least one IMAGE/],
    ['a bad output format', ['check', '-o', 'yaml', 'x'], /-o\/--output: expected table or json, got "yaml"/],
    ['a missing config file', ['check', '--config', '/nonexistent/c.yaml', 'x'], /\/nonexistent\/c\.yaml/],
  ];
  for (const [name, args, message] of usageCases) {
    it(`exits 2 with one line on ${name}`, async () => {
      const r = await run(args, awsEnv);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }

  it('exits 2 naming the key path of a bad config value', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'policy:\n  checks:\n    severity:\n      max: { CRITICAL: -1 }\n');
    const r = await run(['check', '--config', file, 'x'], awsEnv);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /policy\.checks\.severity\.max\.CRITICAL: expected a non-negative integer/);
  });

  it('answers --help and --version', async () => {
    for (const command of ['check', 'report', 'serve', 'demo']) {
      const r = await run([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^Usage: ecr-warden ${command}`));
    }
    const v = await run(['--version']);
    assert.equal(v.stdout.trim(), VERSION);
  });
});

describe('ecr-warden report', () => {
  it('lists every container of the context namespace with drift and verdicts as JSON', async () => {
    const r = await run(['report', '-o', 'json'], { ...awsEnv, KUBECONFIG: join(dir, 'kubeconfig') });
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as ContainerJson[];
    assert.deepEqual(
      rows.map((x) => [x.namespace, x.pod, x.container, x.containerType]),
      [
        ['shop', 'api-0', 'setup', 'init'],
        ['shop', 'api-0', 'api', 'regular'],
      ],
    );
    const api = rows[1]!;
    assert.equal(api.runningDigest, api.digest);
    assert.equal(api.drift, false);
    assert.equal(api.stale, false);
    assert.equal(api.verdict, 'allow');
  });

  it('fails on deny when a container would be denied under enforce', async () => {
    const r = await run(['report', '-A', '--fail-on', 'deny'], {
      ...awsEnv,
      KUBECONFIG: join(dir, 'kubeconfig'),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^NAMESPACE\s+POD\s+CONTAINER\s+IMAGE/m);
    assert.match(r.stdout, /shop\s+api-0\s+setup \(init\)/);
    assert.match(
      r.stdout,
      /2 containers: 2 allow, 0 warn, 0 deny \(1 would be denied under policy\.mode enforce\)/,
    );
  });

  it('says how to try it without a cluster when there is no kubeconfig', async () => {
    const r = await run(['report'], awsEnv);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no Kubernetes connection.*ecr-warden demo/);
  });
});

describe('ecr-warden demo', () => {
  it('serves metrics and the webhook against the simulators and stops on Ctrl-C', async () => {
    const child = spawn(process.execPath, [CLI, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        if (stdout.includes('Press Ctrl-C to stop.')) resolve();
      });
      child.on('close', (code) => reject(new Error(`demo exited early (${code}): ${stdout}`)));
    });
    try {
      await ready;
      const metricsUrl = /metrics\s+(http:\/\/\S+\/metrics)/.exec(stdout)?.[1];
      assert.ok(metricsUrl, stdout);
      const metrics = await (await fetch(metricsUrl)).text();
      assert.match(
        metrics,
        /^ecr_warden_image_info\{registry_id="123456789012",region="us-east-1",repository="payments\/ledger"/m,
      );
      assert.match(
        metrics,
        /^ecr_warden_image_drifted_containers\{[^}]*repository="web\/frontend"[^}]*\} 2$/m,
      );
      assert.match(
        metrics,
        /^ecr_warden_image_unresolved\{[^}]*repository="web\/frontend",reason="not_found"\} 1$/m,
      );
      assert.match(stdout, /severity \(deny\): 3 CRITICAL findings \(max 0\)/);
      assert.match(stdout, /archived \(deny\): image is archived/);
      // The webhook answered sample reviews over HTTPS: a denial with the spec's message, and a pin.
      assert.match(stdout, /POST \/validate {2}Pod payments\/ledger-canary → denied/);
      assert.match(
        stdout,
        /container "ledger" image 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/payments\/ledger:v1\.9\.2: 3 CRITICAL findings \(max 0\)/,
      );
      assert.match(
        stdout,
        /POST \/mutate {4}Pod payments\/api-canary → \/spec\/containers\/0\/image = \S+:v2\.4\.0@sha256:[0-9a-f]{64}/,
      );
      const health = await fetch(metricsUrl.replace('/metrics', '/readyz'));
      assert.equal(health.status, 200);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    }
  });
});

describe('ecr-warden serve', () => {
  it('serves metrics and the webhook from a config file, and exits 0 on SIGTERM', async () => {
    const { generateCertificateAuthority, issueServingCertificate } = await import('../sim/self-signed.ts');
    const ca = await generateCertificateAuthority();
    const serving = await issueServingCertificate(ca, ['127.0.0.1']);
    await writeFile(join(dir, 'tls.crt'), serving.cert);
    await writeFile(join(dir, 'tls.key'), serving.key);
    const file = join(dir, 'serve.yaml');
    await writeFile(
      file,
      [
        'logLevel: info',
        'metrics: { address: 127.0.0.1, port: 0 }',
        `webhook: { enabled: true, address: 127.0.0.1, port: 0, certFile: ${join(dir, 'tls.crt')}, keyFile: ${join(dir, 'tls.key')} }`,
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: '/nonexistent',
        ...awsEnv,
        KUBECONFIG: join(dir, 'kubeconfig'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const serving$ = new Promise<{ metrics: string }>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
        // pino writes JSON lines on stderr; the start line names where metrics listen.
        const line = stderr.split('\n').find((l) => l.includes('"ecr-warden serving"'));
        if (line) resolve(JSON.parse(line) as { metrics: string });
      });
      child.on('close', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const { metrics } = await serving$;
      // Ready once the first list is in; the image series follow once ECR has answered.
      const poll = async (path: string, ok: (status: number, body: string) => boolean) => {
        for (let i = 0; i < 200; i++) {
          const r = await fetch(`${metrics}${path}`);
          const body = await r.text();
          if (ok(r.status, body)) return body;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.fail(`${path} never became what the test waits for:\n${stderr}`);
      };
      await poll('/readyz', (status) => status === 200);
      const v7 = /^ecr_warden_image_containers\{[^}]*repository="api",tag="v7"[^}]*\} 1$/m;
      const text = await poll('/metrics', (_, body) => v7.test(body));
      assert.match(text, /^ecr_warden_pods_tracked 1$/m);
      assert.match(text, /^ecr_warden_build_info\{version="[^"]+"\} 1$/m);
      assert.match(text, /^ecr_warden_image_containers\{[^}]*repository="api",tag="v8"[^}]*\} 1$/m);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    }
  });
});
