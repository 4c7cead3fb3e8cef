/**
 * The chart's part in results written to the cluster: the RBAC each of config.reports' writers
 * needs, only while it is on, and the OpenReports CRDs when reports.installCRDs. Rendered by the
 * real helm binary and checked against the Kubernetes OpenAPI schemas, as test/chart.test.ts does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { parseAllDocuments } from 'yaml';

const execFileAsync = promisify(execFile);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HELM = join(ROOT, 'node_modules/.bin/helm');
const CHART = join(ROOT, 'charts/ecr-warden');
const CRD_FILES = ['openreports.io_reports.yaml', 'openreports.io_clusterreports.yaml'];

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shape depends on kind and is validated at runtime
  [field: string]: any;
};

const PODS_RULE = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] };
const EVENTS_RULE = {
  apiGroups: ['events.k8s.io'],
  resources: ['events'],
  verbs: ['create', 'patch', 'get', 'list'],
};
const REPORTS_RULE = {
  apiGroups: ['openreports.io'],
  resources: ['reports'],
  verbs: ['get', 'list', 'create', 'update', 'delete'],
};

/** Value sets and the ClusterRole rules each must produce. */
const RBAC_CASES = [
  { name: 'the defaults (Events on)', values: {}, rules: [PODS_RULE, EVENTS_RULE] },
  {
    name: 'Events off',
    values: { config: { reports: { events: false } } },
    rules: [PODS_RULE],
  },
  {
    name: 'OpenReports on',
    values: { config: { reports: { openReports: true } } },
    rules: [PODS_RULE, EVENTS_RULE, REPORTS_RULE],
  },
  {
    name: 'OpenReports on, Events off',
    values: { config: { reports: { events: false, openReports: true } } },
    rules: [PODS_RULE, REPORTS_RULE],
  },
];

const WITH_CRDS = { reports: { installCRDs: true }, config: { reports: { openReports: true } } };

const REJECTED = [
  {
    name: 'a reports.installCRDs that is not a boolean',
    values: { reports: { installCRDs: 'yes' } },
    error: /reports\.installCRDs: Invalid type\. Expected: boolean, given: string/,
  },
  {
    name: 'an unknown key under reports',
    values: { reports: { installCrds: true } },
    error: /reports: Additional property installCrds is not allowed/,
  },
];

let workDir = '';
let counter = 0;

async function helm(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(HELM, args, { maxBuffer: 32 * 1024 * 1024 });
    return { ok: true, stdout, stderr };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: failure.stdout ?? '', stderr: failure.stderr ?? String(err) };
  }
}

async function valuesFile(values: Record<string, unknown>): Promise<string> {
  const file = join(workDir, `values-${counter++}.json`);
  await writeFile(file, JSON.stringify(values));
  return file;
}

async function render(
  values: Record<string, unknown>,
): Promise<{ ok: boolean; objects: K8sObject[]; stderr: string }> {
  const result = await helm([
    'template',
    'warden',
    CHART,
    '--namespace',
    'security',
    '--kube-version',
    '1.33.0',
    '--values',
    await valuesFile(values),
  ]);
  const objects = result.ok
    ? parseAllDocuments(result.stdout)
        .map((doc) => doc.toJS() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null)
    : [];
  return { ok: result.ok, objects, stderr: result.stderr };
}

function of(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ecr-warden-chart-reports-'));
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('RBAC for the result writers', () => {
  for (const c of RBAC_CASES) {
    test(`grants what the writers need with ${c.name}, and nothing more`, async () => {
      const { ok, objects, stderr } = await render(c.values);
      assert.ok(ok, stderr);
      const [role, ...more] = of(objects, 'ClusterRole');
      assert.equal(more.length, 0);
      assert.ok(role);
      assert.doesNotThrow(() => new ClusterRole(role as never).validate());
      assert.deepEqual(role.rules, c.rules);
    });
  }
});

describe('the OpenReports CRDs', () => {
  test('are not installed by default', async () => {
    const { objects } = await render({ config: { reports: { openReports: true } } });
    assert.deepEqual(of(objects, 'CustomResourceDefinition'), []);
  });

  test('are the OpenReports project’s files, with the chart’s labels, kept on uninstall, when reports.installCRDs', async () => {
    const { ok, objects, stderr } = await render(WITH_CRDS);
    assert.ok(ok, stderr);
    const crds = of(objects, 'CustomResourceDefinition');
    assert.deepEqual(
      crds.map((c) => c.metadata.name),
      ['reports.openreports.io', 'clusterreports.openreports.io'],
    );
    for (const [index, file] of CRD_FILES.entries()) {
      const published = parseAllDocuments(await readFile(join(CHART, 'files/crds', file), 'utf8'))
        .map((doc) => doc.toJS() as K8sObject | null)
        .find((o) => o !== null)!;
      const crd = crds[index]!;
      assert.doesNotThrow(() => new CustomResourceDefinition(crd as never).validate(), file);
      assert.deepEqual(crd.spec, published.spec, `${file}: the spec as published`);
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      assert.equal(
        crd.metadata.annotations?.['controller-gen.kubebuilder.io/version'],
        published.metadata.annotations?.['controller-gen.kubebuilder.io/version'],
      );
      assert.equal(crd.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
      assert.equal(crd.metadata.labels?.['app.kubernetes.io/instance'], 'warden');
      assert.equal((crd.metadata as { namespace?: string }).namespace, undefined);
    }
  });

  test('pass helm lint --strict together with the Reports’ RBAC', async () => {
    const result = await helm(['lint', '--strict', CHART, '--values', await valuesFile(WITH_CRDS)]);
    assert.ok(result.ok, result.stdout + result.stderr);
  });
});

describe('the reports values', () => {
  for (const item of REJECTED) {
    test(`rejects ${item.name}`, async () => {
      const { ok, stderr } = await render(item.values);
      assert.equal(ok, false);
      assert.match(stderr, item.error);
    });
  }
});
