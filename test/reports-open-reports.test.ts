import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import {
  OMITTED_ANNOTATION,
  OpenReportsWriter,
  type OpenReportsWriterOptions,
  ResultWriters,
} from '../src/reports/index.ts';
import {
  type KubeObject,
  type KubeSimulator,
  openReportsCrds,
  startKubeSimulator,
} from '../sim/kube/index.ts';
import {
  DIGEST,
  drift,
  FakeFindingsSource,
  finding,
  ManualClock,
  podFindings,
  REGISTRY,
} from './helpers/findings.ts';

/**
 * OpenReports Reports, written by the real writer through its Kubernetes client (KubeRest) to the
 * Kubernetes simulator serving the chart's CRDs, with the findings set by hand and time moved by a
 * manual clock that the simulator shares.
 */

type Report = KubeObject & {
  source?: string;
  summary?: Record<string, number>;
  configuration?: { limits: { maxResults: number; statusFilter: string[] } };
  results?: Array<{
    policy: string;
    rule: string;
    result: string;
    severity?: string;
    message: string;
    resources: Array<Record<string, string>>;
    properties: Record<string, string>;
  }>;
};

interface Setup {
  sim: KubeSimulator;
  clock: ManualClock;
  source: FakeFindingsSource;
  writer: OpenReportsWriter;
  run(ms: number, stepMs?: number): Promise<void>;
  report(namespace: string): Report | undefined;
  /** Report writes the simulator answered, as `verb code`. */
  writes(namespace?: string): string[];
}

async function withWriter(
  options: Partial<OpenReportsWriterOptions>,
  fn: (setup: Setup) => Promise<void>,
  simOptions: { crds?: boolean; namespaces?: string[] } = {},
): Promise<void> {
  const clock = new ManualClock();
  const sim = await startKubeSimulator({
    clock: clock.now,
    namespaces: simOptions.namespaces ?? ['default', 'shop', 'web'],
    compactionIntervalMs: 0,
    ...(simOptions.crds === false ? {} : { crds: openReportsCrds() }),
  });
  const source = new FakeFindingsSource();
  const writer = new OpenReportsWriter({ kubeConfig: sim.kubeConfig(), source, clock, ...options });
  try {
    await fn({
      sim,
      clock,
      source,
      writer,
      run: (ms, stepMs) => clock.run([writer], ms, stepMs),
      report: (namespace) => sim.report(namespace, 'ecr-warden') as Report | undefined,
      writes: (namespace) =>
        sim
          .writes({ group: 'openreports.io', ...(namespace ? { namespace } : {}) })
          .map((w) => `${w.verb} ${w.code}`),
    });
  } finally {
    await writer.stop();
    await sim.close();
  }
}

/** shop: api-0 fails severity and warns on scanComplete; api-1 has drifted. */
function shopFindings() {
  return [
    podFindings('shop', 'api-0', [
      finding(),
      finding({
        check: 'scanComplete',
        action: 'warn',
        message: 'container "api" image x: findings unknown: scan IN_PROGRESS',
      }),
    ]),
    podFindings('shop', 'api-1', [drift()]),
  ];
}

describe('OpenReports: what a namespace’s Report says', () => {
  it('lists exactly the failing and warning results, with a consistent summary', async () => {
    await withWriter({}, async ({ source, writer, run, report }) => {
      source.set(shopFindings(), { shop: { pass: 3, error: 1, skip: 2 } });
      writer.start();
      await run(1000);
      const written = report('shop');
      assert.ok(written, 'the shop namespace has its Report');
      assert.equal(written.source, 'ecr-warden');
      assert.deepEqual(written.summary, { pass: 3, fail: 1, warn: 2, error: 1, skip: 2 });
      assert.deepEqual(written.configuration, {
        limits: { maxResults: 1000, statusFilter: ['fail', 'warn'] },
      });
      const results = written.results ?? [];
      assert.deepEqual(
        results.map((r) => [r.resources[0]?.name, r.properties.container, r.rule, r.result, r.severity]),
        [
          ['api-0', 'api', 'severity', 'fail', 'critical'],
          ['api-0', 'api', 'scanComplete', 'warn', undefined],
          ['api-1', 'api', 'drift', 'warn', undefined],
        ],
      );
      for (const result of ['fail', 'warn'] as const) {
        assert.equal(written.summary?.[result], results.filter((r) => r.result === result).length);
      }
      assert.deepEqual(results[0], {
        policy: 'ecr-warden',
        rule: 'severity',
        result: 'fail',
        severity: 'critical',
        category: 'Image policy',
        message: `container "api" image ${REGISTRY}/api:v7: 3 CRITICAL findings (max 0)`,
        resources: [
          { apiVersion: 'v1', kind: 'Pod', name: 'api-0', namespace: 'shop', uid: 'uid-shop-api-0' },
        ],
        properties: { container: 'api', image: `${REGISTRY}/api:v7`, digest: DIGEST },
        timestamp: { seconds: Math.floor((Date.parse('2026-06-01T12:00:00Z') + 1000) / 1000), nanos: 0 },
      });
    });
  });

  it('writes one Report per namespace with something to report, and none elsewhere', async () => {
    await withWriter({}, async ({ sim, source, writer, run }) => {
      source.set([...shopFindings(), podFindings('web', 'web-0', [finding({ container: 'web' })])], {
        default: { pass: 10 },
      });
      writer.start();
      await run(1000);
      assert.deepEqual(
        sim.reports().map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
        ['shop/ecr-warden', 'web/ecr-warden'],
      );
    });
  });

  it('removes a pod’s results when its findings go, and deletes a Report with nothing left', async () => {
    await withWriter({}, async ({ source, writer, run, report, writes }) => {
      source.set(shopFindings());
      writer.start();
      await run(1000);
      source.set(shopFindings().slice(0, 1));
      await run(5000);
      assert.deepEqual(
        report('shop')?.results?.map((r) => r.resources[0]?.name),
        ['api-0', 'api-0'],
      );
      assert.deepEqual(report('shop')?.summary, { pass: 0, fail: 1, warn: 1, error: 0, skip: 0 });
      source.set([]);
      await run(5000);
      assert.equal(report('shop'), undefined);
      assert.deepEqual(writes(), ['create 201', 'update 200', 'delete 200']);
    });
  });
});

describe('OpenReports: how often and how big', () => {
  it('writes a namespace’s Report at most once per minimum interval while its pods churn', async () => {
    await withWriter({ minIntervalMs: 5000 }, async ({ source, writer, run, report, writes }) => {
      writer.start();
      // A new violating pod every second for 30 s.
      const pods = [];
      for (let i = 0; i < 30; i++) {
        pods.push(podFindings('shop', `api-${i}`, [finding()]));
        source.set(pods);
        await run(1000);
      }
      await run(5000);
      assert.ok(writes('shop').length <= 30 / 5 + 1, `${writes('shop').length} writes`);
      assert.equal(report('shop')?.results?.length, 30, 'and it ends current');
    });
  });

  it('keeps the Report of 2,000 violating pods under 1 MiB, saying what it left out', async () => {
    await withWriter({}, async ({ sim, source, writer, run, report }) => {
      const pods = Array.from({ length: 2000 }, (_, i) =>
        podFindings('shop', `checkout-worker-${String(i).padStart(4, '0')}-7d9f8c6b5-x2x9q`, [
          finding({ image: `${REGISTRY}/team-payments/checkout-worker:release-2026.05.${i}` }),
          finding({ check: 'scanAge', action: 'warn', severity: null }),
          drift(),
        ]),
      );
      source.set(pods, { shop: { pass: 100 } });
      writer.start();
      await run(1000);
      const written = report('shop');
      assert.ok(written);
      // As the apiserver stores it, and as a replace request carries it.
      const bytes = Buffer.byteLength(JSON.stringify(written));
      assert.ok(bytes < 1024 * 1024, `${bytes} bytes`);
      const listed = written.results ?? [];
      assert.deepEqual(written.summary, { pass: 100, fail: 2000, warn: 4000, error: 0, skip: 0 });
      assert.equal(Number(written.metadata.annotations?.[OMITTED_ANNOTATION]), 6000 - listed.length);
      assert.equal(listed.length, 1000, 'as many as configuration.limits.maxResults says');
      assert.ok(
        listed.every((r) => r.result === 'fail'),
        'the failing results are kept before the warnings',
      );
      assert.equal(writer.stats().omitted, 6000 - listed.length);
      assert.equal(sim.writeCount({ group: 'openreports.io', succeeded: false }), 0);
    });
  });
});

describe('OpenReports: conflicts, restarts and failures', () => {
  it('re-reads and writes again when someone else wrote the Report in between (409)', async () => {
    await withWriter({}, async ({ sim, source, writer, run, report, writes }) => {
      source.set(shopFindings());
      writer.start();
      await run(1000);
      // Someone else's write moves the resourceVersion on.
      const api = sim.kubeConfig().makeApiClient(CustomObjectsApi);
      const current = report('shop')!;
      await api.replaceNamespacedCustomObject({
        group: 'openreports.io',
        version: 'v1alpha1',
        plural: 'reports',
        namespace: 'shop',
        name: 'ecr-warden',
        body: { ...current, summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 } },
      });
      source.set(shopFindings().slice(0, 1));
      await run(5000);
      assert.deepEqual(writes('shop'), ['create 201', 'update 200', 'update 409', 'update 200']);
      assert.deepEqual(report('shop')?.summary, { pass: 0, fail: 1, warn: 1, error: 0, skip: 0 });
      assert.equal(writer.stats().conflicts, 1);
    });
  });

  it('after a restart, rewrites nothing that is current and deletes what has nothing left', async () => {
    await withWriter({}, async ({ sim, clock, source, writer, run, report, writes }) => {
      source.set([...shopFindings(), podFindings('web', 'web-0', [finding({ container: 'web' })])]);
      writer.start();
      await run(1000);
      await writer.stop();
      // While no writer ran, web's pod went away.
      source.set(shopFindings());
      const next = new OpenReportsWriter({ kubeConfig: sim.kubeConfig(), source, clock });
      try {
        next.start();
        await clock.run([next], 10_000);
        assert.deepEqual(writes('shop'), ['create 201'], 'shop is current: not written again');
        assert.deepEqual(writes('web'), ['create 201', 'delete 200']);
        assert.equal(report('web'), undefined);
        assert.equal(next.stats().pending, 0);
      } finally {
        await next.stop();
      }
    });
  });

  it('puts back a Report someone deleted at the next resync, though the inventory did not change', async () => {
    await withWriter({ resyncMs: 10 * 60_000 }, async ({ sim, source, writer, run, report, writes }) => {
      source.set(shopFindings());
      writer.start();
      await run(1000);
      const api = sim.kubeConfig().makeApiClient(CustomObjectsApi);
      await api.deleteNamespacedCustomObject({
        group: 'openreports.io',
        version: 'v1alpha1',
        plural: 'reports',
        namespace: 'shop',
        name: 'ecr-warden',
      });
      await run(9 * 60_000, 10_000);
      assert.equal(report('shop'), undefined, 'not before the resync');
      await run(60_000, 10_000);
      assert.ok(report('shop'));
      assert.deepEqual(writes('shop'), ['create 201', 'delete 200', 'create 201']);
      assert.equal(sim.requestCount('list', 'reports'), 2);
    });
  });

  it('waits, without crashing or spinning, while the CRDs are not installed, and writes once they are', async () => {
    await withWriter(
      {},
      async ({ sim, source, writer, run, report }) => {
        source.set(shopFindings());
        writer.start();
        await run(60_000);
        const tries = sim.requestCount('list', 'reports');
        assert.ok(tries >= 1 && tries <= 8, `${tries} lists in a minute`);
        for (const crd of openReportsCrds()) sim.installCrd(crd);
        await run(10 * 60_000, 5000);
        assert.ok(report('shop'), 'written once the CRDs are there');
      },
      { crds: false },
    );
  });

  it('retries a write that failed with 500 after a backoff', async () => {
    await withWriter({}, async ({ sim, source, writer, run, report, writes }) => {
      sim.failNext(2, { code: 500, match: { verb: 'create', group: 'openreports.io' } });
      source.set(shopFindings());
      writer.start();
      await run(30_000, 500);
      assert.deepEqual(writes('shop'), ['create 500', 'create 500', 'create 201']);
      assert.ok(report('shop'));
    });
  });

  it('writes none with reports.openReports: false', async () => {
    const clock = new ManualClock();
    const sim = await startKubeSimulator({ clock: clock.now, namespaces: ['shop'], crds: openReportsCrds() });
    const source = new FakeFindingsSource();
    source.set(shopFindings());
    const writers = new ResultWriters({
      reports: { events: false, openReports: false },
      kubeConfig: sim.kubeConfig(),
      source,
      clock,
    });
    try {
      assert.equal(writers.openReports, null);
      writers.start();
      await clock.run([writers], 10_000);
      assert.equal(sim.writeCount(), 0);
    } finally {
      await writers.stop();
      await sim.close();
    }
  });
});
