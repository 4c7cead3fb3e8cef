/**
 * The Helm chart, rendered by a real helm binary and checked three ways: helm's own lint and
 * schema validation, the Kubernetes OpenAPI schemas of every rendered object, and assertions on
 * what each value set must produce. Renders run in parallel once, before the tests read them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import {
  MutatingWebhookConfiguration,
  ValidatingWebhookConfiguration,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import pLimit from 'p-limit';
import { isMap, isScalar, type Node, parseAllDocuments, parseDocument, parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG, parseConfigText, type WorkloadKind } from '../src/config/index.ts';
import { IMAGE_METRICS, METRICS } from '../src/metrics/definitions.ts';

const execFileAsync = promisify(execFile);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HELM = join(ROOT, 'node_modules/.bin/helm');
const CHART = join(ROOT, 'charts/ecr-warden');
const RELEASE = 'warden';
const NAMESPACE = 'security';
const FULLNAME = 'warden-ecr-warden';
// A current release: matchConditions (GA 1.30) and the preStop sleep action (1.30) render.
const KUBE_VERSION = '1.33.0';
// Before matchConditions were on by default (beta in 1.28): the chart must leave them out.
const OLD_KUBE_VERSION = '1.27.0';
// helm processes at once: enough to keep 2 cores busy without a burst of memory.
const HELM_CONCURRENCY = 4;

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // Rendered objects are checked against their schemas below; tests then read them loosely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shape depends on kind and is validated at runtime
  [field: string]: any;
};

interface ValueSet {
  values: Record<string, unknown>;
  kubeVersion?: string;
}

/** The value sets every object-level test reads, rendered once each. */
const VALUE_SETS = {
  defaults: { values: {} },
  generatedCerts: {
    values: {
      webhook: { enabled: true, excludeNamespaces: ['batch-legacy'] },
      config: {
        webhook: { kinds: ['Pod', 'Deployment', 'CronJob', 'ReplicationController'] },
        policy: { exemptNamespaces: ['kube-system', 'sandbox'] },
      },
    },
  },
  certManager: { values: { webhook: { enabled: true, certManager: { enabled: true } } } },
  certManagerIssuer: {
    values: {
      webhook: {
        enabled: true,
        certManager: {
          enabled: true,
          issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        },
      },
    },
  },
  monitoring: {
    values: {
      webhook: { enabled: true },
      config: { webhook: { deadline: '1500ms' } },
      serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
      prometheusRule: {
        enabled: true,
        alertLabels: { team: 'platform' },
        disabledAlerts: ['EcrWardenImageStale'],
      },
      grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Security' } },
      podDisruptionBudget: { enabled: true },
      networkPolicy: {
        enabled: true,
        ingress: {
          metricsFrom: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ],
        },
      },
    },
  },
  threeReplicas: {
    values: {
      replicaCount: 3,
      podDisruptionBudget: { enabled: true, minAvailable: 2, maxUnavailable: null },
    },
  },
  mutating: {
    values: {
      webhook: { enabled: true, mutating: { enabled: true }, failurePolicy: 'Fail', timeoutSeconds: 5 },
      config: {
        policy: { mode: 'enforce' },
        ecr: { assumeRoles: { '210987654321': 'arn:aws:iam::210987654321:role/ecr-read' } },
      },
      replicaCount: 2,
    },
  },
  oldCluster: { values: { webhook: { enabled: true } }, kubeVersion: OLD_KUBE_VERSION },
  fullConfig: {
    values: {
      webhook: { enabled: true, mutating: { enabled: true } },
      config: {
        logLevel: 'debug',
        namespaces: { include: [], exclude: ['scratch'] },
        ecr: {
          tagTTL: '90s',
          detailTTL: '30m',
          negativeTTL: '30s',
          refreshInterval: '1h30m',
          maxConcurrency: 16,
          maxAttempts: 3,
          assumeRoles: { '444455556666': 'arn:aws:iam::444455556666:role/ecr-warden-reader' },
          resolveWith: 'BatchGetImage',
          maxImageSeries: 2000,
        },
        inventory: { enabled: true, staleAfter: '30d' },
        kubernetes: { watchIdleTimeout: '90s' },
        metrics: { address: '0.0.0.0', port: 9090 },
        leaderElection: { enabled: true, leaseName: 'warden-lease', namespace: '' },
        webhook: {
          enabled: true,
          address: '0.0.0.0',
          port: 8443,
          certFile: '/etc/ecr-warden/tls/tls.crt',
          keyFile: '/etc/ecr-warden/tls/tls.key',
          deadline: '1.5s',
          kinds: [
            'Pod',
            'Deployment',
            'StatefulSet',
            'DaemonSet',
            'ReplicaSet',
            'Job',
            'CronJob',
            'ReplicationController',
          ],
          pinDigests: true,
        },
        policy: {
          mode: 'warn',
          onError: 'deny',
          exemptNamespaces: ['kube-system', 'sandbox'],
          exemptImages: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/debug/**'],
          checks: {
            nonEcr: { action: 'warn' },
            allowedRegistries: { action: 'deny', registries: ['444455556666', 'registry.example.com:5000'] },
            digestRequired: { action: 'warn' },
            imageExists: { action: 'deny' },
            archived: { action: 'warn' },
            scanComplete: { action: 'off' },
            severity: { action: 'deny', max: { CRITICAL: null, HIGH: 10 } },
            scanAge: { action: 'warn', maxAge: '14d' },
            imageAge: { action: 'warn', maxAge: '180d' },
          },
        },
      },
    },
  },
  customPorts: {
    values: { webhook: { enabled: true }, config: { metrics: { port: 9100 }, webhook: { port: 9443 } } },
  },
  ownNodeOptions: {
    values: { nodeOptions: '', env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=900' }] },
  },
} satisfies Record<string, ValueSet>;
type SetName = keyof typeof VALUE_SETS;

/** The resources the webhook rules must list for each kind of config.webhook.kinds. */
const RESOURCES_OF_KIND: Record<WorkloadKind, string[]> = {
  Pod: ['pods', 'pods/ephemeralcontainers'],
  Deployment: ['deployments'],
  StatefulSet: ['statefulsets'],
  DaemonSet: ['daemonsets'],
  ReplicaSet: ['replicasets'],
  Job: ['jobs'],
  CronJob: ['cronjobs'],
  ReplicationController: ['replicationcontrollers'],
};

/** Values that must make helm fail, with the message that must say why. */
const REJECTED: { name: string; values: Record<string, unknown>; error: RegExp }[] = [
  {
    name: 'the mutating webhook without the webhook server',
    values: { webhook: { mutating: { enabled: true } } },
    error: /webhook\.mutating\.enabled requires webhook\.enabled/,
  },
  {
    name: 'several replicas with leader election switched off',
    values: { replicaCount: 3, config: { leaderElection: { enabled: false } } },
    error: /config\.leaderElection\.enabled is false with replicaCount 3/,
  },
  {
    name: 'an API server timeout not above the webhook deadline',
    values: { webhook: { enabled: true, timeoutSeconds: 3 }, config: { webhook: { deadline: '3s' } } },
    error: /webhook\.timeoutSeconds \(3\) must be above config\.webhook\.deadline \(3s\)/,
  },
  {
    name: 'config.webhook.enabled contradicting webhook.enabled',
    values: { config: { webhook: { enabled: true } } },
    error: /config\.webhook\.enabled is set by the chart from webhook\.enabled/,
  },
  {
    name: 'pinDigests without the mutating webhook',
    values: { webhook: { enabled: true }, config: { webhook: { pinDigests: true } } },
    error: /config\.webhook\.pinDigests is set by the chart from webhook\.mutating\.enabled/,
  },
  {
    name: 'a certificate path away from the mounted Secret',
    values: { webhook: { enabled: true }, config: { webhook: { certFile: '/tls/cert.pem' } } },
    error: /config\.webhook\.certFile is set by the chart/,
  },
  {
    name: 'the metrics and webhook servers on one port',
    values: { webhook: { enabled: true }, config: { metrics: { port: 8443 } } },
    error: /config\.metrics\.port and config\.webhook\.port are both 8443/,
  },
  {
    name: 'a loopback metrics address the probes cannot reach',
    values: { config: { metrics: { address: '127.0.0.1' } } },
    error: /config\.metrics\.address is 127\.0\.0\.1/,
  },
  {
    name: 'a PodDisruptionBudget that would block every eviction',
    values: {
      replicaCount: 2,
      podDisruptionBudget: { enabled: true, minAvailable: 2, maxUnavailable: null },
    },
    error: /podDisruptionBudget\.minAvailable \(2\) must be below replicaCount \(2\)/,
  },
  {
    name: 'a PodDisruptionBudget with both bounds',
    values: { podDisruptionBudget: { enabled: true, minAvailable: 1, maxUnavailable: 1 } },
    error: /set minAvailable or maxUnavailable, not both/,
  },
  {
    name: 'a cert-manager issuerRef without a name',
    values: {
      webhook: { enabled: true, certManager: { enabled: true, issuerRef: { kind: 'ClusterIssuer' } } },
    },
    error: /issuerRef needs a name/,
  },
  {
    name: 'NODE_OPTIONS in env as well as nodeOptions',
    values: { env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=900' }] },
    error: /set NODE_OPTIONS through nodeOptions, not env/,
  },
  {
    name: 'an unknown policy mode (schema)',
    values: { config: { policy: { mode: 'block' } } },
    error: /config\.policy\.mode must be one of the following: "audit", "warn", "enforce"/,
  },
  {
    name: 'a misspelt config key (schema)',
    values: { config: { ecr: { tagTtl: '5m' } } },
    error: /config\.ecr: Additional property tagTtl is not allowed/,
  },
  {
    name: 'a duration without a unit (schema)',
    values: { config: { inventory: { staleAfter: '90' } } },
    error: /config\.inventory\.staleAfter: Does not match pattern/,
  },
  {
    name: 'an unknown failurePolicy (schema)',
    values: { webhook: { failurePolicy: 'Maybe' } },
    error: /webhook\.failurePolicy must be one of the following: "Ignore", "Fail"/,
  },
  {
    name: 'an account ID that is not 12 digits (schema)',
    values: {
      config: { policy: { checks: { allowedRegistries: { action: 'deny', registries: ['1234'] } } } },
    },
    error: /config\.policy\.checks\.allowedRegistries\.registries\.0: Does not match pattern/,
  },
];

let workDir = '';
const rendered = new Map<SetName, K8sObject[]>();
const rejections = new Map<string, string>();
const lintOutputs: { name: string; ok: boolean; output: string }[] = [];

async function writeValues(name: string, values: Record<string, unknown>): Promise<string> {
  const file = join(workDir, `${name}.json`);
  // JSON is YAML: helm reads the file as a values file.
  await writeFile(file, JSON.stringify(values));
  return file;
}

async function helm(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(HELM, args, { maxBuffer: 32 * 1024 * 1024 });
    return { ok: true, stdout, stderr };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: failure.stdout ?? '', stderr: failure.stderr ?? String(err) };
  }
}

function templateArgs(valuesFile: string, kubeVersion = KUBE_VERSION): string[] {
  return [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    '--kube-version',
    kubeVersion,
    '--values',
    valuesFile,
  ];
}

function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(doc.errors, [], 'helm output is valid YAML');
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ecr-warden-chart-'));
  const limit = pLimit(HELM_CONCURRENCY);
  const renders = Object.entries(VALUE_SETS).map(([name, set]: [string, ValueSet]) =>
    limit(async () => {
      const result = await helm(templateArgs(await writeValues(name, set.values), set.kubeVersion));
      assert.ok(result.ok, `helm template (${name}) failed: ${result.stderr}`);
      rendered.set(name as SetName, parseManifests(result.stdout));
    }),
  );
  const failures = REJECTED.map((item, index) =>
    limit(async () => {
      const result = await helm(templateArgs(await writeValues(`rejected-${index}`, item.values)));
      rejections.set(item.name, result.ok ? '' : result.stderr);
    }),
  );
  const lints = [
    { name: 'defaults', values: {} },
    { name: 'everything on', values: VALUE_SETS.monitoring.values },
  ].map((item) =>
    limit(async () => {
      const result = await helm([
        'lint',
        '--strict',
        CHART,
        '--values',
        await writeValues(`lint-${item.name}`, item.values),
      ]);
      lintOutputs.push({ name: item.name, ok: result.ok, output: result.stdout + result.stderr });
    }),
  );
  await Promise.all([...renders, ...failures, ...lints]);
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function objects(set: SetName): K8sObject[] {
  const list = rendered.get(set);
  assert.ok(list, `value set ${set} was rendered`);
  return list;
}

function find(set: SetName, kind: string, name?: string): K8sObject | undefined {
  return objects(set).find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

function get(set: SetName, kind: string, name?: string): K8sObject {
  const found = find(set, kind, name);
  assert.ok(found, `${set} renders a ${kind}${name ? ` named ${name}` : ''}`);
  return found;
}

/** The one webhook of a webhook configuration. */
function webhookOf(
  set: SetName,
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration',
): K8sObject {
  const webhooks = get(set, kind).webhooks as K8sObject[];
  assert.equal(webhooks.length, 1, `${set}: one webhook in the ${kind}`);
  return webhooks[0]!;
}

/** The rendered config file, parsed as plain YAML (what the chart wrote, before any defaults). */
function configOf(set: SetName): K8sObject[string] {
  const text = get(set, 'ConfigMap', FULLNAME).data['config.yaml'] as string;
  return parseYaml(text);
}

function controllerContainer(set: SetName): K8sObject {
  const containers = get(set, 'Deployment').spec.template.spec.containers as K8sObject[];
  assert.equal(containers.length, 1);
  return containers[0]!;
}

// ---------------------------------------------------------------------------------------------
// Schemas: the Kubernetes OpenAPI (kubernetes-models) for types and required fields, and
// @kubernetes/client-node's generated models for field names, which kubernetes-models' validators
// let through: a misspelt field would otherwise be dropped silently by the API server.

type Validate = (obj: K8sObject) => void;
function validatorFor<T>(Model: new (data: T) => { validate(): void }): Validate {
  return (obj) => new Model(obj as unknown as T).validate();
}

const OPENAPI_VALIDATORS: Record<string, Validate> = {
  'v1/ConfigMap': validatorFor(ConfigMap),
  'v1/Secret': validatorFor(Secret),
  'v1/Service': validatorFor(Service),
  'v1/ServiceAccount': validatorFor(ServiceAccount),
  'apps/v1/Deployment': validatorFor(Deployment),
  'rbac.authorization.k8s.io/v1/ClusterRole': validatorFor(ClusterRole),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': validatorFor(ClusterRoleBinding),
  'rbac.authorization.k8s.io/v1/Role': validatorFor(Role),
  'rbac.authorization.k8s.io/v1/RoleBinding': validatorFor(RoleBinding),
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': validatorFor(
    ValidatingWebhookConfiguration,
  ),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': validatorFor(MutatingWebhookConfiguration),
  'policy/v1/PodDisruptionBudget': validatorFor(PodDisruptionBudget),
  'networking.k8s.io/v1/NetworkPolicy': validatorFor(NetworkPolicy),
};

/** CRDs outside the Kubernetes OpenAPI, checked by hand in their own tests. */
const CUSTOM_RESOURCES = new Set([
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'cert-manager.io/v1/Certificate',
  'cert-manager.io/v1/Issuer',
]);

interface Attribute {
  baseName: string;
  type: string;
}
const MODELS = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>;

/** Paths of fields that the Kubernetes type (client-node model name) does not have. */
function unknownFields(value: unknown, type: string, path: string, found: string[]): void {
  if (value === null || value === undefined) return;
  const arrayOf = /^Array<(.+)>$/.exec(type);
  if (arrayOf) {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        unknownFields(item, arrayOf[1]!, `${path}[${index}]`, found);
      });
    }
    return;
  }
  const mapOf = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (mapOf) {
    for (const [key, item] of Object.entries(value as object))
      unknownFields(item, mapOf[1]!, `${path}.${key}`, found);
    return;
  }
  const attributes = MODELS[type]?.getAttributeTypeMap?.();
  if (attributes === undefined || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, item] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (attribute === undefined) found.push(`${path}.${key}`);
    else unknownFields(item, attribute.type, `${path}.${key}`, found);
  }
}

describe('helm lint and the values schema', () => {
  test('helm lint --strict passes with the default values and with every feature on', () => {
    assert.equal(lintOutputs.length, 2);
    for (const lint of lintOutputs) assert.ok(lint.ok, `lint (${lint.name}): ${lint.output}`);
  });

  test('every key of the chart’s own objects in values.yaml is documented by a comment', async () => {
    const doc = parseDocument(await readFile(join(CHART, 'values.yaml'), 'utf8'));
    const schema = JSON.parse(await readFile(join(CHART, 'values.schema.json'), 'utf8')) as SchemaNode;
    const undocumented: string[] = [];
    walkDocumented(doc.contents, schema, '', undocumented);
    assert.deepEqual(undocumented, []);
  });

  for (const item of REJECTED) {
    test(`rejects ${item.name}`, () => {
      const stderr = rejections.get(item.name);
      assert.ok(stderr, `helm template should have failed for ${item.name}`);
      assert.match(stderr, item.error);
    });
  }
});

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
}

/** Walks values.yaml along the schema's closed objects: keys of free-form maps are the user's. */
function walkDocumented(node: Node | null, schema: SchemaNode, path: string, undocumented: string[]): void {
  if (!isMap(node) || schema.properties === undefined || schema.additionalProperties !== false) return;
  node.items.forEach((pair, index) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    const keyPath = path ? `${path}.${key}` : key;
    // The first key's comment belongs to its map when the map is the document's root.
    const comment =
      (isScalar(pair.key) ? pair.key.commentBefore : undefined) ??
      (index === 0 ? node.commentBefore : undefined);
    if (!comment?.trim()) undocumented.push(keyPath);
    const child = schema.properties?.[key];
    if (child === undefined) undocumented.push(`${keyPath} (not in values.schema.json)`);
    else walkDocumented(pair.value as Node | null, child, keyPath, undocumented);
  });
}

describe('every rendered object', () => {
  test('matches the Kubernetes OpenAPI schema of its kind, with no unknown field', () => {
    for (const [set, list] of rendered) {
      for (const obj of list) {
        const id = `${set}: ${obj.kind}/${obj.metadata.name}`;
        const key = `${obj.apiVersion}/${obj.kind}`;
        if (CUSTOM_RESOURCES.has(key)) continue;
        const validate = OPENAPI_VALIDATORS[key];
        assert.ok(validate, `${id}: no schema known for ${key}`);
        assert.doesNotThrow(() => validate(obj), id);
        const unknown: string[] = [];
        unknownFields(obj, `V1${obj.kind}`, obj.kind, unknown);
        assert.deepEqual(unknown, [], `${id}: unknown fields`);
      }
    }
  });

  test('carries the standard labels, and namespaced objects live in the release namespace', () => {
    for (const [set, list] of rendered) {
      for (const obj of list) {
        const labels = obj.metadata.labels ?? {};
        assert.equal(labels['app.kubernetes.io/name'], 'ecr-warden', `${set}: ${obj.kind}`);
        assert.equal(labels['app.kubernetes.io/instance'], RELEASE);
        assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm');
        assert.equal(labels['app.kubernetes.io/version'], '0.1.0');
        assert.match(labels['helm.sh/chart'] ?? '', /^ecr-warden-\d+\.\d+\.\d+$/);
        const clusterScoped =
          /^(ClusterRole|ClusterRoleBinding|ValidatingWebhookConfiguration|MutatingWebhookConfiguration)$/;
        if (clusterScoped.test(obj.kind)) assert.equal(obj.metadata.namespace, undefined);
        else assert.equal(obj.metadata.namespace, NAMESPACE, `${set}: ${obj.kind}/${obj.metadata.name}`);
      }
    }
  });
});

describe('the Deployment', () => {
  test('selects pods by the immutable selector labels only', () => {
    const deployment = get('defaults', 'Deployment', FULLNAME);
    assert.deepEqual(deployment.spec.selector.matchLabels, {
      'app.kubernetes.io/name': 'ecr-warden',
      'app.kubernetes.io/instance': RELEASE,
    });
    for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) {
      assert.equal(deployment.spec.template.metadata.labels[key], value);
    }
  });

  test('runs the CLI’s serve command on the rendered config file', () => {
    const container = controllerContainer('defaults');
    assert.deepEqual(container.args, ['serve', '--config', '/etc/ecr-warden/config.yaml']);
    const mount = (container.volumeMounts as K8sObject[]).find((m) => m.name === 'config');
    assert.equal(mount?.mountPath, '/etc/ecr-warden/config.yaml');
    assert.equal(mount?.subPath, 'config.yaml');
    const volume = (get('defaults', 'Deployment').spec.template.spec.volumes as K8sObject[]).find(
      (v) => v.name === 'config',
    );
    assert.equal(volume?.configMap.name, FULLNAME);
  });

  test('runs as a non-root user with a read-only root filesystem and no capabilities', () => {
    const pod = get('defaults', 'Deployment').spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(Number.isInteger(pod.securityContext.runAsUser) && pod.securityContext.runAsUser > 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    const security = controllerContainer('defaults').securityContext;
    assert.equal(security.readOnlyRootFilesystem, true);
    assert.equal(security.allowPrivilegeEscalation, false);
    assert.deepEqual(security.capabilities.drop, ['ALL']);
    assert.equal(security.seccompProfile.type, 'RuntimeDefault');
  });

  test('probes /healthz and /readyz on the metrics port, and knows its namespace and name', () => {
    const container = controllerContainer('defaults');
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
    const env = Object.fromEntries(
      (container.env as K8sObject[]).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    );
    assert.equal(
      env.POD_NAMESPACE,
      'metadata.namespace',
      'the Lease namespace when the config leaves it empty',
    );
    assert.equal(env.POD_NAME, 'metadata.name', 'the replica’s Lease identity');
  });

  test("sizes V8's heap for the 512Mi memory limit through NODE_OPTIONS, unless the user sets it", () => {
    const nodeOptions = (set: SetName) =>
      (controllerContainer(set).env as K8sObject[])
        .filter((e) => e.name === 'NODE_OPTIONS')
        .map((e) => e.value);
    assert.deepEqual(nodeOptions('defaults'), ['--max-old-space-size=256 --max-semi-space-size=2']);
    assert.equal(controllerContainer('defaults').resources.limits.memory, '512Mi');
    assert.deepEqual(nodeOptions('ownNodeOptions'), ['--max-old-space-size=900']);
  });

  test('opens the ports the config names', () => {
    const container = controllerContainer('customPorts');
    assert.deepEqual(
      (container.ports as K8sObject[]).map((p) => [p.name, p.containerPort]),
      [
        ['metrics', 9100],
        ['webhook', 9443],
      ],
    );
    assert.equal(get('customPorts', 'Service', `${FULLNAME}-metrics`).spec.ports[0].port, 9100);
    const webhookService = get('customPorts', 'Service', `${FULLNAME}-webhook`);
    assert.deepEqual(webhookService.spec.ports[0], {
      name: 'https',
      port: 443,
      targetPort: 'webhook',
      protocol: 'TCP',
    });
  });

  test('rolls its pods when the config changes, and only then', () => {
    const checksum = (set: SetName) =>
      get(set, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    assert.match(checksum('defaults'), /^[0-9a-f]{64}$/);
    assert.notEqual(checksum('defaults'), checksum('generatedCerts'));
    assert.equal(checksum('generatedCerts'), checksum('generatedCerts'));
    assert.equal(
      checksum('certManager'),
      checksum('certManagerIssuer'),
      'the issuer does not change the config',
    );
  });

  test('spreads replicas over zones and nodes by its own selector labels', () => {
    const constraints = get('threeReplicas', 'Deployment').spec.template.spec
      .topologySpreadConstraints as K8sObject[];
    assert.deepEqual(
      constraints.map((c) => c.topologyKey),
      ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'],
    );
    for (const constraint of constraints) {
      assert.equal(constraint.whenUnsatisfiable, 'ScheduleAnyway');
      assert.deepEqual(
        constraint.labelSelector.matchLabels,
        get('threeReplicas', 'Deployment').spec.selector.matchLabels,
      );
    }
    assert.equal(get('threeReplicas', 'Deployment').spec.replicas, 3);
  });

  test('mounts the webhook Secret as a directory, so certificate renewals reach the pod', () => {
    const spec = get('generatedCerts', 'Deployment').spec.template.spec;
    const mount = (spec.containers[0].volumeMounts as K8sObject[]).find((m) => m.name === 'tls');
    assert.equal(mount?.mountPath, '/etc/ecr-warden/tls');
    assert.equal(mount?.subPath, undefined);
    const volume = (spec.volumes as K8sObject[]).find((v) => v.name === 'tls');
    assert.equal(volume?.secret.secretName, `${FULLNAME}-webhook-tls`);
    const config = configOf('generatedCerts');
    assert.equal(config.webhook.certFile, `${mount?.mountPath}/tls.crt`);
    assert.equal(config.webhook.keyFile, `${mount?.mountPath}/tls.key`);
    assert.equal(controllerContainer('generatedCerts').lifecycle.preStop.sleep.seconds, 5);
    assert.equal(
      controllerContainer('oldCluster').lifecycle,
      undefined,
      'no sleep action before Kubernetes 1.30',
    );
    assert.equal(
      (get('defaults', 'Deployment').spec.template.spec.volumes as K8sObject[]).some((v) => v.name === 'tls'),
      false,
    );
  });
});

describe('the config file', () => {
  test('holds only the chart-owned keys when values.config is empty', () => {
    assert.deepEqual(configOf('defaults'), {
      leaderElection: { enabled: false, leaseName: FULLNAME },
      webhook: {
        enabled: false,
        pinDigests: false,
        certFile: '/etc/ecr-warden/tls/tls.crt',
        keyFile: '/etc/ecr-warden/tls/tls.key',
      },
    });
  });

  test('passes values.config through and sets the chart-owned keys beside it', () => {
    const config = configOf('mutating');
    assert.deepEqual(config.policy, { mode: 'enforce' });
    assert.deepEqual(config.ecr, {
      assumeRoles: { '210987654321': 'arn:aws:iam::210987654321:role/ecr-read' },
    });
    assert.equal(config.webhook.enabled, true);
    assert.equal(config.webhook.pinDigests, true);
    assert.equal(config.leaderElection?.enabled, true, 'two replicas elect a leader');
    const kinds = configOf('generatedCerts').webhook.kinds;
    assert.deepEqual(kinds, ['Pod', 'Deployment', 'CronJob', 'ReplicationController']);
  });

  test('is read by the program’s own config loader for every value set', () => {
    for (const set of rendered.keys()) {
      const text = get(set, 'ConfigMap', FULLNAME).data['config.yaml'] as string;
      assert.doesNotThrow(() => parseConfigText(text, `${set}/config.yaml`), `config of ${set}`);
    }
  });

  test('carries every key of the configuration reference through to the program', () => {
    const text = get('fullConfig', 'ConfigMap', FULLNAME).data['config.yaml'] as string;
    const config = parseConfigText(text, 'fullConfig/config.yaml');
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.namespaces, { include: [], exclude: ['scratch'] });
    assert.equal(config.ecr.tagTTL, 90_000);
    assert.equal(config.ecr.resolveWith, 'BatchGetImage');
    assert.deepEqual(config.ecr.assumeRoles, {
      '444455556666': 'arn:aws:iam::444455556666:role/ecr-warden-reader',
    });
    assert.equal(config.inventory.staleAfter, 30 * 24 * 3600_000);
    assert.equal(config.kubernetes.watchIdleTimeout, 90_000);
    assert.deepEqual(config.leaderElection, { enabled: true, leaseName: 'warden-lease', namespace: '' });
    assert.equal(config.webhook.deadline, 1_500);
    assert.deepEqual(config.webhook.kinds, [
      'Pod',
      'Deployment',
      'StatefulSet',
      'DaemonSet',
      'ReplicaSet',
      'Job',
      'CronJob',
      'ReplicationController',
    ]);
    assert.equal(config.policy.mode, 'warn');
    assert.deepEqual(config.policy.checks.allowedRegistries.registries, [
      '444455556666',
      'registry.example.com:5000',
    ]);
    assert.deepEqual(
      config.policy.checks.severity.max,
      { HIGH: 10 },
      'CRITICAL: null lifts the default limit',
    );
    assert.equal(config.policy.checks.imageAge.maxAge, 180 * 24 * 3600_000);
  });

  test('the chart’s fallbacks for keys left out are the program’s defaults', () => {
    const container = controllerContainer('oldCluster');
    const ports = Object.fromEntries((container.ports as K8sObject[]).map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { metrics: DEFAULT_CONFIG.metrics.port, webhook: DEFAULT_CONFIG.webhook.port });
    const config = configOf('oldCluster');
    assert.equal(config.webhook.certFile, DEFAULT_CONFIG.webhook.certFile);
    assert.equal(config.webhook.keyFile, DEFAULT_CONFIG.webhook.keyFile);
    const webhook = webhookOf('oldCluster', 'ValidatingWebhookConfiguration');
    assert.ok(webhook.timeoutSeconds * 1000 > DEFAULT_CONFIG.webhook.deadline);
    const resources = (webhook.rules as K8sObject[]).flatMap((r) => r.resources as string[]);
    assert.deepEqual(
      resources.sort(),
      DEFAULT_CONFIG.webhook.kinds.flatMap((kind) => RESOURCES_OF_KIND[kind]).sort(),
    );
    const excluded = webhook.namespaceSelector.matchExpressions[0].values as string[];
    for (const name of DEFAULT_CONFIG.policy.exemptNamespaces) assert.ok(excluded.includes(name), name);
  });
});

describe('RBAC', () => {
  test('reads pods cluster-wide and writes Events (config.reports.events), nothing else', () => {
    // The rules of the other config.reports settings: test/chart-reports.test.ts.
    assert.deepEqual(get('defaults', 'ClusterRole', FULLNAME).rules, [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'get', 'list'] },
    ]);
    const binding = get('defaults', 'ClusterRoleBinding', FULLNAME);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
  });

  test('grants the lease only when leader election is on, in a namespaced Role', () => {
    assert.equal(find('defaults', 'Role'), undefined);
    const role = get('threeReplicas', 'Role', `${FULLNAME}-leader-election`);
    assert.equal(role.metadata.namespace, NAMESPACE);
    assert.deepEqual(role.rules, [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [FULLNAME],
        verbs: ['get', 'update'],
      },
    ]);
    const config = configOf('threeReplicas');
    assert.deepEqual(config.leaderElection, { enabled: true, leaseName: FULLNAME });
    const binding = get('threeReplicas', 'RoleBinding');
    assert.equal(binding.roleRef.name, role.metadata.name);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
  });
});

describe('the admission webhooks', () => {
  test('are not registered until webhook.enabled', () => {
    for (const kind of [
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
      'Secret',
      'Certificate',
    ]) {
      assert.equal(find('defaults', kind), undefined, kind);
    }
    assert.equal(find('defaults', 'Service', `${FULLNAME}-webhook`), undefined);
  });

  test('validate with the safe defaults: no side effects, v1 reviews, Ignore, a timeout above the deadline', () => {
    const webhook = webhookOf('generatedCerts', 'ValidatingWebhookConfiguration');
    assert.equal(webhook.sideEffects, 'None');
    assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
    assert.equal(webhook.matchPolicy, 'Equivalent');
    assert.equal(webhook.failurePolicy, 'Ignore');
    assert.equal(webhook.timeoutSeconds, 3);
    assert.deepEqual(webhook.clientConfig.service, {
      name: `${FULLNAME}-webhook`,
      namespace: NAMESPACE,
      path: '/validate',
      port: 443,
    });
  });

  test('never see kube-system, the release namespace, or the namespaces the policy exempts', () => {
    const webhook = webhookOf('generatedCerts', 'ValidatingWebhookConfiguration');
    assert.deepEqual(webhook.namespaceSelector.matchExpressions, [
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['batch-legacy', 'kube-system', 'sandbox', NAMESPACE],
      },
    ]);
  });

  test('watch pods, their ephemeral containers, and the workload kinds the config lists', () => {
    const webhook = webhookOf('generatedCerts', 'ValidatingWebhookConfiguration');
    assert.deepEqual(webhook.rules, [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'],
        scope: 'Namespaced',
      },
      {
        apiGroups: ['apps'],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['deployments'],
        scope: 'Namespaced',
      },
      {
        apiGroups: ['batch'],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['cronjobs'],
        scope: 'Namespaced',
      },
    ]);
  });

  test('cover every workload kind when the config lists them all', () => {
    const webhook = webhookOf('fullConfig', 'ValidatingWebhookConfiguration');
    const resources = (webhook.rules as K8sObject[]).flatMap((r) => r.resources as string[]);
    assert.deepEqual(resources.sort(), Object.values(RESOURCES_OF_KIND).flat().sort());
  });

  test('skip updates that leave the spec alone, where the cluster supports matchConditions', () => {
    const webhook = webhookOf('generatedCerts', 'ValidatingWebhookConfiguration');
    assert.deepEqual(webhook.matchConditions, [
      { name: 'spec-changed', expression: "request.operation != 'UPDATE' || object.spec != oldObject.spec" },
    ]);
    const old = webhookOf('oldCluster', 'ValidatingWebhookConfiguration');
    assert.equal(old.matchConditions, undefined);
  });

  test('trust a generated CA that signed the serving certificate for the webhook Service', () => {
    const secret = get('generatedCerts', 'Secret', `${FULLNAME}-webhook-tls`);
    assert.equal(secret.type, 'kubernetes.io/tls');
    const webhook = webhookOf('generatedCerts', 'ValidatingWebhookConfiguration');
    assert.equal(webhook.clientConfig.caBundle, secret.data['ca.crt'], 'caBundle is the Secret’s CA');
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
    const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    assert.equal(ca.ca, true);
    assert.equal(serving.verify(ca.publicKey), true);
    assert.equal(
      serving.checkHost(`${FULLNAME}-webhook.${NAMESPACE}.svc`),
      `${FULLNAME}-webhook.${NAMESPACE}.svc`,
    );
    assert.ok(Date.parse(serving.validTo) > Date.now() + 5 * 365 * 24 * 3600 * 1000, 'valid for years');
    const key = Buffer.from(secret.data['tls.key'], 'base64').toString();
    assert.match(key, /BEGIN (RSA )?PRIVATE KEY/);
  });

  test('share one CA between the validating and the mutating webhook', () => {
    const secret = get('mutating', 'Secret', `${FULLNAME}-webhook-tls`);
    const validating = webhookOf('mutating', 'ValidatingWebhookConfiguration');
    const mutating = webhookOf('mutating', 'MutatingWebhookConfiguration');
    assert.equal(validating.clientConfig.caBundle, secret.data['ca.crt']);
    assert.equal(mutating.clientConfig.caBundle, secret.data['ca.crt']);
  });

  test('pin digests through a mutating webhook that never blocks, and keep the user’s failurePolicy for validation', () => {
    const mutating = webhookOf('mutating', 'MutatingWebhookConfiguration');
    assert.equal(mutating.clientConfig.service.path, '/mutate');
    assert.equal(mutating.failurePolicy, 'Ignore');
    assert.equal(mutating.reinvocationPolicy, 'Never');
    assert.equal(mutating.timeoutSeconds, 5);
    assert.deepEqual(mutating.namespaceSelector.matchExpressions[0].values, ['kube-system', NAMESPACE]);
    const validating = webhookOf('mutating', 'ValidatingWebhookConfiguration');
    assert.equal(validating.failurePolicy, 'Fail');
    assert.equal(find('generatedCerts', 'MutatingWebhookConfiguration'), undefined);
  });

  test('pin Pods only, while validating every workload kind the config lists', () => {
    const resourcesOf = (webhook: K8sObject) =>
      (webhook.rules as K8sObject[]).flatMap((rule) => rule.resources as string[]).sort();
    assert.deepEqual(resourcesOf(webhookOf('fullConfig', 'MutatingWebhookConfiguration')), [
      'pods',
      'pods/ephemeralcontainers',
    ]);
    assert.ok(resourcesOf(webhookOf('fullConfig', 'ValidatingWebhookConfiguration')).includes('deployments'));
  });

  test('get their certificate from cert-manager with a self-signed Issuer by default', () => {
    const issuer = get('certManager', 'Issuer', `${FULLNAME}-selfsigned`);
    assert.equal(issuer.apiVersion, 'cert-manager.io/v1');
    assert.deepEqual(issuer.spec, { selfSigned: {} });
    const certificate = get('certManager', 'Certificate', FULLNAME);
    assert.equal(certificate.apiVersion, 'cert-manager.io/v1');
    assert.deepEqual(certificate.spec.issuerRef, {
      name: issuer.metadata.name,
      kind: 'Issuer',
      group: 'cert-manager.io',
    });
    assert.deepEqual(certificate.spec.dnsNames, [
      `${FULLNAME}-webhook`,
      `${FULLNAME}-webhook.${NAMESPACE}`,
      `${FULLNAME}-webhook.${NAMESPACE}.svc`,
      `${FULLNAME}-webhook.${NAMESPACE}.svc.cluster.local`,
    ]);
    assert.ok(certificate.spec.usages.includes('server auth'));
    const volume = (get('certManager', 'Deployment').spec.template.spec.volumes as K8sObject[]).find(
      (v) => v.name === 'tls',
    );
    assert.equal(volume?.secret.secretName, certificate.spec.secretName);
    assert.equal(find('certManager', 'Secret'), undefined, 'cert-manager writes the Secret');
    const validating = get('certManager', 'ValidatingWebhookConfiguration');
    assert.equal(
      validating.metadata.annotations?.['cert-manager.io/inject-ca-from'],
      `${NAMESPACE}/${FULLNAME}`,
    );
    assert.equal(
      webhookOf('certManager', 'ValidatingWebhookConfiguration').clientConfig.caBundle,
      undefined,
      'the CA injector fills it in',
    );
  });

  test('use the given cert-manager issuer instead of creating one', () => {
    assert.equal(find('certManagerIssuer', 'Issuer'), undefined);
    assert.deepEqual(get('certManagerIssuer', 'Certificate').spec.issuerRef, {
      name: 'corp-ca',
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
  });
});

describe('monitoring', () => {
  const exportedMetrics = new Set(
    [...Object.values(IMAGE_METRICS), ...Object.values(METRICS)].map((m) => m.name),
  );
  const histogramSeries = new Set(
    Object.values(METRICS)
      .filter((m) => m.type === 'histogram')
      .flatMap((m) => ['_bucket', '_sum', '_count'].map((suffix) => m.name + suffix)),
  );
  /** ecr_warden_* names in a PromQL expression that the program does not define. */
  const unknownMetrics = (expr: string) =>
    [...expr.matchAll(/\becr_warden_[a-z_]+/g)]
      .map((m) => m[0])
      .filter((n) => !exportedMetrics.has(n) && !histogramSeries.has(n));

  test('a ServiceMonitor scrapes the metrics Service by its labels and port name', () => {
    const monitor = get('monitoring', 'ServiceMonitor', FULLNAME);
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.metadata.labels?.release, 'kube-prometheus-stack');
    const service = get('monitoring', 'Service', `${FULLNAME}-metrics`);
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) {
      assert.equal(service.metadata.labels?.[key], value, `Service label ${key}`);
    }
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: [NAMESPACE] });
    const [endpoint] = monitor.spec.endpoints as K8sObject[];
    assert.equal(endpoint?.port, service.spec.ports[0].name);
    assert.equal(endpoint?.path, '/metrics');
    assert.equal(endpoint?.honorLabels, true, 'policy_violations keeps its namespace label');
    assert.equal(
      find('monitoring', 'Service', `${FULLNAME}-webhook`)?.metadata.labels?.['app.kubernetes.io/component'],
      'webhook',
    );
  });

  test('the PrometheusRule alerts on the metrics the program exports, for this release’s job', async () => {
    const rule = get('monitoring', 'PrometheusRule', FULLNAME);
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    const groups = rule.spec.groups as K8sObject[];
    assert.equal(groups.length, 1);
    const rules = groups[0]!.rules as K8sObject[];
    const names = rules.map((r) => r.alert as string);
    for (const wanted of [
      'EcrWardenCriticalFindingsRunning',
      'EcrWardenImageDrift',
      'EcrWardenUnresolvedImages',
      'EcrWardenWebhookErrors',
    ]) {
      assert.ok(names.includes(wanted), wanted);
    }
    assert.equal(names.includes('EcrWardenImageStale'), false, 'disabledAlerts leaves it out');
    const alertsDoc = await readFile(join(ROOT, 'docs/alerts.md'), 'utf8');
    for (const r of rules) {
      assert.deepEqual(unknownMetrics(r.expr), [], r.alert);
      assert.ok(
        r.expr.includes(`job="${FULLNAME}-metrics"`) || r.alert === 'EcrWardenDown',
        `${r.alert} selects the job`,
      );
      assert.match(r.for, /^\d+[mh]$/);
      assert.ok(['info', 'warning', 'critical'].includes(r.labels.severity));
      assert.equal(r.labels.team, 'platform');
      assert.ok(r.annotations.summary && r.annotations.description);
      assert.ok(alertsDoc.includes(`### ${r.alert}`), `docs/alerts.md documents ${r.alert}`);
    }
    const nearDeadline = rules.find((r) => r.alert === 'EcrWardenWebhookNearDeadline');
    assert.match(nearDeadline?.expr ?? '', /,le="1\.35"\}/, 'the bucket at 90% of the 1500ms deadline');
  });

  test('the Grafana dashboard ships as a labelled ConfigMap of valid JSON on exported metrics', async () => {
    const configMap = get('monitoring', 'ConfigMap', `${FULLNAME}-dashboard`);
    assert.equal(configMap.metadata.labels?.grafana_dashboard, '1');
    assert.equal(configMap.metadata.annotations?.grafana_folder, 'Security');
    const dashboard = JSON.parse(configMap.data['ecr-warden.json']) as { uid: string; panels: K8sObject[] };
    const file = JSON.parse(await readFile(join(CHART, 'dashboards/ecr-warden.json'), 'utf8'));
    assert.deepEqual(dashboard, file);
    const exprs = dashboard.panels.flatMap((p) =>
      ((p.targets ?? []) as K8sObject[]).map((t) => t.expr as string),
    );
    assert.ok(exprs.length > 10);
    for (const expr of exprs) assert.deepEqual(unknownMetrics(expr), [], expr);
  });

  test('docs/metrics.md describes every metric the program exports', async () => {
    const doc = await readFile(join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const name of exportedMetrics) assert.ok(doc.includes(`\`${name}\``), name);
  });
});

describe('availability and isolation', () => {
  test('the PodDisruptionBudget selects the controller pods', () => {
    const pdb = get('monitoring', 'PodDisruptionBudget', FULLNAME);
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(
      pdb.spec.selector.matchLabels,
      get('monitoring', 'Deployment').spec.selector.matchLabels,
    );
    assert.equal(get('threeReplicas', 'PodDisruptionBudget').spec.minAvailable, 2);
    assert.equal(get('threeReplicas', 'PodDisruptionBudget').spec.maxUnavailable, undefined);
  });

  test('the NetworkPolicy admits scrapes and webhook calls, and lets out only DNS and HTTPS', () => {
    const policy = get('monitoring', 'NetworkPolicy', FULLNAME);
    assert.deepEqual(
      policy.spec.podSelector.matchLabels,
      get('monitoring', 'Deployment').spec.selector.matchLabels,
    );
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    const ingress = policy.spec.ingress as K8sObject[];
    assert.equal(ingress.length, 2);
    const [metrics, webhook] = ingress as [K8sObject, K8sObject];
    assert.deepEqual(metrics.ports, [{ port: 'metrics', protocol: 'TCP' }]);
    assert.deepEqual(metrics.from, [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    assert.deepEqual(webhook.ports, [{ port: 'webhook', protocol: 'TCP' }]);
    assert.equal(webhook.from, undefined, 'the API server may call from any address');
    const egress = policy.spec.egress as K8sObject[];
    assert.equal(egress.length, 2);
    const [dns, https] = egress as [K8sObject, K8sObject];
    assert.deepEqual(
      (dns.ports as K8sObject[]).map((p) => `${p.protocol}/${p.port}`),
      ['UDP/53', 'TCP/53'],
    );
    assert.deepEqual(https.ports, [{ port: 443, protocol: 'TCP' }]);
    const containerPorts = (controllerContainer('monitoring').ports as K8sObject[]).map((p) => p.name);
    assert.deepEqual(containerPorts, ['metrics', 'webhook'], 'named ports the policy refers to exist');
  });
});
