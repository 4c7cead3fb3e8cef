import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiException, KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import fc from 'fast-check';
import { isWardenError } from '../src/errors.ts';
import { KeptConnection } from '../src/kube/kept-connection.ts';
import { apiPath, KubeRest, microTime } from '../src/kube/rest.ts';
import { VERSION } from '../src/version.ts';
import { type KubeSimulator, openReportsCrds, startKubeSimulator } from '../sim/kube/index.ts';

/**
 * KubeRest, the controller's JSON client for the Kubernetes API, against the Kubernetes simulator:
 * answers as plain JSON, failures as client-node's ApiException, the merge patch's content type, the
 * bound on an answer's size and on a request's time.
 */

type Report = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  source?: string;
  summary?: Record<string, number>;
};

const report = (namespace: string, name: string): Report => ({
  apiVersion: 'openreports.io/v1alpha1',
  kind: 'Report',
  metadata: { name, namespace, labels: { team: 'shop', tier: 'web' } },
  source: 'kube-rest-test',
  summary: { pass: 1, fail: 2, warn: 0, error: 0, skip: 0 },
});

describe('KubeRest against the simulator', () => {
  let sim: KubeSimulator;
  let connection: KeptConnection;
  let rest: KubeRest;
  before(async () => {
    sim = await startKubeSimulator({ namespaces: ['default', 'shop'], crds: openReportsCrds() });
    connection = new KeptConnection(sim.kubeConfig());
    rest = new KubeRest(connection);
  });
  after(async () => {
    connection.reset();
    await sim.close();
  });

  it('creates, reads, replaces, lists and deletes, answering with the objects as plain JSON', async () => {
    const reports = apiPath`/apis/openreports.io/v1alpha1/namespaces/${'shop'}/reports`;
    const created = await rest.create<Report>(reports, report('shop', 'crud'));
    assert.equal(created.metadata.name, 'crud');
    assert.equal(typeof created.metadata.resourceVersion, 'string');
    // Times stay the strings the apiserver wrote: no model objects, no Date.
    assert.equal(typeof (created.metadata as { creationTimestamp?: unknown }).creationTimestamp, 'string');

    const read = await rest.get<Report>(`${reports}/crud`);
    assert.deepEqual(read, created);

    const replaced = await rest.replace<Report>(`${reports}/crud`, { ...read, source: 'replaced' });
    assert.equal(replaced.source, 'replaced');
    assert.notEqual(replaced.metadata.resourceVersion, read.metadata.resourceVersion);

    const page = await rest.list<Report>('/apis/openreports.io/v1alpha1/reports', {
      fieldSelector: 'metadata.name=crud',
      limit: 10,
      continue: undefined,
    });
    assert.deepEqual(
      page.items?.map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
      ['shop/crud'],
    );

    await rest.delete(`${reports}/crud`);
    assert.equal(sim.report('shop', 'crud'), undefined);
  });

  it('pages a list with limit and continue, as the apiserver hands the pages out', async () => {
    const reports = apiPath`/apis/openreports.io/v1alpha1/namespaces/${'default'}/reports`;
    for (const name of ['page-a', 'page-b', 'page-c']) await rest.create(reports, report('default', name));
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await rest.list<Report>(reports, { limit: 2, continue: cont });
      names.push(...(page.items ?? []).map((r) => r.metadata.name));
      cont = page.metadata?.continue || undefined;
      pages++;
    } while (cont);
    assert.deepEqual(names, ['page-a', 'page-b', 'page-c']);
    assert.equal(pages, 2);
  });

  it('throws an error status as ApiException with its code and the Status it sent as the body', async () => {
    const missing = apiPath`/apis/openreports.io/v1alpha1/namespaces/${'shop'}/reports/${'nowhere'}`;
    const err = await rest.get(missing).then(
      () => assert.fail('a missing object is a 404'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiException, 'client-node’s ApiException, as callers read it');
    assert.equal(err.code, 404);
    const body = err.body as { kind?: string; reason?: string; code?: number; details?: { name?: string } };
    assert.equal(body.kind, 'Status');
    assert.equal(body.reason, 'NotFound');
    assert.equal(body.code, 404);
    assert.equal(body.details?.name, 'nowhere');
    assert.equal(err.headers['content-type'], 'application/json');

    // A conflict on create, and a throttled request with its Retry-After header.
    const reports = apiPath`/apis/openreports.io/v1alpha1/namespaces/${'shop'}/reports`;
    await rest.create(reports, report('shop', 'twice'));
    const conflict = await rest.create(reports, report('shop', 'twice')).catch((e: unknown) => e);
    assert.ok(conflict instanceof ApiException);
    assert.equal(conflict.code, 409);
    assert.equal((conflict.body as { reason?: string }).reason, 'AlreadyExists');
    sim.failNext(1, { code: 429, retryAfterSeconds: 7, match: { resource: 'reports' } });
    const throttled = await rest.get(`${reports}/twice`).catch((e: unknown) => e);
    assert.ok(throttled instanceof ApiException);
    assert.equal(throttled.code, 429);
    assert.equal(throttled.headers['retry-after'], '7');
  });

  it('sends a merge patch as application/merge-patch+json: nested fields merge, null removes', async () => {
    const reports = apiPath`/apis/openreports.io/v1alpha1/namespaces/${'shop'}/reports`;
    await rest.create(reports, report('shop', 'patched'));
    // A custom resource takes JSON merge patches and JSON patches only: a strategic merge patch is
    // refused with 415 and a JSON patch must be an array, so this lands only as a merge patch.
    const patched = await rest.mergePatch<Report>(`${reports}/patched`, {
      metadata: { labels: { tier: null, stage: 'prod' } },
      summary: { fail: 3 },
    });
    assert.deepEqual(patched.metadata.labels, { team: 'shop', stage: 'prod' });
    assert.deepEqual(patched.summary, { pass: 1, fail: 3, warn: 0, error: 0, skip: 0 });
    assert.deepEqual((sim.report('shop', 'patched') as Report).metadata.labels, {
      team: 'shop',
      stage: 'prod',
    });
  });

  it('refuses an answer larger than its bound with a clear error', async () => {
    const small = new KubeRest(connection, { maxResponseBytes: 256 });
    const err = await small.list('/apis/openreports.io/v1alpha1/reports').catch((e: unknown) => e);
    assert.ok(isWardenError(err), String(err));
    assert.equal(err.code, 'ERR_KUBE_API');
    assert.match(err.message, /larger than 256 bytes/);
  });

  it('aborts a request when the connection’s signal does', async () => {
    sim.addLatency(2_000, { resource: 'reports', verb: 'list' });
    connection.signal = AbortSignal.timeout(100);
    const started = performance.now();
    try {
      const err = await rest.list('/apis/openreports.io/v1alpha1/reports').catch((e: unknown) => e);
      assert.equal((err as Error).name, 'TimeoutError');
      assert.ok(performance.now() - started < 1_500, 'given up at the signal, not at the answer');
    } finally {
      connection.signal = undefined;
      sim.clearFaults();
    }
  });
});

describe('KubeRest on the wire', () => {
  let server: ReturnType<typeof createServer>;
  let seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }>;
  let rest: KubeRest;
  before(async () => {
    seen = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"Status"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    rest = new KubeRest(new KeptConnection(kubeConfig));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends what client-node’s generated classes sent: Accept, Content-Type, the kubeconfig’s token, our User-Agent', async () => {
    seen.length = 0;
    await rest.get(apiPath`/api/v1/namespaces/${'a b'}/things/${'x/y'}`, { limit: 5, skipped: undefined });
    await rest.create('/apis/g/v1/things', { a: 1 });
    await rest.replace('/apis/g/v1/things/x', { a: 2 });
    await rest.mergePatch('/apis/g/v1/things/x', { a: null });
    await rest.delete('/apis/g/v1/things/x');
    assert.deepEqual(
      seen.map((r) => [r.method, r.url, r.headers['content-type'], r.body]),
      [
        ['GET', '/api/v1/namespaces/a%20b/things/x%2Fy?limit=5', undefined, ''],
        ['POST', '/apis/g/v1/things', 'application/json', '{"a":1}'],
        ['PUT', '/apis/g/v1/things/x', 'application/json', '{"a":2}'],
        ['PATCH', '/apis/g/v1/things/x', 'application/merge-patch+json', '{"a":null}'],
        ['DELETE', '/apis/g/v1/things/x', 'application/json', ''],
      ],
    );
    for (const request of seen) {
      assert.equal(request.headers.accept, 'application/json, */*;q=0.8');
      assert.equal(request.headers['user-agent'], `ecr-warden/${VERSION}`);
      assert.equal(request.headers.authorization, 'Bearer secret-token');
    }
  });
});

describe('microTime', () => {
  it('writes a MicroTime exactly as client-node’s V1MicroTime reached the wire', () => {
    assert.equal(microTime(Date.parse('2006-01-02T15:04:05.123Z')), '2006-01-02T15:04:05.123000Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }), (ms) => {
        // ObjectSerializer passed a V1MicroTime through to JSON.stringify, which calls its toISOString.
        assert.equal(JSON.stringify(microTime(ms)), JSON.stringify(new V1MicroTime(ms)));
        assert.match(microTime(ms), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      }),
    );
  });
});
