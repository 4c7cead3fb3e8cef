import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { type KubeObject, type KubeSimulator, openReportsCrds } from '../sim/kube/index.ts';
import {
  causeFields,
  failure,
  raw,
  summary,
  T0,
  TABLE_ACCEPT,
  TestClock,
  WatchEvents,
  withSim,
} from './sim-kube-support.ts';

/**
 * The OpenReports custom resources in the simulator against the real @kubernetes/client-node:
 * the CRDs from the chart installed as a cluster installs them, discovery, CRUD through the
 * custom-objects API, optimistic concurrency, schema validation and pruning, watches, printing.
 */

const GROUP = 'openreports.io';
const VERSION = 'v1alpha1';
const REPORTS = { group: GROUP, version: VERSION, plural: 'reports' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

type Report = KubeObject & {
  summary?: Record<string, number>;
  results?: Array<Record<string, unknown>>;
};

/** A Report as the SPEC describes it: one failing result about one pod. */
function report(namespace = 'default', extra: Record<string, unknown> = {}): Report {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Report',
    metadata: { name: 'ecr-warden', namespace },
    source: 'ecr-warden',
    summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 },
    results: [
      {
        policy: 'ecr-warden',
        rule: 'critical-findings',
        result: 'fail',
        severity: 'critical',
        message: 'container api: image api:v7 has 2 CRITICAL findings',
        resources: [{ apiVersion: 'v1', kind: 'Pod', namespace, name: 'api-0', uid: 'uid-0' }],
        properties: { container: 'api', image: 'api:v7', digest: 'sha256:abc' },
      },
    ],
    ...extra,
  };
}

function customObjects(sim: KubeSimulator): CustomObjectsApi {
  return sim.kubeConfig().makeApiClient(CustomObjectsApi);
}

function withReports<T>(fn: (sim: KubeSimulator, api: CustomObjectsApi) => Promise<T>, clock?: TestClock) {
  return withSim(
    { crds: openReportsCrds(), namespaces: ['default', 'shop'], ...(clock ? { clock: clock.now } : {}) },
    (sim) => fn(sim, customObjects(sim)),
  );
}

describe('OpenReports: the CRDs', () => {
  it('are the OpenReports project’s, as the chart ships them', () => {
    const crds = openReportsCrds();
    assert.deepEqual(
      crds.map((c) => [c.metadata.name, c.spec.scope, c.spec.versions.map((v) => v.name)]),
      [
        ['reports.openreports.io', 'Namespaced', ['v1alpha1']],
        ['clusterreports.openreports.io', 'Cluster', ['v1alpha1']],
      ],
    );
  });

  it('serve Reports only while installed, and take them along when removed', async () => {
    await withSim({}, async (sim) => {
      const groups = async () =>
        (JSON.parse((await raw(sim, 'GET', '/apis')).body) as { groups: Array<{ name: string }> }).groups.map(
          (g) => g.name,
        );
      assert.equal((await raw(sim, 'GET', '/apis/openreports.io/v1alpha1')).status, 404);
      assert.ok(!(await groups()).includes(GROUP));

      for (const crd of openReportsCrds()) sim.installCrd(crd);
      assert.ok((await groups()).includes(GROUP));
      await customObjects(sim).createNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        body: report(),
      });
      const watch = await WatchEvents.open(sim, '/apis/openreports.io/v1alpha1/reports');

      assert.equal(sim.uninstallCrd('reports.openreports.io'), true);
      assert.deepEqual(summary(await watch.atLeast(1)), ['DELETED ecr-warden']);
      await watch.ended;
      assert.equal(
        (await raw(sim, 'GET', '/apis/openreports.io/v1alpha1/namespaces/default/reports')).status,
        404,
      );
      assert.ok((await groups()).includes(GROUP), 'clusterreports still serve the group');
      sim.installCrd(openReportsCrds()[0]!);
      assert.deepEqual(sim.reports(), [], 'a reinstalled CRD starts empty');
    });
  });

  it('can be installed through the API, as `kubectl apply` or Helm would', async () => {
    await withSim({}, async (sim) => {
      const crds = sim.kubeConfig().makeApiClient(ApiextensionsV1Api);
      const created = await crds.createCustomResourceDefinition({
        body: openReportsCrds()[0] as unknown as V1CustomResourceDefinition,
      });
      assert.deepEqual(
        created.status?.conditions?.map((c) => `${c.type}=${c.status}`),
        ['NamesAccepted=True', 'Established=True'],
      );
      assert.deepEqual(created.status?.storedVersions, ['v1alpha1']);
      await customObjects(sim).createNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        body: report(),
      });
      assert.equal(sim.reports().length, 1);
      await crds.deleteCustomResourceDefinition({ name: 'reports.openreports.io' });
      assert.equal(sim.crd('reports.openreports.io'), undefined);
    });
  });

  it('refuses a CRD whose name is not plural.group', async () => {
    await withSim({}, async (sim) => {
      const crd = openReportsCrds()[0]!;
      crd.metadata.name = 'reports.example.com';
      const status = await failure(
        sim
          .kubeConfig()
          .makeApiClient(ApiextensionsV1Api)
          .createCustomResourceDefinition({ body: crd as unknown as V1CustomResourceDefinition }),
      );
      assert.equal(status.httpCode, 422);
      assert.deepEqual(causeFields(status), ['metadata.name']);
    });
  });

  it('appear in every form of discovery kubectl reads', async () => {
    await withReports(async (sim) => {
      const group = JSON.parse((await raw(sim, 'GET', '/apis/openreports.io')).body);
      assert.deepEqual(group.preferredVersion, {
        groupVersion: 'openreports.io/v1alpha1',
        version: 'v1alpha1',
      });
      const list = JSON.parse((await raw(sim, 'GET', '/apis/openreports.io/v1alpha1')).body) as {
        resources: Array<{
          name: string;
          namespaced: boolean;
          kind: string;
          shortNames?: string[];
          verbs: string[];
        }>;
      };
      assert.deepEqual(
        list.resources.map((r) => [r.name, r.namespaced, r.kind, r.shortNames]),
        [
          ['clusterreports', false, 'ClusterReport', ['creps']],
          ['reports', true, 'Report', ['reps']],
        ],
      );
      assert.deepEqual(list.resources[1]?.verbs, [
        'delete',
        'deletecollection',
        'get',
        'list',
        'patch',
        'create',
        'update',
        'watch',
      ]);
      const aggregated = JSON.parse(
        (
          await raw(sim, 'GET', '/apis', {
            Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
          })
        ).body,
      ) as {
        items: Array<{
          metadata: { name: string };
          versions: Array<{ resources: Array<{ resource: string; scope: string }> }>;
        }>;
      };
      const openreports = aggregated.items.find((i) => i.metadata.name === GROUP);
      assert.deepEqual(
        openreports?.versions[0]?.resources.map((r) => `${r.resource} ${r.scope}`),
        ['clusterreports Cluster', 'reports Namespaced'],
      );
    });
  });
});

describe('OpenReports: Reports through the custom-objects API', () => {
  it('creates, reads, replaces, patches, lists and deletes, bumping the generation on content changes', async () => {
    await withReports(async (sim, api) => {
      const created = (await api.createNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        body: report(),
      })) as Report;
      assert.equal(created.metadata.generation, 1);
      assert.ok(created.metadata.uid);

      const read = (await api.getNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        name: 'ecr-warden',
      })) as Report;
      assert.deepEqual(read, created);

      read.summary = { ...read.summary, fail: 2 };
      const replaced = (await api.replaceNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        name: 'ecr-warden',
        body: read,
      })) as Report;
      assert.equal(replaced.metadata.generation, 2);
      assert.notEqual(replaced.metadata.resourceVersion, read.metadata.resourceVersion);

      const labelled = (await api.patchNamespacedCustomObject(
        {
          ...REPORTS,
          namespace: 'default',
          name: 'ecr-warden',
          body: { metadata: { labels: { team: 'a' } } },
        },
        merge,
      )) as Report;
      assert.equal(labelled.metadata.generation, 2, 'metadata changes keep the generation');

      const patched = (await api.patchNamespacedCustomObject(
        {
          ...REPORTS,
          namespace: 'default',
          name: 'ecr-warden',
          body: [{ op: 'replace', path: '/summary/fail', value: 0 }],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as Report;
      assert.equal(patched.summary?.fail, 0);
      assert.equal(patched.metadata.generation, 3);

      await api.createNamespacedCustomObject({ ...REPORTS, namespace: 'shop', body: report('shop') });
      const all = (await api.listClusterCustomObject(REPORTS)) as { kind: string; items: Report[] };
      assert.equal(all.kind, 'ReportList');
      assert.deepEqual(
        all.items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
        ['default/ecr-warden', 'shop/ecr-warden'],
      );
      const shop = (await api.listNamespacedCustomObject({ ...REPORTS, namespace: 'shop' })) as {
        items: Report[];
      };
      assert.equal(shop.items.length, 1);

      const deleted = (await api.deleteNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        name: 'ecr-warden',
      })) as { kind: string; status: string; details: Record<string, string> };
      assert.equal(deleted.kind, 'Status');
      assert.equal(deleted.status, 'Success');
      assert.deepEqual(
        { ...deleted.details, uid: undefined },
        { name: 'ecr-warden', group: GROUP, kind: 'reports', uid: undefined },
      );
      assert.deepEqual(
        sim.reports().map((r) => r.metadata.namespace),
        ['shop'],
      );
    });
  });

  it('answers conflicts and missing objects in the API server’s words', async () => {
    await withReports(async (sim, api) => {
      const first = (await api.createNamespacedCustomObject({
        ...REPORTS,
        namespace: 'default',
        body: report(),
      })) as Report;
      await api.patchNamespacedCustomObject(
        { ...REPORTS, namespace: 'default', name: 'ecr-warden', body: { summary: { fail: 3 } } },
        merge,
      );
      const cases: Array<{
        name: string;
        call: () => Promise<unknown>;
        code: number;
        reason: string;
        message: string;
      }> = [
        {
          name: 'a second create',
          call: () => api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body: report() }),
          code: 409,
          reason: 'AlreadyExists',
          message: 'reports.openreports.io "ecr-warden" already exists',
        },
        {
          name: 'a replace from a stale resourceVersion',
          call: () =>
            api.replaceNamespacedCustomObject({
              ...REPORTS,
              namespace: 'default',
              name: 'ecr-warden',
              body: first,
            }),
          code: 409,
          reason: 'Conflict',
          message:
            'Operation cannot be fulfilled on reports.openreports.io "ecr-warden": the object has been modified; please apply your changes to the latest version and try again',
        },
        {
          name: 'a replace without resourceVersion',
          call: () =>
            api.replaceNamespacedCustomObject({
              ...REPORTS,
              namespace: 'default',
              name: 'ecr-warden',
              body: report(),
            }),
          code: 422,
          reason: 'Invalid',
          message:
            'reports.openreports.io "ecr-warden" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
        },
        {
          name: 'a read of a missing Report',
          call: () => api.getNamespacedCustomObject({ ...REPORTS, namespace: 'shop', name: 'ecr-warden' }),
          code: 404,
          reason: 'NotFound',
          message: 'reports.openreports.io "ecr-warden" not found',
        },
        {
          name: 'a create in a missing namespace',
          call: () =>
            api.createNamespacedCustomObject({ ...REPORTS, namespace: 'gone', body: report('gone') }),
          code: 404,
          reason: 'NotFound',
          message: 'namespaces "gone" not found',
        },
        {
          name: 'a strategic merge patch',
          call: () =>
            api.patchNamespacedCustomObject(
              { ...REPORTS, namespace: 'default', name: 'ecr-warden', body: { summary: { fail: 1 } } },
              setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
            ),
          code: 415,
          reason: 'UnsupportedMediaType',
          message:
            'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json',
        },
        {
          name: 'a delete with a stale resourceVersion precondition',
          call: () =>
            api.deleteNamespacedCustomObject({
              ...REPORTS,
              namespace: 'default',
              name: 'ecr-warden',
              body: { preconditions: { resourceVersion: first.metadata.resourceVersion } },
            }),
          code: 409,
          reason: 'Conflict',
          message: `Operation cannot be fulfilled on reports.openreports.io "ecr-warden": Precondition failed: ResourceVersion in precondition: ${first.metadata.resourceVersion}, ResourceVersion in meta: ${sim.report('default', 'ecr-warden')?.metadata.resourceVersion}`,
        },
      ];
      for (const { name, call, code, reason, message } of cases) {
        const status = await failure(call());
        assert.deepEqual([status.httpCode, status.reason, status.message], [code, reason, message], name);
      }
      assert.equal(
        (sim.report('default', 'ecr-warden') as Report).summary?.fail,
        3,
        'nothing refused was written',
      );
    });
  });

  it('refuses a Report its schema refuses, naming each field', async () => {
    const cases: Array<{ name: string; change: (r: Report) => void; fields: string[] }> = [
      {
        name: 'a result outside the enum',
        change: (r) => (r.results![0]!.result = 'bad'),
        fields: ['results[0].result'],
      },
      {
        name: 'a severity outside the enum',
        change: (r) => (r.results![0]!.severity = 'urgent'),
        fields: ['results[0].severity'],
      },
      {
        name: 'a result without policy',
        change: (r) => delete r.results![0]!.policy,
        fields: ['results[0].policy'],
      },
      {
        name: 'a summary count that is a string',
        change: (r) => (r.summary = { pass: 'two' as unknown as number }),
        fields: ['summary.pass'],
      },
      {
        name: 'a property that is no string',
        change: (r) => (r.results![0]!.properties = { container: 1 }),
        fields: ['results[0].properties.container'],
      },
      {
        name: 'a timestamp without nanos',
        change: (r) => (r.results![0]!.timestamp = { seconds: 1 }),
        fields: ['results[0].timestamp.nanos'],
      },
      { name: 'results that are no list', change: (r) => (r.results = {} as never), fields: ['results'] },
      {
        name: 'a configuration without limits',
        change: (r) => (r.configuration = {}),
        fields: ['configuration.limits'],
      },
      {
        name: 'a name that is no DNS subdomain',
        change: (r) => (r.metadata.name = 'Ecr_Warden'),
        fields: ['metadata.name'],
      },
    ];
    await withReports(async (sim, api) => {
      for (const { name, change, fields } of cases) {
        const body = report();
        change(body);
        const status = await failure(
          api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body }),
        );
        assert.equal(status.httpCode, 422, name);
        assert.deepEqual(causeFields(status), fields, name);
      }
      assert.deepEqual(sim.reports(), []);
      const body = report();
      body.results![0]!.result = 'bad';
      const status = await failure(
        api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body }),
      );
      assert.equal(
        status.message,
        'Report.openreports.io "ecr-warden" is invalid: results[0].result: Unsupported value: "bad": supported values: "pass", "fail", "warn", "error", "skip"',
      );
      body.results![0]!.result = 'fail';
      body.summary = { pass: 'two' as unknown as number };
      assert.equal(
        (await failure(api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body }))).message,
        'Report.openreports.io "ecr-warden" is invalid: summary.pass: Invalid value: "string": summary.pass in body must be of type integer: "string"',
      );
    });
  });

  it('drops fields the schema does not declare: a warning by default, a 400 under Strict', async () => {
    await withReports(async (sim, api) => {
      // `result` for `results`, and a field the result type does not have.
      const body = report('default', { result: [{ policy: 'x' }] });
      body.results![0]!.container = 'api';
      const res = await raw(
        sim,
        'POST',
        '/apis/openreports.io/v1alpha1/namespaces/default/reports',
        { 'Content-Type': 'application/json' },
        JSON.stringify(body),
      );
      assert.equal(res.status, 201);
      assert.match(String(res.headers.warning), /299 - "unknown field \\"result\\""/);
      assert.match(String(res.headers.warning), /299 - "unknown field \\"results\[0\]\.container\\""/);
      const stored = sim.report('default', 'ecr-warden') as Report;
      assert.equal('result' in stored, false);
      assert.equal('container' in stored.results![0]!, false);

      const strict = await failure(
        api.createNamespacedCustomObject({
          ...REPORTS,
          namespace: 'shop',
          body: report('shop', { result: [] }),
          fieldValidation: 'Strict',
        }),
      );
      assert.equal(strict.httpCode, 400);
      assert.equal(
        strict.message,
        'Report in version "v1alpha1" cannot be handled as a Report: strict decoding error: unknown field "result"',
      );
    });
  });

  it('refuses a Report over etcd’s 1.5 MiB request limit as a cluster does', async () => {
    await withReports(async (sim, api) => {
      const body = report();
      const one = body.results![0]!;
      // About 330 bytes a result: 5,000 results make about 1.6 MiB, under the 3 MiB body limit.
      body.results = Array.from({ length: 5000 }, (_, i) => ({
        ...one,
        resources: [
          { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: `api-${i}`, uid: `uid-${i}` },
        ],
      }));
      const status = await failure(
        api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body }),
      );
      assert.deepEqual(
        [status.httpCode, status.message, status.reason],
        [500, 'etcdserver: request is too large', undefined],
      );
      body.results = body.results.slice(0, 3000);
      await api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body });
      assert.equal((sim.report('default', 'ecr-warden') as Report).results?.length, 3000);
    });
  });

  it('stamps a seeded Report with a generation that moves only with its content', async () => {
    await withReports(async (sim) => {
      assert.equal(sim.upsertObject(report()).metadata.generation, 1);
      assert.equal(sim.upsertObject(report('default', { source: 'other' })).metadata.generation, 2);
      const relabelled = report('default', { source: 'other' });
      relabelled.metadata.labels = { team: 'a' };
      assert.equal(sim.upsertObject(relabelled).metadata.generation, 2);
    });
  });

  it('serves cluster-scoped ClusterReports apart from Reports', async () => {
    await withReports(async (sim, api) => {
      const body = { ...report(), kind: 'ClusterReport', metadata: { name: 'ecr-warden' } };
      await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterreports', body });
      assert.deepEqual(
        sim.clusterReports().map((r) => [r.metadata.name, r.metadata.namespace]),
        [['ecr-warden', undefined]],
      );
      const namespaced = await raw(
        sim,
        'GET',
        '/apis/openreports.io/v1alpha1/namespaces/default/clusterreports',
      );
      assert.equal(namespaced.status, 404);
    });
  });
});

describe('OpenReports: watches and lifecycle', () => {
  it('streams every change of every namespace to a watch across namespaces', async () => {
    await withReports(async (sim, api) => {
      const watch = await WatchEvents.open(sim, '/apis/openreports.io/v1alpha1/reports');
      await api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body: report() });
      await api.createNamespacedCustomObject({ ...REPORTS, namespace: 'shop', body: report('shop') });
      await api.patchNamespacedCustomObject(
        { ...REPORTS, namespace: 'shop', name: 'ecr-warden', body: { summary: { fail: 2 } } },
        merge,
      );
      await api.deleteNamespacedCustomObject({ ...REPORTS, namespace: 'default', name: 'ecr-warden' });
      const seen = await watch.atLeast(4);
      assert.deepEqual(
        seen.map((e) => `${e.type} ${(e.object.metadata as { namespace?: string }).namespace}`),
        ['ADDED default', 'ADDED shop', 'MODIFIED shop', 'DELETED default'],
      );
      assert.deepEqual((seen[2]?.object as Report).summary?.fail, 2);
      watch.stop();
    });
  });

  it('goes with its namespace', async () => {
    await withReports(async (sim, api) => {
      await api.createNamespacedCustomObject({ ...REPORTS, namespace: 'shop', body: report('shop') });
      sim.deleteNamespace('shop');
      assert.deepEqual(sim.reports(), []);
    });
  });

  it('counts Report writes by verb and resource in the write log', async () => {
    await withReports(async (sim, api) => {
      await api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body: report() });
      await api.patchNamespacedCustomObject(
        { ...REPORTS, namespace: 'default', name: 'ecr-warden', body: { summary: { fail: 2 } } },
        merge,
      );
      await failure(api.createNamespacedCustomObject({ ...REPORTS, namespace: 'default', body: report() }));
      await api.deleteNamespacedCustomObject({ ...REPORTS, namespace: 'default', name: 'ecr-warden' });
      assert.deepEqual(
        sim
          .writes({ group: GROUP, resource: 'reports' })
          .map((w) => `${w.verb} ${w.namespace}/${w.name} ${w.code}`),
        [
          'create default/ecr-warden 201',
          'patch default/ecr-warden 200',
          'create default/ 409',
          'delete default/ecr-warden 200',
        ],
      );
      assert.deepEqual(
        ['create', 'patch', 'delete'].map((verb) => sim.requestCount(verb, 'reports')),
        [2, 1, 1],
      );
    });
  });
});

describe('OpenReports: printing', () => {
  it('prints the CRD’s additionalPrinterColumns, missing values as null', async () => {
    const clock = new TestClock(T0 + 5 * 60_000);
    await withReports(async (sim) => {
      clock.ms = T0;
      sim.upsertObject(report());
      clock.ms = T0 + 5 * 60_000;
      const res = await raw(sim, 'GET', '/apis/openreports.io/v1alpha1/reports', { Accept: TABLE_ACCEPT });
      const table = JSON.parse(res.body) as {
        columnDefinitions: Array<{ name: string; type: string; priority: number }>;
        rows: Array<{ cells: unknown[]; object: { kind: string } }>;
      };
      assert.deepEqual(
        table.columnDefinitions.map((c) => `${c.name}:${c.type}${c.priority ? '*' : ''}`),
        [
          'Name:string',
          'Kind:string*',
          'Name:string*',
          'Pass:integer',
          'Fail:integer',
          'Warn:integer',
          'Error:integer',
          'Skip:integer',
          'Age:date',
        ],
      );
      assert.deepEqual(table.rows[0]?.cells, ['ecr-warden', null, null, 0, 1, 0, 0, 0, '5m']);
      assert.equal(table.rows[0]?.object.kind, 'PartialObjectMetadata');
    }, clock);
  });
});
