import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  type Config,
  DEFAULT_CONFIG,
  defaultConfig,
  formatDuration,
  loadConfig,
  MAX_CONFIG_BYTES,
  parseConfig,
  parseConfigText,
  parseDuration,
  parseDurationOption,
  toConfigDocument,
} from '../src/config/index.ts';
import { ConfigError, UsageError } from '../src/errors.ts';

// A fixed seed keeps every run the same; change it locally to explore other cases.
fc.configureGlobal({ seed: 20_240_611 });

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** SPEC section 2, spelled out independently of src/config/defaults.ts. */
const SPEC_DEFAULTS: Config = {
  logLevel: 'info',
  namespaces: { include: [], exclude: [] },
  ecr: {
    tagTTL: 5 * MINUTE,
    detailTTL: 15 * MINUTE,
    negativeTTL: 1 * MINUTE,
    refreshInterval: 10 * MINUTE,
    maxConcurrency: 8,
    maxAttempts: 5,
    assumeRoles: {},
    resolveWith: 'DescribeImages',
    maxImageSeries: 5000,
    followIndexes: true,
    staleIfError: HOUR,
  },
  inventory: { enabled: true, staleAfter: 90 * DAY },
  kubernetes: { watchIdleTimeout: 2 * MINUTE },
  lifecycle: { enabled: true, refreshInterval: HOUR, keepAlive: false, keepAliveWithin: 7 * DAY },
  reports: { events: true, openReports: false },
  metrics: { address: '0.0.0.0', port: 9090 },
  leaderElection: { enabled: false, leaseName: 'ecr-warden', namespace: '' },
  webhook: {
    enabled: false,
    address: '0.0.0.0',
    port: 8443,
    certFile: '/etc/ecr-warden/tls/tls.crt',
    keyFile: '/etc/ecr-warden/tls/tls.key',
    deadline: 2 * SECOND,
    kinds: ['Pod'],
    pinDigests: false,
    maxInFlight: 32,
    maxInFlightBytes: 64 * 1024 * 1024,
  },
  policy: {
    mode: 'audit',
    onError: 'allow',
    exemptNamespaces: ['kube-system'],
    exemptImages: [],
    checks: {
      nonEcr: { action: 'off' },
      allowedRegistries: { action: 'off', registries: [] },
      digestRequired: { action: 'off', acceptImmutableTags: false },
      imageExists: { action: 'deny' },
      archived: { action: 'deny' },
      scanComplete: { action: 'warn' },
      severity: { action: 'deny', max: { CRITICAL: 0 } },
      scanAge: { action: 'off', maxAge: 30 * DAY },
      imageAge: { action: 'off', maxAge: 365 * DAY },
      lifecycleRisk: { action: 'warn', within: 14 * DAY },
    },
  },
};

/** The YAML block of SPEC section 2, comments and all. */
const SPEC_YAML = `
logLevel: info                 # trace|debug|info|warn|error
namespaces:
  include: []                  # empty = all
  exclude: []
ecr:
  tagTTL: 5m                   # how long a tag→digest answer is trusted
  detailTTL: 15m               # scan status, findings, pull time
  negativeTTL: 1m              # not-found / access-denied answers
  refreshInterval: 10m         # re-resolve every image in use
  maxConcurrency: 8            # ECR requests in flight, all regions together
  maxAttempts: 5               # SDK retry attempts (throttling, 5xx)
  assumeRoles: {}              # accountId -> role ARN, for cross-account registries
  resolveWith: DescribeImages  # or BatchGetImage (counts as a pull: see section 4)
  maxImageSeries: 5000         # per-image metric series beyond this are dropped and counted
  followIndexes: true          # read image indexes to take scan facts from their platform images (section 4)
  staleIfError: 1h             # keep serving a known answer this long past its TTL while ECR fails
inventory:
  enabled: true
  staleAfter: 90d              # lastRecordedPullTime older than this = stale
kubernetes:
  watchIdleTimeout: 2m         # a watch that delivers nothing, bookmarks included, this long is restarted
lifecycle:
  enabled: true                # forecast what repositories' lifecycle policies will do to images in use (section 10)
  refreshInterval: 1h          # re-read lifecycle policies and the images they count
  keepAlive: false             # refresh lastRecordedPullTime of in-use images a sinceImagePulled rule would archive
  keepAliveWithin: 7d          # ... when that archive is due within this
reports:
  events: true                 # Kubernetes Events on pods (section 11)
  openReports: false           # openreports.io Reports per namespace (section 11)
metrics:
  address: 0.0.0.0             # demo binds 127.0.0.1
  port: 9090                   # plain HTTP: /metrics /healthz /readyz
leaderElection:
  enabled: false               # true in the chart when replicas > 1
  leaseName: ecr-warden
  namespace: ""                # default: POD_NAMESPACE
webhook:
  enabled: false
  address: 0.0.0.0
  port: 8443                   # HTTPS only: /validate and /mutate
  certFile: /etc/ecr-warden/tls/tls.crt   # reloaded when the file changes
  keyFile: /etc/ecr-warden/tls/tls.key
  deadline: 2s                 # answer within this, whatever ECR does
  kinds: [Pod]                 # also: Deployment StatefulSet DaemonSet ReplicaSet Job CronJob ReplicationController
  pinDigests: false            # /mutate rewrites ECR tags to tag@digest
  maxInFlight: 32              # reviews being handled at once; beyond it: 429
  maxInFlightBytes: 64Mi       # request bodies held at once; beyond it: 429
policy:
  mode: audit                  # audit (record only) | warn (allow, with warnings) | enforce (deny)
  onError: allow               # allow | deny — when a needed fact is not known by the deadline
  exemptNamespaces: [kube-system]
  exemptImages: []             # globs on the full reference; * stays inside one path segment, ** crosses
  checks:                      # each: action off | warn | deny
    nonEcr:            { action: off }
    allowedRegistries: { action: off, registries: [] }   # 12-digit account IDs or full registry hosts
    digestRequired:    { action: off, acceptImmutableTags: false }   # an immutable ECR tag counts as pinned
    imageExists:       { action: deny }
    archived:          { action: deny }
    scanComplete:      { action: warn }
    severity:          { action: deny, max: { CRITICAL: 0 } }   # keys: CRITICAL HIGH MEDIUM LOW INFORMATIONAL UNDEFINED
    scanAge:           { action: off, maxAge: 30d }
    imageAge:          { action: off, maxAge: 365d }            # since imagePushedAt
    lifecycleRisk:     { action: warn, within: 14d }            # the repository's lifecycle policy will expire or archive it
`;

/** Every key set, none to its default. */
const FULL_YAML = `
logLevel: debug
namespaces:
  include: [team-a, team-b]
  exclude: [team-c]
ecr:
  tagTTL: 1m30s
  detailTTL: 1h
  negativeTTL: 0
  refreshInterval: 5m
  maxConcurrency: 32
  maxAttempts: 3
  assumeRoles:
    "012345678901": arn:aws:iam::012345678901:role/ecr-reader
    210987654321: arn:aws-cn:iam::210987654321:role/platform/ecr/reader
    111122223333: arn:aws-us-gov:iam::444455556666:role/reader
  resolveWith: BatchGetImage
  maxImageSeries: 0
  followIndexes: false
  staleIfError: 0
inventory:
  enabled: false
  staleAfter: 30d
kubernetes:
  watchIdleTimeout: 45s
lifecycle:
  enabled: false
  refreshInterval: 6h
  keepAlive: true
  keepAliveWithin: 3d
reports:
  events: false
  openReports: true
metrics:
  address: 127.0.0.1
  port: 0
leaderElection:
  enabled: true
  leaseName: ecr-warden.leader
  namespace: platform
webhook:
  enabled: true
  address: "::"
  port: 9443
  certFile: /tls/cert.pem
  keyFile: /tls/key.pem
  deadline: 1500ms
  kinds: [Pod, Deployment, CronJob]
  pinDigests: true
  maxInFlight: 8
  maxInFlightBytes: 24Mi
policy:
  mode: enforce
  onError: deny
  exemptNamespaces: [kube-system, platform]
  exemptImages: ["*.dkr.ecr.*.amazonaws.com/base/**", "docker.io/library/busybox:*"]
  checks:
    nonEcr: { action: warn }
    allowedRegistries:
      action: deny
      registries: ["012345678901", 123456789012.dkr.ecr.eu-west-1.amazonaws.com, "registry.example.com:5000"]
    digestRequired: { action: warn, acceptImmutableTags: true }
    imageExists: { action: warn }
    archived: { action: off }
    scanComplete: { action: deny }
    severity: { action: warn, max: { CRITICAL: 1, HIGH: 10, UNDEFINED: 100 } }
    scanAge: { action: deny, maxAge: 7d }
    imageAge: { action: warn, maxAge: 180d12h }
    lifecycleRisk: { action: deny, within: 30d }
`;

const FULL_CONFIG: Config = {
  logLevel: 'debug',
  namespaces: { include: ['team-a', 'team-b'], exclude: ['team-c'] },
  ecr: {
    tagTTL: 90 * SECOND,
    detailTTL: HOUR,
    negativeTTL: 0,
    refreshInterval: 5 * MINUTE,
    maxConcurrency: 32,
    maxAttempts: 3,
    assumeRoles: {
      '012345678901': 'arn:aws:iam::012345678901:role/ecr-reader',
      '210987654321': 'arn:aws-cn:iam::210987654321:role/platform/ecr/reader',
      '111122223333': 'arn:aws-us-gov:iam::444455556666:role/reader',
    },
    resolveWith: 'BatchGetImage',
    maxImageSeries: 0,
    followIndexes: false,
    staleIfError: 0,
  },
  inventory: { enabled: false, staleAfter: 30 * DAY },
  kubernetes: { watchIdleTimeout: 45 * SECOND },
  lifecycle: { enabled: false, refreshInterval: 6 * HOUR, keepAlive: true, keepAliveWithin: 3 * DAY },
  reports: { events: false, openReports: true },
  metrics: { address: '127.0.0.1', port: 0 },
  leaderElection: { enabled: true, leaseName: 'ecr-warden.leader', namespace: 'platform' },
  webhook: {
    enabled: true,
    address: '::',
    port: 9443,
    certFile: '/tls/cert.pem',
    keyFile: '/tls/key.pem',
    deadline: 1500,
    kinds: ['Pod', 'Deployment', 'CronJob'],
    pinDigests: true,
    maxInFlight: 8,
    maxInFlightBytes: 24 * 1024 * 1024,
  },
  policy: {
    mode: 'enforce',
    onError: 'deny',
    exemptNamespaces: ['kube-system', 'platform'],
    exemptImages: ['*.dkr.ecr.*.amazonaws.com/base/**', 'docker.io/library/busybox:*'],
    checks: {
      nonEcr: { action: 'warn' },
      allowedRegistries: {
        action: 'deny',
        registries: [
          '012345678901',
          '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
          'registry.example.com:5000',
        ],
      },
      digestRequired: { action: 'warn', acceptImmutableTags: true },
      imageExists: { action: 'warn' },
      archived: { action: 'off' },
      scanComplete: { action: 'deny' },
      severity: { action: 'warn', max: { CRITICAL: 1, HIGH: 10, UNDEFINED: 100 } },
      scanAge: { action: 'deny', maxAge: 7 * DAY },
      imageAge: { action: 'warn', maxAge: 180 * DAY + 12 * HOUR },
      lifecycleRisk: { action: 'deny', within: 30 * DAY },
    },
  },
};

/** The message of the ConfigError `run` throws; fails the test if it throws anything else. */
function configErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG');
    assert.doesNotMatch(err.message, /\n/, 'a config error is one line');
    return err.message;
  }
  return assert.fail('expected a ConfigError, but nothing was thrown');
}

async function configErrorOfAsync(run: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'a config error is one line');
    return err;
  }
  return assert.fail('expected a ConfigError, but nothing was thrown');
}

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['+0', 0],
    ['-0s', 0],
    ['800ms', 800],
    ['90s', 90 * SECOND],
    ['5m', 5 * MINUTE],
    ['1h30m', 90 * MINUTE],
    ['1.5h', 90 * MINUTE],
    ['30d', 30 * DAY],
    ['1d12h', 36 * HOUR],
    ['1.1h', 3_960_000], // exact: no float error from 1.1 × 3 600 000
    ['.5h', 30 * MINUTE],
    ['5.h', 5 * HOUR],
    ['+5m', 5 * MINUTE],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1500μs', 1.5],
    ['2000000ns', 2],
    ['1h0m0s', HOUR],
    ['2h45m30.5s', 2 * HOUR + 45 * MINUTE + 30_500],
    ['007s', 7 * SECOND],
    ['9007199254740991ms', Number.MAX_SAFE_INTEGER],
  ];
  for (const [text, ms] of valid) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }

  const invalid: [string, string][] = [
    ['', 'invalid duration ""'],
    ['-', 'invalid duration "-"'],
    ['.', 'invalid duration "."'],
    ['5 minutes', 'invalid duration "5 minutes"'],
    [' 5m', 'invalid duration " 5m"'],
    ['5m ', 'invalid duration "5m "'],
    ['1h 30m', 'invalid duration "1h 30m"'],
    ['1.5.5h', 'invalid duration "1.5.5h"'],
    ['--5m', 'invalid duration "--5m"'],
    ['h', 'invalid duration "h"'],
    ['300', 'invalid duration "300": missing unit (ns, us, ms, s, m, h or d)'],
    ['0.0', 'invalid duration "0.0": missing unit (ns, us, ms, s, m, h or d)'],
    ['1h30', 'invalid duration "1h30": missing unit (ns, us, ms, s, m, h or d)'],
    ['5y', 'invalid duration "5y": unknown unit "y" (ns, us, ms, s, m, h or d)'],
    ['5M', 'invalid duration "5M": unknown unit "M" (ns, us, ms, s, m, h or d)'],
    ['5minutes', 'invalid duration "5minutes": unknown unit "minutes" (ns, us, ms, s, m, h or d)'],
    ['-5m', 'must not be negative'],
    ['-1ns', 'must not be negative'],
    ['9007199254740992ms', 'invalid duration "9007199254740992ms": too large'],
    ['104249991375d', 'invalid duration "104249991375d": too large'],
    [`${'9'.repeat(100)}s`, `invalid duration "${'9'.repeat(60)}…": too large`],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${JSON.stringify(text)}: ${message}`, () => {
      assert.throws(() => parseDuration(text), { message });
    });
  }

  it('reads back what formatDuration writes, for every whole number of milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ms) => {
        assert.equal(parseDuration(formatDuration(ms)), ms);
      }),
    );
  });

  it('reads back what formatDuration writes, for whole microseconds below a second', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), (us) => {
        assert.equal(parseDuration(formatDuration(us / 1000)), us / 1000);
      }),
    );
  });
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [0.000001, '1ns'],
    [0.5, '500us'],
    [1.5, '1.5ms'],
    [800, '800ms'],
    [1500, '1.5s'],
    [90 * SECOND, '1m30s'],
    [5 * MINUTE, '5m'],
    [90 * MINUTE, '1h30m'],
    [HOUR + 500, '1h0.5s'],
    [30 * DAY, '30d'],
    [365 * DAY, '365d'],
    [DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5, '1d2h3m4.005s'],
    [-5 * MINUTE, '-5m'],
  ];
  for (const [ms, text] of cases) {
    it(`writes ${ms} ms as ${text}`, () => assert.equal(formatDuration(ms), text));
  }
});

describe('parseDurationOption', () => {
  it('reads a command-line duration', () =>
    assert.equal(parseDurationOption('--timeout', '30s'), 30 * SECOND));
  it('names the option in a usage error', () => {
    assert.throws(
      () => parseDurationOption('--timeout', '30'),
      (err: unknown) =>
        err instanceof UsageError &&
        err.code === 'ERR_USAGE' &&
        err.message === '--timeout: invalid duration "30": missing unit (ns, us, ms, s, m, h or d)',
    );
  });
});

describe('defaults', () => {
  it('are SPEC section 2', () => assert.deepEqual(defaultConfig(), SPEC_DEFAULTS));
  it('are what the SPEC section 2 YAML block reads as', () =>
    assert.deepEqual(parseConfigText(SPEC_YAML), SPEC_DEFAULTS));
  it('apply to an empty mapping, null and undefined', () => {
    for (const input of [{}, null, undefined]) assert.deepEqual(parseConfig(input), SPEC_DEFAULTS);
  });
  it('apply to an empty file and one with only comments', () => {
    assert.deepEqual(parseConfigText(''), SPEC_DEFAULTS);
    assert.deepEqual(parseConfigText('# nothing set\n\n'), SPEC_DEFAULTS);
    assert.deepEqual(parseConfigText('~\n'), SPEC_DEFAULTS);
  });
  it('apply when loadConfig is given no path', async () =>
    assert.deepEqual(await loadConfig(), SPEC_DEFAULTS));
  it('are the exported DEFAULT_CONFIG', () => assert.equal(defaultConfig(), DEFAULT_CONFIG));
});

describe('a full configuration', () => {
  it('reads every key', () => assert.deepEqual(parseConfigText(FULL_YAML), FULL_CONFIG));

  it('round-trips through toConfigDocument and YAML', () => {
    const pairs: [Config, Config][] = [
      [parseConfigText(FULL_YAML), FULL_CONFIG],
      [defaultConfig(), SPEC_DEFAULTS],
    ];
    for (const [parsed, config] of pairs) {
      assert.deepEqual(parseConfig(toConfigDocument(parsed)), config);
      assert.deepEqual(parseConfigText(stringify(toConfigDocument(parsed))), config);
    }
  });

  it('writes durations in the file form', () => {
    const document = toConfigDocument(parseConfigText(FULL_YAML));
    assert.deepEqual(document.ecr, {
      tagTTL: '1m30s',
      detailTTL: '1h',
      negativeTTL: '0s',
      refreshInterval: '5m',
      maxConcurrency: 32,
      maxAttempts: 3,
      assumeRoles: FULL_CONFIG.ecr.assumeRoles,
      resolveWith: 'BatchGetImage',
      maxImageSeries: 0,
      followIndexes: false,
      staleIfError: '0s',
    });
    assert.equal((document.webhook as { maxInFlightBytes: string }).maxInFlightBytes, '24Mi');
  });

  it('round-trips a lifted CRITICAL limit', () => {
    const config = parseConfig({ policy: { checks: { severity: { max: { CRITICAL: null, HIGH: 3 } } } } });
    assert.deepEqual(parseConfig(toConfigDocument(config)), config);
  });
});

describe('merging over the defaults', () => {
  it('keeps the defaults of keys a section leaves out', () => {
    const config = parseConfig({ ecr: { tagTTL: '1m' }, webhook: { enabled: true } });
    assert.deepEqual(config.ecr, { ...SPEC_DEFAULTS.ecr, tagTTL: MINUTE });
    assert.deepEqual(config.webhook, { ...SPEC_DEFAULTS.webhook, enabled: true });
    assert.deepEqual(config.policy, SPEC_DEFAULTS.policy);
  });

  it('reads a null section or value as absent, as Helm does', () => {
    assert.deepEqual(parseConfigText('ecr:\nwebhook:\n  port: ~\n'), SPEC_DEFAULTS);
  });

  it('replaces lists as a whole', () => {
    const config = parseConfig({
      policy: { exemptNamespaces: ['platform'] },
      webhook: { kinds: ['Deployment'] },
    });
    assert.deepEqual(config.policy.exemptNamespaces, ['platform']);
    assert.deepEqual(config.webhook.kinds, ['Deployment']);
    assert.deepEqual(parseConfig({ policy: { exemptNamespaces: [] } }).policy.exemptNamespaces, []);
  });

  it('keeps a check’s default action when only its own setting is given', () => {
    const config = parseConfig({ policy: { checks: { scanAge: { maxAge: '7d' }, imageExists: {} } } });
    assert.deepEqual(config.policy.checks.scanAge, { action: 'off', maxAge: 7 * DAY });
    assert.deepEqual(config.policy.checks.imageExists, { action: 'deny' });
  });

  const severityCases: [string, unknown, Config['policy']['checks']['severity']['max']][] = [
    ['adds a limit and keeps CRITICAL 0', { HIGH: 5 }, { CRITICAL: 0, HIGH: 5 }],
    ['changes the CRITICAL limit', { CRITICAL: 2 }, { CRITICAL: 2 }],
    ['lifts the CRITICAL limit with null', { CRITICAL: null, MEDIUM: 50 }, { MEDIUM: 50 }],
    ['keeps the default for an empty mapping', {}, { CRITICAL: 0 }],
    ['keeps the default for null', null, { CRITICAL: 0 }],
  ];
  for (const [name, max, expected] of severityCases) {
    it(`severity.max ${name}`, () => {
      assert.deepEqual(
        parseConfig({ policy: { checks: { severity: { max } } } }).policy.checks.severity.max,
        expected,
      );
    });
  }

  it('takes ecr.assumeRoles as given, ignoring null entries', () => {
    const roles = parseConfig({
      ecr: { assumeRoles: { '123456789012': 'arn:aws:iam::123456789012:role/r', '210987654321': null } },
    }).ecr.assumeRoles;
    assert.deepEqual(roles, { '123456789012': 'arn:aws:iam::123456789012:role/r' });
  });

  it('accepts the boundaries of every range', () => {
    const config = parseConfig({
      ecr: { maxConcurrency: 1000, maxAttempts: 20, tagTTL: '0s', refreshInterval: '24d' },
      metrics: { port: 65535 },
      webhook: { deadline: '29s', port: 1, maxInFlight: 10000, maxInFlightBytes: '8Mi' },
      kubernetes: { watchIdleTimeout: '1s' },
      lifecycle: { refreshInterval: '1m' },
    });
    assert.equal(config.ecr.maxConcurrency, 1000);
    assert.equal(config.ecr.maxAttempts, 20);
    assert.equal(config.ecr.tagTTL, 0);
    assert.equal(config.ecr.refreshInterval, 24 * DAY);
    assert.equal(config.metrics.port, 65535);
    assert.equal(config.webhook.deadline, 29 * SECOND);
    assert.equal(config.kubernetes.watchIdleTimeout, SECOND);
    assert.equal(config.lifecycle.refreshInterval, MINUTE);
    assert.equal(config.webhook.maxInFlight, 10000);
    assert.equal(config.webhook.maxInFlightBytes, 8 * 1024 * 1024);
    assert.equal(parseConfig({ ecr: { refreshInterval: '10s' } }).ecr.refreshInterval, 10 * SECOND);
    assert.equal(parseConfig({ webhook: { maxInFlightBytes: '1Gi' } }).webhook.maxInFlightBytes, 1024 ** 3);
    assert.equal(
      parseConfig({ webhook: { maxInFlightBytes: 16777216 } }).webhook.maxInFlightBytes,
      16 * 1024 ** 2,
    );
  });

  it('refuses intervals below their floor and sizes outside their range, naming the key', () => {
    const cases: [unknown, string][] = [
      [
        { ecr: { refreshInterval: '1ns' } },
        'ecr.refreshInterval: must be at least 10s: every refresh asks ECR about every image in use',
      ],
      [
        { ecr: { refreshInterval: '9s' } },
        'ecr.refreshInterval: must be at least 10s: every refresh asks ECR about every image in use',
      ],
      [
        { kubernetes: { watchIdleTimeout: '1ns' } },
        'kubernetes.watchIdleTimeout: must be at least 1s: a shorter timeout restarts every watch in a loop',
      ],
      [
        { lifecycle: { refreshInterval: '30s' } },
        'lifecycle.refreshInterval: must be at least 1m: ECR runs lifecycle policies about once a day, and each refresh reads every policy',
      ],
      [
        { webhook: { maxInFlightBytes: '1Mi' } },
        'webhook.maxInFlightBytes: must be at least 8Mi: a single review may be that large',
      ],
      [{ webhook: { maxInFlightBytes: '2Gi' } }, 'webhook.maxInFlightBytes: must be at most 1Gi'],
      [
        { webhook: { maxInFlightBytes: '64M' } },
        'webhook.maxInFlightBytes: invalid size "64M": expected bytes or a whole number with Ki, Mi or Gi, such as 64Mi',
      ],
      [{ webhook: { maxInFlightBytes: 1.5 } }, 'webhook.maxInFlightBytes: expected a size such as "64Mi"'],
      [{ webhook: { maxInFlight: 0 } }, 'webhook.maxInFlight: expected an integer from 1 to 10000'],
      [{ ecr: { staleIfError: '-1h' } }, 'ecr.staleIfError: must not be negative'],
      [{ lifecycle: { keepAliveWithin: 0 } }, 'lifecycle.keepAliveWithin: must be greater than 0'],
      [
        { policy: { checks: { lifecycleRisk: { within: '0s' } } } },
        'policy.checks.lifecycleRisk.within: must be greater than 0',
      ],
      [
        { policy: { checks: { digestRequired: { acceptImmutableTags: 'yes' } } } },
        'policy.checks.digestRequired.acceptImmutableTags: expected true or false; "yes" is a string in YAML 1.2',
      ],
      [{ reports: { openReport: true } }, 'reports.openReport: unknown key; did you mean "openReports"?'],
    ];
    for (const [input, message] of cases)
      assert.equal(
        configErrorOf(() => parseConfig(input)),
        message,
      );
  });

  it('lets the webhook share the metrics port when the webhook is off or the port is 0', () => {
    assert.equal(parseConfig({ webhook: { port: 9090 } }).webhook.port, 9090);
    assert.equal(parseConfig({ webhook: { enabled: true, port: 0 }, metrics: { port: 0 } }).webhook.port, 0);
    const split = parseConfig({
      webhook: { enabled: true, port: 9090, address: '10.0.0.1' },
      metrics: { address: '10.0.0.2' },
    });
    assert.equal(split.webhook.port, 9090);
  });

  it('accepts IPv6 and host-name addresses', () => {
    for (const address of ['::1', '::', 'localhost', 'warden.platform.svc', '192.168.1.10']) {
      assert.equal(parseConfig({ metrics: { address } }).metrics.address, address);
    }
  });
});

describe('invalid configurations', () => {
  const cases: [string, unknown, string][] = [
    // Top level
    ['a list at the top', [1], 'the configuration must be a mapping, not a list'],
    ['a string at the top', 'logLevel: info', 'the configuration must be a mapping, not a string'],
    ['a number at the top', 42, 'the configuration must be a mapping, not a number'],
    ['a Map at the top', new Map(), 'the configuration must be a mapping, not an object of another kind'],
    ['a misspelt top-level key', { loglevel: 'info' }, 'loglevel: unknown key; did you mean "logLevel"?'],
    [
      'an unknown top-level key',
      { foo: 1 },
      'foo: unknown key (known keys: logLevel, namespaces, ecr, inventory, kubernetes, lifecycle, reports, metrics, leaderElection, webhook, policy)',
    ],
    [
      'a key with a newline',
      { 'a\nb': 1 },
      '["a\\nb"]: unknown key (known keys: logLevel, namespaces, ecr, inventory, kubernetes, lifecycle, reports, metrics, leaderElection, webhook, policy)',
    ],
    // Prototype keys are ordinary unknown keys
    [
      '__proto__ at the top',
      JSON.parse('{"__proto__": {"polluted": true}}'),
      '__proto__: unknown key (known keys: logLevel, namespaces, ecr, inventory, kubernetes, lifecycle, reports, metrics, leaderElection, webhook, policy)',
    ],
    [
      'constructor at the top',
      { constructor: {} },
      'constructor: unknown key (known keys: logLevel, namespaces, ecr, inventory, kubernetes, lifecycle, reports, metrics, leaderElection, webhook, policy)',
    ],
    [
      '__proto__ inside a section',
      { ecr: JSON.parse('{"__proto__": {"tagTTL": "1s"}}') },
      'ecr.__proto__: unknown key (known keys: tagTTL, detailTTL, negativeTTL, refreshInterval, maxConcurrency, maxAttempts, assumeRoles, resolveWith, maxImageSeries, followIndexes, staleIfError)',
    ],
    [
      '__proto__ inside a check',
      { policy: { checks: { severity: JSON.parse('{"__proto__": {"action": "off"}}') } } },
      'policy.checks.severity.__proto__: unknown key (known keys: action, max)',
    ],
    [
      '__proto__ as a severity',
      { policy: { checks: { severity: { max: JSON.parse('{"__proto__": 1}') } } } },
      'policy.checks.severity.max.__proto__: unknown key (known keys: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED)',
    ],
    [
      '__proto__ as an account ID',
      { ecr: { assumeRoles: JSON.parse('{"__proto__": "arn:aws:iam::123456789012:role/r"}') } },
      'ecr.assumeRoles.__proto__: expected a 12-digit AWS account ID as the key',
    ],
    // logLevel
    [
      'an unknown log level',
      { logLevel: 'verbose' },
      'logLevel: expected one of trace, debug, info, warn, error',
    ],
    [
      'a log level in capitals',
      { logLevel: 'DEBUG' },
      'logLevel: expected one of trace, debug, info, warn, error; did you mean "debug"?',
    ],
    ['a numeric log level', { logLevel: 30 }, 'logLevel: expected one of trace, debug, info, warn, error'],
    // namespaces
    ['namespaces as a list', { namespaces: ['a'] }, 'namespaces: expected a mapping'],
    [
      'an unknown namespaces key',
      { namespaces: { includes: [] } },
      'namespaces.includes: unknown key; did you mean "include"?',
    ],
    ['include as a string', { namespaces: { include: 'team-a' } }, 'namespaces.include: expected a list'],
    [
      'an upper-case namespace',
      { namespaces: { include: ['ok', 'Team-A'] } },
      'namespaces.include[1]: expected a namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters)',
    ],
    [
      'a namespace of 64 characters',
      { namespaces: { exclude: ['a'.repeat(64)] } },
      'namespaces.exclude[0]: expected a namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters)',
    ],
    [
      'a namespace ending in a hyphen',
      { namespaces: { exclude: ['team-'] } },
      'namespaces.exclude[0]: expected a namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters)',
    ],
    [
      'a null namespace in a list',
      { namespaces: { exclude: [null] } },
      'namespaces.exclude[0]: expected a namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters)',
    ],
    [
      'a namespace both included and excluded',
      { namespaces: { include: ['a', 'b'], exclude: ['c', 'b'] } },
      'namespaces.exclude[1]: "b" is also in namespaces.include',
    ],
    // ecr
    ['ecr as a string', { ecr: 'fast' }, 'ecr: expected a mapping'],
    ['a misspelt ecr key', { ecr: { tagTtl: '1m' } }, 'ecr.tagTtl: unknown key; did you mean "tagTTL"?'],
    ['a duration in words', { ecr: { tagTTL: '5 minutes' } }, 'ecr.tagTTL: invalid duration "5 minutes"'],
    ['a negative TTL', { ecr: { tagTTL: '-5m' } }, 'ecr.tagTTL: must not be negative'],
    [
      'a duration without a unit',
      { ecr: { detailTTL: 300 } },
      'ecr.detailTTL: invalid duration "300": missing unit (ns, us, ms, s, m, h or d)',
    ],
    [
      'a negative number as a duration',
      { ecr: { negativeTTL: -5 } },
      'ecr.negativeTTL: invalid duration "-5": missing unit (ns, us, ms, s, m, h or d)',
    ],
    ['a boolean as a duration', { ecr: { tagTTL: true } }, 'ecr.tagTTL: expected a duration such as "5m"'],
    ['a list as a duration', { ecr: { tagTTL: ['5m'] } }, 'ecr.tagTTL: expected a duration such as "5m"'],
    [
      'an unknown duration unit',
      { ecr: { negativeTTL: '1w' } },
      'ecr.negativeTTL: invalid duration "1w": unknown unit "w" (ns, us, ms, s, m, h or d)',
    ],
    [
      'a zero refresh interval',
      { ecr: { refreshInterval: '0s' } },
      'ecr.refreshInterval: must be greater than 0',
    ],
    [
      'a refresh interval past what a timer can wait',
      { ecr: { refreshInterval: '25d' } },
      'ecr.refreshInterval: must be at most 24d (Node.js timers cannot wait longer)',
    ],
    [
      'no concurrency',
      { ecr: { maxConcurrency: 0 } },
      'ecr.maxConcurrency: expected an integer from 1 to 1000',
    ],
    [
      'too much concurrency',
      { ecr: { maxConcurrency: 1001 } },
      'ecr.maxConcurrency: expected an integer from 1 to 1000',
    ],
    [
      'fractional concurrency',
      { ecr: { maxConcurrency: 2.5 } },
      'ecr.maxConcurrency: expected an integer from 1 to 1000',
    ],
    [
      'concurrency as a string',
      { ecr: { maxConcurrency: '8' } },
      'ecr.maxConcurrency: expected an integer from 1 to 1000',
    ],
    ['no attempts', { ecr: { maxAttempts: 0 } }, 'ecr.maxAttempts: expected an integer from 1 to 20'],
    ['too many attempts', { ecr: { maxAttempts: 21 } }, 'ecr.maxAttempts: expected an integer from 1 to 20'],
    [
      'NaN attempts',
      { ecr: { maxAttempts: Number.NaN } },
      'ecr.maxAttempts: expected an integer from 1 to 20',
    ],
    ['assumeRoles as a list', { ecr: { assumeRoles: [] } }, 'ecr.assumeRoles: expected a mapping'],
    [
      'an 11-digit account ID',
      { ecr: { assumeRoles: { '12345678901': 'arn:aws:iam::123456789012:role/r' } } },
      'ecr.assumeRoles.12345678901: expected a 12-digit AWS account ID as the key',
    ],
    [
      'a user ARN instead of a role',
      { ecr: { assumeRoles: { '123456789012': 'arn:aws:iam::123456789012:user/r' } } },
      'ecr.assumeRoles.123456789012: expected an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-reader',
    ],
    [
      'a role ARN with an unknown partition shape',
      { ecr: { assumeRoles: { '123456789012': 'arn:gcp:iam::123456789012:role/r' } } },
      'ecr.assumeRoles.123456789012: expected an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-reader',
    ],
    [
      'a role ARN without a name',
      { ecr: { assumeRoles: { '123456789012': 'arn:aws:iam::123456789012:role/' } } },
      'ecr.assumeRoles.123456789012: expected an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-reader',
    ],
    [
      'a role ARN with a short account',
      { ecr: { assumeRoles: { '123456789012': 'arn:aws:iam::1234:role/r' } } },
      'ecr.assumeRoles.123456789012: expected an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-reader',
    ],
    [
      'a role ARN given as a number',
      { ecr: { assumeRoles: { '123456789012': 7 } } },
      'ecr.assumeRoles.123456789012: expected an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-reader',
    ],
    [
      'an unknown resolver',
      { ecr: { resolveWith: 'describeImages' } },
      'ecr.resolveWith: expected one of DescribeImages, BatchGetImage; did you mean "DescribeImages"?',
    ],
    [
      'a negative series limit',
      { ecr: { maxImageSeries: -1 } },
      'ecr.maxImageSeries: expected a non-negative integer',
    ],
    [
      'an infinite series limit',
      { ecr: { maxImageSeries: Number.POSITIVE_INFINITY } },
      'ecr.maxImageSeries: expected a non-negative integer',
    ],
    // inventory, kubernetes
    ['inventory as true', { inventory: true }, 'inventory: expected a mapping'],
    [
      'enabled as a string',
      { inventory: { enabled: 'true' } },
      'inventory.enabled: expected true or false; "true" is a string in YAML 1.2',
    ],
    ['enabled as a number', { inventory: { enabled: 1 } }, 'inventory.enabled: expected true or false'],
    ['a zero staleAfter', { inventory: { staleAfter: '0' } }, 'inventory.staleAfter: must be greater than 0'],
    [
      'a zero watch timeout',
      { kubernetes: { watchIdleTimeout: 0 } },
      'kubernetes.watchIdleTimeout: must be greater than 0',
    ],
    [
      'an unknown kubernetes key',
      { kubernetes: { watchTimeout: '1m' } },
      'kubernetes.watchTimeout: unknown key (known keys: watchIdleTimeout)',
    ],
    // metrics, leaderElection
    ['metrics as a number', { metrics: 9090 }, 'metrics: expected a mapping'],
    [
      'an empty address',
      { metrics: { address: '' } },
      'metrics.address: expected an IP address or a host name',
    ],
    [
      'an address with a port',
      { metrics: { address: '0.0.0.0:9090' } },
      'metrics.address: expected an IP address or a host name',
    ],
    [
      'a bracketed IPv6 address',
      { metrics: { address: '[::1]' } },
      'metrics.address: expected an IP address or a host name',
    ],
    ['a negative port', { metrics: { port: -1 } }, 'metrics.port: expected an integer from 0 to 65535'],
    ['a port past 65535', { metrics: { port: 65536 } }, 'metrics.port: expected an integer from 0 to 65535'],
    [
      'a port as a string',
      { metrics: { port: '9090' } },
      'metrics.port: expected an integer from 0 to 65535',
    ],
    [
      'an upper-case lease name',
      { leaderElection: { leaseName: 'ECR-Warden' } },
      'leaderElection.leaseName: expected a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters)',
    ],
    [
      'an empty lease name',
      { leaderElection: { leaseName: '' } },
      'leaderElection.leaseName: expected a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters)',
    ],
    [
      'an invalid lease namespace',
      { leaderElection: { namespace: 'Kube_System' } },
      'leaderElection.namespace: expected "" (the pod\'s own namespace) or a namespace name (a DNS-1123 label)',
    ],
    // webhook
    ['webhook as a list', { webhook: [] }, 'webhook: expected a mapping'],
    [
      'a webhook port past 65535',
      { webhook: { port: 70000 } },
      'webhook.port: expected an integer from 0 to 65535',
    ],
    [
      'a fractional webhook port',
      { webhook: { port: 8443.5 } },
      'webhook.port: expected an integer from 0 to 65535',
    ],
    [
      'the webhook on the metrics port',
      { webhook: { enabled: true, port: 9090 } },
      'webhook.port: 9090 is also metrics.port on an overlapping address',
    ],
    [
      'the webhook on the metrics port behind a wildcard',
      {
        webhook: { enabled: true, port: 9000, address: '127.0.0.1' },
        metrics: { port: 9000, address: '::' },
      },
      'webhook.port: 9000 is also metrics.port on an overlapping address',
    ],
    ['an empty cert file', { webhook: { certFile: '' } }, 'webhook.certFile: expected a non-empty file path'],
    [
      'a key file as a number',
      { webhook: { keyFile: 1 } },
      'webhook.keyFile: expected a non-empty file path',
    ],
    ['a zero deadline', { webhook: { deadline: '0s' } }, 'webhook.deadline: must be greater than 0'],
    [
      'a deadline past the API server’s timeout',
      { webhook: { deadline: '30s' } },
      'webhook.deadline: must be at most 29s (the API server waits at most 30s for a webhook)',
    ],
    ['kinds as a string', { webhook: { kinds: 'Pod' } }, 'webhook.kinds: expected a list'],
    ['no kinds', { webhook: { kinds: [] } }, 'webhook.kinds: expected at least one kind'],
    [
      'a lower-case kind',
      { webhook: { kinds: ['Pod', 'deployment'] } },
      'webhook.kinds[1]: expected one of Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController; did you mean "Deployment"?',
    ],
    [
      'an unknown kind',
      { webhook: { kinds: ['Service'] } },
      'webhook.kinds[0]: expected one of Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController',
    ],
    [
      'a duplicate kind',
      { webhook: { kinds: ['Pod', 'Job', 'Pod'] } },
      'webhook.kinds[2]: duplicate kind "Pod"',
    ],
    [
      'pinDigests as yes',
      { webhook: { pinDigests: 'yes' } },
      'webhook.pinDigests: expected true or false; "yes" is a string in YAML 1.2',
    ],
    // policy
    ['policy as a string', { policy: 'enforce' }, 'policy: expected a mapping'],
    [
      'a misspelt policy key',
      { policy: { chekcs: {} } },
      'policy.chekcs: unknown key; did you mean "checks"?',
    ],
    ['an unknown mode', { policy: { mode: 'block' } }, 'policy.mode: expected one of audit, warn, enforce'],
    ['an unknown onError', { policy: { onError: 'fail' } }, 'policy.onError: expected one of allow, deny'],
    [
      'an invalid exempt namespace',
      { policy: { exemptNamespaces: ['kube-system', 'Kube Public'] } },
      'policy.exemptNamespaces[1]: expected a namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters)',
    ],
    [
      'exemptImages as a string',
      { policy: { exemptImages: 'nginx' } },
      'policy.exemptImages: expected a list',
    ],
    [
      'an empty image glob',
      { policy: { exemptImages: [''] } },
      'policy.exemptImages[0]: an image glob must not be empty',
    ],
    [
      'an image glob with a space',
      { policy: { exemptImages: ['nginx', 'my image'] } },
      'policy.exemptImages[1]: image glob "my image" contains whitespace or a control character, which no image reference contains',
    ],
    [
      'a numeric image glob',
      { policy: { exemptImages: [5] } },
      'policy.exemptImages[0]: an image glob must be a string',
    ],
    // policy.checks
    ['checks as a list', { policy: { checks: [] } }, 'policy.checks: expected a mapping'],
    [
      'an unknown check',
      { policy: { checks: { severty: {} } } },
      'policy.checks.severty: unknown key; did you mean "severity"?',
    ],
    [
      'a check given as its action',
      { policy: { checks: { nonEcr: 'deny' } } },
      'policy.checks.nonEcr: expected a mapping such as { action: deny }',
    ],
    [
      'a check as a number',
      { policy: { checks: { archived: 1 } } },
      'policy.checks.archived: expected a mapping',
    ],
    [
      'an unknown action',
      { policy: { checks: { imageExists: { action: 'block' } } } },
      'policy.checks.imageExists.action: expected one of off, warn, deny',
    ],
    [
      'action false',
      { policy: { checks: { scanComplete: { action: false } } } },
      'policy.checks.scanComplete.action: expected one of off, warn, deny',
    ],
    [
      'a setting a check does not have',
      { policy: { checks: { digestRequired: { action: 'deny', max: 1 } } } },
      'policy.checks.digestRequired.max: unknown key (known keys: action, acceptImmutableTags)',
    ],
    [
      'a misspelt check setting',
      { policy: { checks: { scanAge: { maxage: '7d' } } } },
      'policy.checks.scanAge.maxage: unknown key; did you mean "maxAge"?',
    ],
    [
      'registries as a string',
      { policy: { checks: { allowedRegistries: { registries: 'ecr' } } } },
      'policy.checks.allowedRegistries.registries: expected a list',
    ],
    [
      'an 11-digit account ID as a registry',
      { policy: { checks: { allowedRegistries: { registries: ['12345678901'] } } } },
      'policy.checks.allowedRegistries.registries[0]: expected a 12-digit account ID or a registry host such as 123456789012.dkr.ecr.us-east-1.amazonaws.com',
    ],
    [
      'an unquoted account ID as a registry',
      { policy: { checks: { allowedRegistries: { registries: [123456789012] } } } },
      'policy.checks.allowedRegistries.registries[0]: expected a string; quote account IDs, e.g. "012345678901"',
    ],
    [
      'a repository path as a registry',
      {
        policy: {
          checks: {
            allowedRegistries: { registries: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/team'] },
          },
        },
      },
      'policy.checks.allowedRegistries.registries[0]: expected a 12-digit account ID or a registry host such as 123456789012.dkr.ecr.us-east-1.amazonaws.com',
    ],
    [
      'a registry with a port past 65535',
      { policy: { checks: { allowedRegistries: { registries: ['registry.local:70000'] } } } },
      'policy.checks.allowedRegistries.registries[0]: expected a 12-digit account ID or a registry host such as 123456789012.dkr.ecr.us-east-1.amazonaws.com',
    ],
    [
      'severity.max as a list',
      { policy: { checks: { severity: { max: [0] } } } },
      'policy.checks.severity.max: expected a mapping',
    ],
    [
      'a negative severity limit',
      { policy: { checks: { severity: { max: { CRITICAL: -1 } } } } },
      'policy.checks.severity.max.CRITICAL: expected a non-negative integer',
    ],
    [
      'a fractional severity limit',
      { policy: { checks: { severity: { max: { HIGH: 1.5 } } } } },
      'policy.checks.severity.max.HIGH: expected a non-negative integer',
    ],
    [
      'a severity limit as a string',
      { policy: { checks: { severity: { max: { LOW: '5' } } } } },
      'policy.checks.severity.max.LOW: expected a non-negative integer',
    ],
    [
      'a lower-case severity',
      { policy: { checks: { severity: { max: { critical: 0 } } } } },
      'policy.checks.severity.max.critical: unknown key; did you mean "CRITICAL"?',
    ],
    [
      'an Inspector-only severity',
      { policy: { checks: { severity: { max: { UNTRIAGED: 0 } } } } },
      'policy.checks.severity.max.UNTRIAGED: unknown key (known keys: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED)',
    ],
    [
      'a zero scan age',
      { policy: { checks: { scanAge: { maxAge: '0s' } } } },
      'policy.checks.scanAge.maxAge: must be greater than 0',
    ],
    [
      'a negative image age',
      { policy: { checks: { imageAge: { maxAge: '-1d' } } } },
      'policy.checks.imageAge.maxAge: must not be negative',
    ],
  ];
  for (const [name, input, message] of cases) {
    it(`refuses ${name}: ${message}`, () =>
      assert.equal(
        configErrorOf(() => parseConfig(input)),
        message,
      ));
  }

  it('reports the first problem in schema order', () => {
    const message = configErrorOf(() =>
      parseConfig({ policy: { mode: 'x' }, ecr: { tagTTL: 'x' }, bogus: 1 }),
    );
    assert.match(message, /^bogus: unknown key/);
    assert.equal(
      configErrorOf(() => parseConfig({ policy: { mode: 'x' }, ecr: { tagTTL: 'x' } })),
      'ecr.tagTTL: invalid duration "x"',
    );
  });

  it('carries the key path on the error', () => {
    try {
      parseConfig({ webhook: { kinds: ['Pod', 'Pod'] } });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.path, 'webhook.kinds[1]');
    }
  });

  it('leaves Object.prototype alone', () => {
    configErrorOf(() => parseConfig(JSON.parse('{"__proto__": {"polluted": true}}')));
    configErrorOf(() => parseConfigText('__proto__:\n  polluted: true\n'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('YAML text', () => {
  const cases: [string, string, string][] = [
    [
      'a value problem, with where it is',
      'ecr:\n  tagTTL: 5 minutes\n',
      'ecr.tagTTL: invalid duration "5 minutes" (c.yaml:2:11)',
    ],
    [
      'an unknown key, pointing at the key',
      'policy:\n  checks:\n    sevrity: { action: deny }\n',
      'policy.checks.sevrity: unknown key; did you mean "severity"? (c.yaml:3:5)',
    ],
    [
      'a list item',
      'webhook:\n  kinds:\n    - Pod\n    - Pod\n',
      'webhook.kinds[1]: duplicate kind "Pod" (c.yaml:4:7)',
    ],
    [
      'yes as a boolean',
      'webhook:\n  enabled: yes\n',
      'webhook.enabled: expected true or false; "yes" is a string in YAML 1.2 (c.yaml:2:12)',
    ],
    [
      'on as a boolean',
      'inventory:\n  enabled: on\n',
      'inventory.enabled: expected true or false; "on" is a string in YAML 1.2 (c.yaml:2:12)',
    ],
    [
      'yes under a YAML 1.1 directive',
      '%YAML 1.1\n---\nwebhook:\n  pinDigests: yes\n',
      'webhook.pinDigests: expected true or false; "yes" is a string in YAML 1.2 (c.yaml:4:15)',
    ],
    [
      'a number as a duration',
      'ecr:\n  tagTTL: 300\n',
      'ecr.tagTTL: invalid duration "300": missing unit (ns, us, ms, s, m, h or d) (c.yaml:2:11)',
    ],
    [
      'an account ID that lost its leading zero',
      'policy:\n  checks:\n    allowedRegistries:\n      registries: [012345678901]\n',
      'policy.checks.allowedRegistries.registries[0]: expected a string; quote account IDs, e.g. "012345678901" (c.yaml:4:20)',
    ],
    [
      'a list at the top',
      '- logLevel: info\n',
      'the configuration must be a mapping, not a list (c.yaml:1:1)',
    ],
    ['a scalar at the top', 'hello\n', 'the configuration must be a mapping, not a string (c.yaml:1:1)'],
    [
      'a merge key',
      'base: &base { action: deny }\npolicy:\n  checks:\n    nonEcr:\n      <<: *base\n',
      'base: unknown key (known keys: logLevel, namespaces, ecr, inventory, kubernetes, lifecycle, reports, metrics, leaderElection, webhook, policy) (c.yaml:1:1)',
    ],
    [
      'two documents',
      'logLevel: info\n---\nlogLevel: debug\n',
      'c.yaml:2:1: the file holds more than one YAML document; put the whole configuration in one',
    ],
    [
      'a duplicate key',
      'logLevel: info\nlogLevel: debug\n',
      'c.yaml:2:1: invalid YAML: duplicate key "logLevel"',
    ],
    [
      'a duplicate nested key',
      'ecr:\n  tagTTL: 1m\n  tagTTL: 2m\n',
      'c.yaml:3:3: invalid YAML: duplicate key "tagTTL"',
    ],
    [
      'a syntax error',
      'ecr:\n  tagTTL: [1m\n',
      'c.yaml:3:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    [
      'a bad indent',
      'ecr:\n  tagTTL: 1m\n detailTTL: 2m\n',
      'c.yaml:3:1: invalid YAML: All mapping items must start at the same column',
    ],
    [
      'a custom tag',
      'logLevel: !env LOG_LEVEL\n',
      'c.yaml:1:16: YAML tag "!env" is not supported; the configuration is plain data',
    ],
    [
      'a JavaScript tag',
      'logLevel: !!js/function "x"\n',
      'c.yaml:1:25: YAML tag "!!js/function" is not supported; the configuration is plain data',
    ],
    [
      'a binary tag',
      'logLevel: !!binary aGk=\n',
      'c.yaml:1:20: YAML tag "!!binary" is not supported; the configuration is plain data',
    ],
    [
      'a set tag',
      'ecr: !!set { a, b }\n',
      'c.yaml:1:12: YAML tag "!!set" is not supported; the configuration is plain data',
    ],
    [
      'an alias without an anchor',
      'logLevel: *level\n',
      'c.yaml:1:11: invalid YAML: alias "*level" has no anchor before it',
    ],
  ];
  for (const [name, text, message] of cases) {
    it(`refuses ${name}: ${message}`, () =>
      assert.equal(
        configErrorOf(() => parseConfigText(text, 'c.yaml')),
        message,
      ));
  }

  it('refuses nesting deeper than the parser can follow', () => {
    const text = `logLevel: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    // Where the parser runs out of stack depends on the stack size, so the column is not fixed.
    assert.match(
      configErrorOf(() => parseConfigText(text, 'c.yaml')),
      /^c\.yaml:1:\d+: invalid YAML: nested too deeply$/,
    );
  });

  it('refuses an alias bomb without expanding it', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let level = 1; level <= 9; level++) {
      const previous = `*a${level - 1}`;
      text += `a${level}: &a${level} [${Array(10).fill(previous).join(', ')}]\n`;
    }
    assert.equal(
      configErrorOf(() => parseConfigText(text, 'c.yaml')),
      'c.yaml: YAML aliases expand too much (refused as a possible alias bomb)',
    );
  });

  it('accepts a few aliases and core tags', () => {
    const config = parseConfigText(
      'namespaces:\n  include: &teams [team-a, team-b]\npolicy:\n  exemptNamespaces: *teams\n  mode: !!str enforce\n',
    );
    assert.deepEqual(config.policy.exemptNamespaces, ['team-a', 'team-b']);
    assert.equal(config.policy.mode, 'enforce');
  });

  it('keeps a quoted or unquoted leading zero in an account ID key', () => {
    const config = parseConfigText(
      'ecr:\n  assumeRoles:\n    012345678901: arn:aws:iam::012345678901:role/r\n',
    );
    assert.deepEqual(config.ecr.assumeRoles, { '012345678901': 'arn:aws:iam::012345678901:role/r' });
  });
});

describe('loadConfig', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecr-warden-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, contents: string | Buffer) => {
    const path = join(dir, name);
    await writeFile(path, contents);
    return path;
  };

  it('reads a file', async () =>
    assert.deepEqual(await loadConfig(await file('full.yaml', FULL_YAML)), FULL_CONFIG));

  it('names the file in a key problem', async () => {
    const path = await file('bad.yaml', 'metrics:\n  port: 99999\n');
    const err = await configErrorOfAsync(() => loadConfig(path));
    assert.equal(err.message, `metrics.port: expected an integer from 0 to 65535 (${path}:2:9)`);
    assert.equal(err.path, 'metrics.port');
  });

  it('names a missing file and the reason', async () => {
    const path = join(dir, 'missing.yaml');
    const err = await configErrorOfAsync(() => loadConfig(path));
    assert.equal(err.message, `cannot read config file ${path}: no such file or directory (ENOENT)`);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
  });

  it('names a directory given as the file', async () => {
    const err = await configErrorOfAsync(() => loadConfig(dir));
    assert.equal(err.message, `cannot read config file ${dir}: illegal operation on a directory (EISDIR)`);
  });

  it('accepts a file of exactly 1 MiB', async () => {
    const comment = '#'.repeat(1023);
    const path = await file('large.yaml', `${`${comment}\n`.repeat(MAX_CONFIG_BYTES / 1024)}`);
    assert.deepEqual(await loadConfig(path), SPEC_DEFAULTS);
  });

  it('refuses a file over 1 MiB before parsing it', async () => {
    const path = await file('huge.yaml', `logLevel: info\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    const err = await configErrorOfAsync(() => loadConfig(path));
    assert.equal(err.message, `config file ${path} is larger than 1 MiB; a configuration is a few kilobytes`);
  });

  it('refuses bytes that are not UTF-8', async () => {
    const path = await file('latin1.yaml', Buffer.from([0x6c, 0x6f, 0x67, 0x3a, 0x20, 0xe9, 0x0a]));
    const err = await configErrorOfAsync(() => loadConfig(path));
    assert.equal(err.message, `config file ${path} is not UTF-8 text`);
  });

  it('reads a file with a byte order mark', async () => {
    const path = await file('bom.yaml', '\ufefflogLevel: warn\n');
    assert.equal((await loadConfig(path)).logLevel, 'warn');
  });

  it('names the file and the position of invalid YAML', async () => {
    const path = await file('syntax.yaml', 'ecr: {tagTTL: 1m\n');
    const err = await configErrorOfAsync(() => loadConfig(path));
    assert.match(
      err.message,
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:1: invalid YAML: `),
    );
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const config = parseConfigText(FULL_YAML);
    const mutations: [string, () => void][] = [
      ['a top-level key', () => Object.assign(config, { logLevel: 'trace' })],
      ['a section value', () => Object.assign(config.ecr, { tagTTL: 1 })],
      ['a list', () => config.webhook.kinds.push('Job')],
      ['a list item', () => Object.assign(config.policy.exemptNamespaces, { 0: 'x' })],
      ['a map of roles', () => Object.assign(config.ecr.assumeRoles, { '999999999999': 'x' })],
      ['a check', () => Object.assign(config.policy.checks.severity, { action: 'off' })],
      ['severity limits', () => Object.assign(config.policy.checks.severity.max, { HIGH: 1 })],
      ['a deletion', () => delete (config.policy.checks as Partial<Config['policy']['checks']>).nonEcr],
    ];
    for (const [name, mutate] of mutations) assert.throws(mutate, TypeError, `mutating ${name} must throw`);
    assert.throws(
      () => Object.assign(defaultConfig().policy.checks.severity.max, { CRITICAL: 9 }),
      TypeError,
    );
  });

  it('shares no mutable object with the input', () => {
    const input = {
      namespaces: { include: ['a'] },
      ecr: { assumeRoles: { '123456789012': 'arn:aws:iam::123456789012:role/r' } },
      policy: { checks: { severity: { max: { HIGH: 1 } } } },
    };
    parseConfig(input);
    assert.equal(Object.isFrozen(input.namespaces.include), false);
    assert.equal(Object.isFrozen(input.ecr.assumeRoles), false);
    assert.equal(Object.isFrozen(input.policy.checks.severity.max), false);
    assert.equal(Object.isFrozen(SPEC_DEFAULTS.policy.exemptNamespaces), false);
  });

  it('is a plain object that serializes to JSON', () => {
    const config = parseConfigText(FULL_YAML);
    assert.deepEqual(JSON.parse(JSON.stringify(config)), FULL_CONFIG);
  });
});

describe('hostile input', () => {
  /** Any key of the schema, at any depth, so generated objects reach deep into validation. */
  const schemaKeys = [
    ...new Set(
      JSON.stringify(SPEC_DEFAULTS)
        .match(/"([A-Za-z]+)":/g)
        ?.map((key) => key.slice(1, -2)) ?? [],
    ),
    'max',
    'HIGH',
    '123456789012',
    '__proto__',
  ];
  const schemaLike = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }),
      fc.constantFrom(
        '5m',
        '0',
        '-1s',
        'deny',
        'off',
        'Pod',
        'kube-system',
        'arn:aws:iam::123456789012:role/r',
      ),
      fc.array(tie('value'), { maxLength: 3 }),
      tie('object'),
    ),
    object: fc.dictionary(fc.constantFrom(...schemaKeys), tie('value'), { maxKeys: 5 }),
  })).object;

  const onlyConfigErrors = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      assert.doesNotMatch(err.message, /\n/);
    }
  };

  it('parseConfig throws nothing but ConfigError for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => onlyConfigErrors(() => parseConfig(value))));
  });

  it('parseConfig throws nothing but ConfigError for any value at all', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withMap: true, withSet: true }), (value) =>
        onlyConfigErrors(() => parseConfig(value)),
      ),
    );
  });

  it('parseConfig throws nothing but ConfigError for objects shaped like a configuration', () => {
    fc.assert(
      fc.property(schemaLike, (value) => onlyConfigErrors(() => parseConfig(value))),
      { numRuns: 500 },
    );
  });

  it('parseConfigText throws nothing but ConfigError for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => onlyConfigErrors(() => parseConfigText(text))),
    );
  });

  it('parseConfigText throws nothing but ConfigError for any configuration-shaped YAML', () => {
    fc.assert(fc.property(schemaLike, (value) => onlyConfigErrors(() => parseConfigText(stringify(value)))));
  });

  it('a valid result always round-trips through toConfigDocument', () => {
    fc.assert(
      fc.property(schemaLike, (value) => {
        let config: Config;
        try {
          config = parseConfig(value);
        } catch {
          return;
        }
        assert.deepEqual(parseConfig(toConfigDocument(config)), config);
      }),
      { numRuns: 500 },
    );
  });
});
