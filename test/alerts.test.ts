/**
 * The chart's alerts, evaluated by the real Prometheus rule engine. helm renders the PrometheusRule;
 * promtool (Debian's prometheus package, which .ci/run installs) parses it with `check rules` and
 * runs `test rules` on input series built from the metric definitions as two replicas' scrapes
 * store them: every alert fires once its `for` has passed, is silent one evaluation before, and is
 * silent on healthy input. Copies of the rules with a metric renamed or a `for` one minute off must
 * fail those same tests, so the tests pin what the rules say. The review histogram's input comes
 * from a real prom-client exposition of a process configured from the chart's own config file, so
 * the near-deadline alert is tested against the `le` strings the process writes. Every PromQL
 * expression shipped, in the rule and in the Grafana dashboard, parses and names only metrics the
 * program defines.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parseAllDocuments, stringify } from 'yaml';
import { parseConfigText } from '../src/config/index.ts';
import { IMAGE_METRICS, METRICS, type MetricDefinition } from '../src/metrics/definitions.ts';
import { WardenMetrics } from '../src/metrics/registry.ts';

const execFileAsync = promisify(execFile);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HELM = join(ROOT, 'node_modules/.bin/helm');
const CHART = join(ROOT, 'charts/ecr-warden');
const RELEASE = 'warden';
const NAMESPACE = 'security';
const FULLNAME = 'warden-ecr-warden';
const JOB = `${FULLNAME}-metrics`;
/** Input series run this long: past the longest `for` (6h) with room to spare. */
const MINUTES = 480;

type Labels = Record<string, string>;
interface InputSeries {
  series: string;
  values: string;
}
interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Labels;
  annotations: Labels;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

let dir = '';
let files = 0;

/** A file in the test's temporary directory; promtool resolves rule_files against its test file. */
async function writeTemp(stem: string, content: unknown): Promise<string> {
  const path = join(dir, `${stem}-${files++}.yaml`);
  await writeFile(path, stringify(content));
  return path;
}

async function promtool(...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('promtool', args);
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** The chart's PrometheusRule as a rule file, and the config file the same values give the process. */
async function renderChart(
  config: Record<string, unknown> = {},
): Promise<{ rules: RuleFile; configFile: string }> {
  const values = await writeTemp('values', { prometheusRule: { enabled: true }, config });
  const { stdout } = await execFileAsync(HELM, [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    '-f',
    values,
    '--show-only',
    'templates/prometheusrule.yaml',
    '--show-only',
    'templates/configmap.yaml',
  ]);
  const objects = parseAllDocuments(stdout).map(
    (d) => d.toJS() as { kind: string; spec: RuleFile; data: Labels },
  );
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  const configMap = objects.find((o) => o.kind === 'ConfigMap');
  assert.ok(rule && configMap);
  return { rules: { groups: rule.spec.groups }, configFile: configMap.data['config.yaml']! };
}

function ruleOf(rules: RuleFile, alert: string): Rule {
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  assert.ok(rule, `the chart renders ${alert}`);
  return rule;
}

/** A rule file of `alert` alone: promtool evaluates every rule of a file at every step. */
const only = (rules: RuleFile, alert: string): RuleFile => ({
  groups: [{ name: 'ecr-warden', rules: [ruleOf(rules, alert)] }],
});

// ---------------------------------------------------------------------------------------------
// Input series, as Prometheus stores a scrape of the chart's ServiceMonitor.

/** Target labels of the two replicas; every series below is exported by both. */
const REPLICAS: Labels[] = [
  { pod: `${FULLNAME}-7d9f8b6c4-x2k9p`, instance: '10.0.1.17:9090' },
  { pod: `${FULLNAME}-7d9f8b6c4-q8m4z`, instance: '10.0.2.23:9090' },
].map((replica) => ({
  job: JOB,
  namespace: NAMESPACE,
  service: JOB,
  endpoint: 'metrics',
  container: 'ecr-warden',
  ...replica,
}));

function selector(name: string, labels: Labels): string {
  // Prometheus drops a label whose value is empty when it stores a scraped sample.
  const matchers = Object.entries(labels)
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `${name}{${matchers.join(',')}}`;
}

/**
 * The series of `def` with `labels` (exactly the definition's, `le` too for a bucket) from each
 * replica: `values` for both, or one each. honor_labels keeps the metric's own labels (namespace).
 */
function exported(
  def: MetricDefinition,
  labels: Labels,
  values: string | readonly [string, string],
  suffix: '' | '_bucket' | '_sum' | '_count' = '',
): InputSeries[] {
  const expected = [...def.labels, ...(suffix === '_bucket' ? ['le'] : [])].sort();
  assert.deepEqual(Object.keys(labels).sort(), expected, `labels of ${def.name}${suffix}`);
  return REPLICAS.map((replica, i) => ({
    series: selector(def.name + suffix, { ...replica, ...labels }),
    values: typeof values === 'string' ? values : values[i]!,
  }));
}

/** Prometheus's own `up` for each replica's target. */
const up = (values: readonly [string, string]): InputSeries[] =>
  REPLICAS.map((replica, i) => ({ series: selector('up', replica), values: values[i]! }));

const steady = (value: number) => `${value}x${MINUTES}`;
const rising = (perMinute: number) => `0+${perMinute}x${MINUTES}`;

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const image = (repository: string, digest: string) => ({
  registry_id: ACCOUNT,
  region: REGION,
  repository,
  digest: `sha256:${digest.repeat(64 / digest.length)}`,
});
const API = image('shop/api', '4f1c');
const WORKER = image('shop/worker', '9b07');
const LEGACY = image('shop/legacy', 'e2d5');

const DAY = 86_400;
const m = IMAGE_METRICS;
const r = METRICS;
const u = { lifecycleAction: IMAGE_METRICS.lifecycleAction };

/** Every review for a minute, per webhook: its duration and how many take it. */
type ReviewLoad = { webhook: 'validate' | 'mutate'; seconds: number; count: number }[];

/** Prometheus 3 stores a whole-number `le` in float form (1 → 1.0); Prometheus 2 keeps it as scraped. */
const prometheus3Le = (le: string) => (/^\d+$/.test(le) ? `${le}.0` : le);

/**
 * The review histogram of a process running `configFile`, as it grows with `load` every minute:
 * one minute of reviews is observed by a real WardenMetrics, and its exposition gives each series'
 * per-minute increase, with the `le` label exactly as prom-client writes it (or as `le` maps it).
 */
async function reviewHistogram(
  configFile: string,
  load: ReviewLoad,
  le: (scraped: string) => string = (scraped) => scraped,
): Promise<{ series: InputSeries[]; les: string[] }> {
  const config = parseConfigText(configFile, 'chart config.yaml');
  const metrics = new WardenMetrics({
    version: 'test',
    webhookDeadline: config.webhook.deadline,
    defaultMetrics: false,
  });
  for (const { webhook, seconds, count } of load) {
    for (let i = 0; i < count; i++) metrics.review(webhook, 'Pod', 'allowed', seconds);
  }
  const series: InputSeries[] = [];
  const les = new Set<string>();
  const def = r.admissionDuration;
  const line = new RegExp(`^${def.name}(_bucket|_sum|_count)\\{([^}]*)\\} (\\S+)$`);
  for (const text of (await metrics.render()).split('\n')) {
    const match = line.exec(text);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.le !== undefined) {
      les.add(labels.le);
      labels.le = le(labels.le);
    }
    const suffix = match[1] as '_bucket' | '_sum' | '_count';
    series.push(...exported(def, labels, rising(Number(match[3])), suffix));
  }
  assert.ok(series.length > 0, 'the exposition has the review histogram');
  return { series, les: [...les] };
}

// ---------------------------------------------------------------------------------------------
// The alerts, each with input on which it fires and healthy input on which it stays silent.

interface AlertCase {
  alert: string;
  for: string;
  severity: 'info' | 'warning';
  /** Minutes before the expression can hold: a rate needs two samples. */
  warmup?: number;
  firing: InputSeries[] | (() => Promise<InputSeries[]>);
  healthy: InputSeries[] | (() => Promise<InputSeries[]>);
  /** The alerts `firing` gives: labels from the expression, and the description as rendered. */
  fires: { labels: Labels; description: string }[];
}

/** The chart rendered with default values (a 2 s deadline); set before the tests run. */
let defaults: { rules: RuleFile; configFile: string };

const ALERTS: AlertCase[] = [
  {
    alert: 'EcrWardenDown',
    for: '10m',
    severity: 'warning',
    firing: up(['0x480', '0x480']),
    // One replica restarting while the other is scraped.
    healthy: up(['1x480', '0x480']),
    fires: [
      {
        labels: {},
        description:
          "No scrape of ecr-warden succeeded for 10 minutes: image metrics are missing and, with the webhook enabled, admission falls back to the webhook's failurePolicy.",
      },
    ],
  },
  {
    alert: 'EcrWardenNoLeader',
    for: '10m',
    severity: 'warning',
    firing: exported(r.leader, {}, steady(0)),
    healthy: exported(r.leader, {}, [steady(1), steady(0)]),
    fires: [
      {
        labels: {},
        description:
          'Replicas are up but none runs the inventory, so per-image metrics are not updated. Check the Lease and the Role that allows updating it.',
      },
    ],
  },
  {
    alert: 'EcrWardenCriticalFindingsRunning',
    for: '15m',
    severity: 'warning',
    firing: [
      ...exported(m.scanFindings, { ...API, severity: 'CRITICAL' }, steady(3)),
      ...exported(m.scanFindings, { ...API, severity: 'HIGH' }, steady(5)),
      ...exported(m.scanFindings, { ...WORKER, severity: 'CRITICAL' }, steady(0)),
    ],
    healthy: [
      ...exported(m.scanFindings, { ...WORKER, severity: 'CRITICAL' }, steady(0)),
      ...exported(m.scanFindings, { ...WORKER, severity: 'HIGH' }, steady(12)),
    ],
    fires: [
      {
        labels: API,
        description: `${ACCOUNT}.dkr.ecr.${REGION}/shop/api@${API.digest} runs with 3 CRITICAL findings.`,
      },
    ],
  },
  {
    alert: 'EcrWardenPolicyViolations',
    for: '30m',
    severity: 'warning',
    firing: [
      ...exported(m.policyViolations, { namespace: 'shop', check: 'severity', action: 'deny' }, steady(2)),
      ...exported(
        m.policyViolations,
        { namespace: 'shop', check: 'scanComplete', action: 'warn' },
        steady(4),
      ),
    ],
    // A warn check fails, and a deny check no more.
    healthy: [
      ...exported(
        m.policyViolations,
        { namespace: 'shop', check: 'scanComplete', action: 'warn' },
        steady(4),
      ),
      ...exported(m.policyViolations, { namespace: 'shop', check: 'severity', action: 'deny' }, steady(0)),
    ],
    fires: [
      {
        labels: { namespace: 'shop', check: 'severity' },
        description:
          '2 running containers in namespace shop fail the severity check; with policy.mode enforce they could not be created again.',
      },
    ],
  },
  {
    alert: 'EcrWardenImageDrift',
    for: '1h',
    severity: 'warning',
    firing: [
      ...exported(m.driftedContainers, { ...API, tag: 'v7' }, steady(2)),
      ...exported(m.driftedContainers, { ...WORKER, tag: 'w1' }, steady(0)),
    ],
    healthy: exported(m.driftedContainers, { ...WORKER, tag: 'w1' }, steady(0)),
    fires: [
      {
        labels: { ...API, tag: 'v7' },
        description: `2 containers run shop/api:v7 at an older digest than the tag's current ${API.digest}: the tag moved and the pods were not restarted.`,
      },
    ],
  },
  {
    alert: 'EcrWardenUnresolvedImages',
    for: '30m',
    severity: 'warning',
    firing: [
      ...exported(
        m.unresolved,
        { registry_id: ACCOUNT, region: REGION, repository: 'shop/ghost', reason: 'not_found' },
        steady(1),
      ),
      // A reference that does not parse has no registry, region or repository.
      ...exported(
        m.unresolved,
        { registry_id: '', region: '', repository: '', reason: 'invalid_reference' },
        steady(2),
      ),
    ],
    healthy: exported(
      m.unresolved,
      { registry_id: ACCOUNT, region: REGION, repository: 'shop/ghost', reason: 'not_found' },
      steady(0),
    ),
    fires: [
      {
        labels: { registry_id: ACCOUNT, region: REGION, repository: 'shop/ghost', reason: 'not_found' },
        description: `1 images of repository shop/ghost (account ${ACCOUNT}, ${REGION}) are unresolved: not_found. access_denied points at IAM, not_found at a deleted image.`,
      },
      {
        labels: { reason: 'invalid_reference' },
        description:
          '2 images in use have a reference that does not parse (invalid_reference); ecr-warden report -A names their containers.',
      },
    ],
  },
  {
    alert: 'EcrWardenArchivedImageRunning',
    for: '15m',
    severity: 'warning',
    firing: [
      ...exported(m.status, { ...LEGACY, status: 'ARCHIVED' }, steady(1)),
      ...exported(m.status, { ...API, status: 'ACTIVE' }, steady(1)),
    ],
    healthy: [
      ...exported(m.status, { ...API, status: 'ACTIVE' }, steady(1)),
      ...exported(m.status, { ...LEGACY, status: 'ACTIVATING' }, steady(1)),
    ],
    fires: [
      {
        labels: LEGACY,
        description: `shop/legacy@${LEGACY.digest} is ARCHIVED in ECR: a new pod on a node without it cached cannot pull it until it is restored.`,
      },
    ],
  },
  {
    alert: 'EcrWardenImageStale',
    for: '6h',
    severity: 'info',
    firing: [...exported(m.stale, LEGACY, steady(1)), ...exported(m.stale, API, steady(0))],
    healthy: exported(m.stale, API, steady(0)),
    fires: [
      {
        labels: LEGACY,
        description: `shop/legacy@${LEGACY.digest} is running but its lastRecordedPullTime is old: a lifecycle rule on sinceImagePulled could expire it.`,
      },
    ],
  },
  {
    alert: 'EcrWardenWebhookErrors',
    for: '10m',
    severity: 'warning',
    warmup: 1,
    firing: [
      ...exported(r.admissionReviews, { webhook: 'validate', kind: 'Pod', decision: 'allowed' }, rising(90)),
      ...exported(r.admissionReviews, { webhook: 'validate', kind: 'Pod', decision: 'error' }, rising(10)),
      ...exported(r.admissionReviews, { webhook: 'mutate', kind: 'Pod', decision: 'allowed' }, rising(50)),
    ],
    // Denials and warnings are decisions, not errors: 1 error in 100 reviews.
    healthy: [
      ...exported(r.admissionReviews, { webhook: 'validate', kind: 'Pod', decision: 'allowed' }, rising(60)),
      ...exported(r.admissionReviews, { webhook: 'validate', kind: 'Pod', decision: 'denied' }, rising(30)),
      ...exported(
        r.admissionReviews,
        { webhook: 'validate', kind: 'Deployment', decision: 'warned' },
        rising(9),
      ),
      ...exported(r.admissionReviews, { webhook: 'validate', kind: 'Pod', decision: 'error' }, rising(1)),
    ],
    fires: [
      {
        labels: { webhook: 'validate' },
        description: "10% of validate reviews fail; the controller's logs name the cause.",
      },
    ],
  },
  {
    alert: 'EcrWardenWebhookNearDeadline',
    for: '15m',
    severity: 'warning',
    warmup: 1,
    // 3 in 100 validate reviews slower than 90% of the 2 s deadline; mutate ones all fast.
    firing: async () =>
      (
        await reviewHistogram(defaults.configFile, [
          { webhook: 'validate', seconds: 0.05, count: 97 },
          { webhook: 'validate', seconds: 1.9, count: 3 },
          { webhook: 'mutate', seconds: 0.02, count: 40 },
        ])
      ).series,
    // 1 in 200.
    healthy: async () =>
      (
        await reviewHistogram(defaults.configFile, [
          { webhook: 'validate', seconds: 0.05, count: 199 },
          { webhook: 'validate', seconds: 1.9, count: 1 },
        ])
      ).series,
    fires: [
      {
        labels: { webhook: 'validate' },
        description:
          '3% of validate reviews take longer than 1.8s, 90% of config.webhook.deadline (2s); a review still without its facts at the deadline falls back to policy.onError. ECR latency or throttling is the usual cause.',
      },
    ],
  },
  {
    alert: 'EcrWardenEcrErrors',
    for: '15m',
    severity: 'warning',
    warmup: 1,
    firing: [
      ...exported(
        r.ecrRequests,
        { operation: 'DescribeImages', region: REGION, outcome: 'throttled' },
        rising(4),
      ),
      ...exported(
        r.ecrRequests,
        { operation: 'DescribeImages', region: REGION, outcome: 'not_found' },
        rising(2),
      ),
      ...exported(
        r.ecrRequests,
        { operation: 'DescribeImages', region: REGION, outcome: 'success' },
        rising(50),
      ),
    ],
    // A missing image is an answer, not a failing call.
    healthy: [
      ...exported(
        r.ecrRequests,
        { operation: 'DescribeImages', region: REGION, outcome: 'not_found' },
        rising(2),
      ),
      ...exported(
        r.ecrRequests,
        { operation: 'DescribeImages', region: REGION, outcome: 'success' },
        rising(50),
      ),
    ],
    fires: [
      {
        labels: { operation: 'DescribeImages', region: REGION, outcome: 'throttled' },
        description: `DescribeImages calls in ${REGION} fail with throttled.`,
      },
    ],
  },
  {
    alert: 'EcrWardenImageSeriesDropped',
    for: '30m',
    severity: 'info',
    firing: exported(r.imageSeriesDropped, {}, steady(120)),
    healthy: exported(r.imageSeriesDropped, {}, steady(0)),
    fires: [
      {
        labels: {},
        description:
          '120 images exceed config.ecr.maxImageSeries and have no per-image series; raise the limit if Prometheus can take it.',
      },
    ],
  },
  {
    alert: 'EcrWardenLifecycleActionDue',
    for: '1h',
    severity: 'warning',
    // promtool's clock starts at the Unix epoch: due times are counted from there.
    firing: [
      ...exported(u.lifecycleAction, { ...API, action: 'archive', rule_priority: '2' }, steady(3 * DAY)),
      ...exported(u.lifecycleAction, { ...WORKER, action: 'expire', rule_priority: '1' }, steady(30 * DAY)),
    ],
    healthy: exported(
      u.lifecycleAction,
      { ...WORKER, action: 'expire', rule_priority: '1' },
      steady(30 * DAY),
    ),
    fires: [
      {
        labels: { ...API, action: 'archive', rule_priority: '2' },
        description: `shop/api@${API.digest} is in use, and rule 2 of the repository's lifecycle policy will archive it at 1970-01-04 00:00:00 +0000 UTC: a node that then needs the image cannot pull it.`,
      },
    ],
  },
];

const minutesOf = (duration: string) => {
  const match = /^(\d+)([mh])$/.exec(duration);
  assert.ok(match, `a duration in minutes or hours: ${duration}`);
  return Number(match[1]) * (match[2] === 'h' ? 60 : 1);
};

const inputOf = async (input: AlertCase['firing']) => (typeof input === 'function' ? input() : input);

/** promtool unit tests of one alert against `rulesFile`; the expectations come from the case alone. */
async function unitTestFile(c: AlertCase, rulesFile: string, summary: string): Promise<string> {
  const firesAt = (c.warmup ?? 0) + minutesOf(c.for);
  return writeTemp(`test-${c.alert}`, {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: await inputOf(c.firing),
        alert_rule_test: [
          { eval_time: `${firesAt - 1}m`, alertname: c.alert, exp_alerts: [] },
          {
            eval_time: `${firesAt}m`,
            alertname: c.alert,
            exp_alerts: c.fires.map((f) => ({
              exp_labels: { ...f.labels, severity: c.severity },
              exp_annotations: { summary, description: f.description },
            })),
          },
        ],
      },
      {
        interval: '1m',
        input_series: await inputOf(c.healthy),
        alert_rule_test: [{ eval_time: `${firesAt}m`, alertname: c.alert, exp_alerts: [] }],
      },
    ],
  });
}

/** Copies of the rules that differ from the chart's in one alert: each metric renamed, `for` ±1m. */
function mutants(rules: RuleFile, alert: string): { change: string; rules: RuleFile }[] {
  const mutate = (change: string, edit: (rule: Rule) => void) => {
    const copy = structuredClone(rules);
    edit(ruleOf(copy, alert));
    return { change, rules: copy };
  };
  const rule = ruleOf(rules, alert);
  const renamed = metricNames(rule.expr).map((name) =>
    mutate(`${name} renamed`, (target) => {
      target.expr = target.expr.replace(new RegExp(`(?<![\\w:])${name}(?![\\w:])`, 'g'), `${name}_renamed`);
    }),
  );
  const minutes = minutesOf(rule.for);
  return [
    ...renamed,
    mutate(`for ${minutes - 1}m`, (target) => {
      target.for = `${minutes - 1}m`;
    }),
    mutate(`for ${minutes + 1}m`, (target) => {
      target.for = `${minutes + 1}m`;
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// PromQL: syntax and metric names.

/** Metric names of an expression's selectors, by the PromQL grammar of Prometheus's own UI. */
function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let error = false;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error = true;
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      names.add(identifier ? expr.slice(identifier.from, identifier.to) : '(selector without a name)');
    },
  });
  assert.equal(error, false, `PromQL syntax error in ${expr}`);
  return [...names];
}

/** Series names the process exports or will: its definitions, and prom-client's default metrics. */
async function knownSeries(): Promise<Set<string>> {
  const defaultRegistry = new Registry();
  collectDefaultMetrics({ register: defaultRegistry });
  const families = [
    ...[...Object.values(IMAGE_METRICS), ...Object.values(METRICS)].map((d) => ({
      name: d.name,
      type: d.type as string,
    })),
    ...(await defaultRegistry.getMetricsAsJSON()).map((d) => ({ name: d.name, type: String(d.type) })),
  ];
  const known = new Set(['up']); // Prometheus's own, per scrape target.
  for (const { name, type } of families) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) known.add(name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) known.add(name + suffix);
    else known.add(name);
  }
  return known;
}

interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: { query: string } | string }[] };
}
interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Each panel query with Grafana's variables replaced as Grafana would before sending it. */
function dashboardQueries(dashboard: Dashboard): { title: string; expr: string }[] {
  const queries: { title: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr === undefined) continue;
        const expr = target.expr
          // $__rate_interval, $__interval, $__range: durations Grafana computes.
          .replace(/\$__\w+/g, '5m')
          // $job is a multi-value variable: Grafana substitutes a regex of the chosen values.
          .replace(/\$\{?job\}?/g, `${JOB}|other-job`);
        assert.doesNotMatch(expr, /\$/, `${panel.title}: a variable left in ${expr}`);
        queries.push({ title: panel.title ?? '(untitled)', expr });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return queries;
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecr-warden-alerts-'));
  const version = await promtool('--version').catch(() => ({ ok: false, output: '' }));
  assert.ok(
    version.ok,
    'promtool is not on PATH: install Debian’s prometheus package (apt-get install --no-install-recommends prometheus), as .ci/run does',
  );
  defaults = await renderChart();
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the PrometheusRule under promtool', () => {
  test('promtool check rules accepts every rendered rule', async () => {
    const result = await promtool('check', 'rules', await writeTemp('rules', defaults.rules));
    assert.ok(result.ok, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
  });

  test('every alert the chart renders has its unit tests below, and no test is for an alert it lacks', () => {
    const rendered = defaults.rules.groups.flatMap((g) => g.rules.map((rule) => rule.alert));
    assert.deepEqual(rendered.toSorted(), ALERTS.map((c) => c.alert).toSorted());
  });

  for (const c of ALERTS) {
    test(`${c.alert} fires after ${c.for}, not a minute before, and never on healthy input`, async () => {
      const rulesFile = await writeTemp('rules', only(defaults.rules, c.alert));
      const summary = ruleOf(defaults.rules, c.alert).annotations.summary!;
      const result = await promtool('test', 'rules', await unitTestFile(c, rulesFile, summary));
      assert.ok(result.ok, result.output);
    });

    test(`${c.alert}'s tests fail when its metric is renamed or its for is a minute off`, async () => {
      const summary = ruleOf(defaults.rules, c.alert).annotations.summary!;
      const changes = mutants(defaults.rules, c.alert);
      assert.ok(changes.length >= 3, 'at least one metric and two for changes');
      for (const mutant of changes) {
        const rulesFile = await writeTemp('mutant', only(mutant.rules, c.alert));
        const check = await promtool('check', 'rules', rulesFile);
        assert.ok(check.ok, `${mutant.change} is still a valid rule: ${check.output}`);
        const result = await promtool('test', 'rules', await unitTestFile(c, rulesFile, summary));
        assert.equal(result.ok, false, `${c.alert} with ${mutant.change} passed its tests`);
        assert.match(result.output, /FAILED/);
      }
    });
  }
});

describe('EcrWardenWebhookNearDeadline for any allowed deadline', () => {
  /** promtool tests of the near-deadline alert alone, for the chart rendered with `deadline`. */
  async function nearDeadline(
    deadline: string,
    groups: { load: ReviewLoad; le?: (scraped: string) => string; fires: boolean }[],
  ): Promise<{ ok: boolean; output: string; rule: Rule; les: string[] }> {
    const chart = await renderChart({ webhook: { deadline } });
    const rulesFile = await writeTemp('rules', chart.rules);
    const check = await promtool('check', 'rules', rulesFile);
    assert.ok(check.ok, check.output);
    let les: string[] = [];
    const tests = [];
    for (const group of groups) {
      const histogram = await reviewHistogram(chart.configFile, group.load, group.le);
      les = histogram.les;
      tests.push({
        interval: '1m',
        input_series: histogram.series,
        alert_rule_test: [
          {
            eval_time: '16m', // a rate's first minute, then its for of 15m
            alertname: 'EcrWardenWebhookNearDeadline',
            // Labels only: the description is checked with the default deadline above.
            exp_alerts: group.fires ? [{ exp_labels: { webhook: 'validate', severity: 'warning' } }] : [],
          },
        ],
      });
    }
    const rule = ruleOf(chart.rules, 'EcrWardenWebhookNearDeadline');
    // promtool compares annotations too: leave them out of this file's copy of the rule.
    const withoutAnnotations = await writeTemp('rules', {
      groups: [{ name: 'ecr-warden', rules: [{ ...rule, annotations: {} }] }],
    });
    const file = await writeTemp('test-near-deadline', {
      rule_files: [withoutAnnotations],
      evaluation_interval: '1m',
      tests,
    });
    return { ...(await promtool('test', 'rules', file)), rule, les };
  }

  const all = (seconds: number): ReviewLoad => [{ webhook: 'validate', seconds, count: 60 }];

  test('a 10s deadline with every review taking 9.5s fires', async () => {
    const result = await nearDeadline('10s', [{ load: all(9.5), fires: true }]);
    assert.ok(result.ok, result.output);
  });

  test('a 2s deadline with every review taking 1.1s stays silent (and fires at 1.9s)', async () => {
    const result = await nearDeadline('2s', [
      { load: all(1.1), fires: false },
      { load: all(1.9), fires: true },
    ]);
    assert.ok(result.ok, result.output);
  });

  for (const deadline of ['100ms', '1s', '1234ms', '1500ms', '2s', '5s', '10s', '20s', '29s']) {
    test(`${deadline}: reviews at 95% of it fire, at 85% stay silent, whichever way Prometheus stores le`, async () => {
      const seconds = parseConfigText(`webhook:\n  deadline: ${deadline}\n`).webhook.deadline / 1000;
      const result = await nearDeadline(deadline, [
        { load: all(seconds * 0.95), fires: true },
        { load: all(seconds * 0.95), le: prometheus3Le, fires: true },
        { load: all(seconds * 0.85), fires: false },
      ]);
      assert.ok(result.ok, result.output);
      // The rule selects exactly one bucket of what prom-client wrote, and of what Prometheus 3 stores.
      const matcher = /,le(=~?)"((?:[^"\\]|\\.)*)"/.exec(result.rule.expr);
      assert.ok(matcher, result.rule.expr);
      const value = JSON.parse(`"${matcher[2]}"`) as string;
      const selects = (le: string) =>
        matcher[1] === '=' ? le === value : new RegExp(`^(?:${value})$`).test(le);
      assert.deepEqual(result.les.filter(selects), [String(Math.max(1, Math.round(seconds * 900)) / 1000)]);
      assert.equal(result.les.map(prometheus3Le).filter(selects).length, 1);
    });
  }
});

describe('every PromQL expression shipped', () => {
  test('alert expressions name only metrics the program defines', async () => {
    const known = await knownSeries();
    for (const rule of defaults.rules.groups.flatMap((g) => g.rules)) {
      const unknown = metricNames(rule.expr).filter((name) => !known.has(name));
      assert.deepEqual(unknown, [], rule.alert);
    }
  });

  test('dashboard queries parse in promtool and name only metrics the program defines', async () => {
    const dashboard = JSON.parse(
      await readFile(join(CHART, 'dashboards/ecr-warden.json'), 'utf8'),
    ) as Dashboard;
    const queries = dashboardQueries(dashboard);
    assert.ok(queries.length >= 20, `${queries.length} queries`);
    const known = await knownSeries();
    for (const { title, expr } of queries) {
      assert.deepEqual(
        metricNames(expr).filter((name) => !known.has(name)),
        [],
        title,
      );
    }
    // Recording rules are the one way promtool parses bare expressions.
    const rulesFile = await writeTemp('dashboard-rules', {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map((q, i) => ({ record: `dashboard:query_${i}:expr`, expr: q.expr })),
        },
      ],
    });
    const result = await promtool('check', 'rules', rulesFile);
    assert.ok(result.ok, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${queries.length} rules found`));
    // Variable queries: label_values(<metric>, <label>).
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
      const metric = /^label_values\((\w+),\s*\w+\)$/.exec(query)?.[1];
      assert.ok(metric && known.has(metric), `variable ${variable.name}: ${query}`);
    }
  });
});
