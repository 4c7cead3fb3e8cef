import { isIP } from 'node:net';
import { validateImageGlob } from '../images/glob.ts';
import type { LogLevel } from '../log.ts';
import { DEFAULT_CONFIG } from './defaults.ts';
import {
  durationReader,
  enumReader,
  integerReader,
  isMapping,
  listReader,
  readBoolean,
  readMapping,
  readNonNegativeInteger,
  rejectUnknownKeys,
  type Section,
  section,
  sectionOf,
  sizeReader,
  stringReader,
  valueAt,
} from './fields.ts';
import {
  CHECK_NAMES,
  type CheckAction,
  type ChecksConfig,
  type Config,
  SEVERITIES,
  type Severity,
  WORKLOAD_KINDS,
  type WorkloadKind,
} from './types.ts';
import { type KeyPath, quote, violation } from './violation.ts';

/**
 * SPEC section 2 as code: `validateConfig` checks untrusted input (parsed YAML, or any value)
 * key by key and fills what is absent from the defaults.
 *
 * Merging: a given mapping replaces the defaults key by key, at every level; a list replaces its
 * default list as a whole (`exemptNamespaces: [team-a]` drops kube-system: a list is read as the
 * complete answer). `ecr.assumeRoles` replaces its default as a whole (the default is empty).
 * `policy.checks.severity.max` merges per severity instead — see readSeverityMax for why.
 * Null counts as absent everywhere, as in Helm values.
 *
 * The first problem found is reported, in a stable order: a mapping's unknown keys first,
 * then its keys in schema order.
 */

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];
const CHECK_ACTIONS: readonly CheckAction[] = ['off', 'warn', 'deny'];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// RFC 1123 host names: labels of letters, digits and inner hyphens, at most 63 characters each.
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
// A registry as an image reference names it (distribution/reference): a host name or a
// bracketed IPv6 literal, with an optional port.
const REGISTRY_HOST = new RegExp(
  `^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$`,
);
const ACCOUNT_ID = /^[0-9]{12}$/;
// arn:<partition>:iam::<account>:role/<optional/path/><name>. Partitions are `aws` and its
// suffixed forms (aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc, …). A path is `/` or
// `/segments/` of printable ASCII; a role name is 1–64 of IAM's allowed characters.
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role\/(?:[\x21-\x7e]+\/)?[\w+=,.@-]{1,64}$/;
// IAM caps a role path at 512 characters and a name at 64; with the fixed parts an ARN is shorter.
const MAX_ROLE_ARN_LENGTH = 2048;

const MAX_LABEL_LENGTH = 63;
const MAX_SUBDOMAIN_LENGTH = 253;

// Node.js timers cannot wait longer than 2^31 - 1 ms (about 24.8 days): a longer delay fires
// after 1 ms instead, which would turn a refresh loop into a busy loop. 24 days keeps a round,
// readable limit below that.
const MAX_TIMER_MS = 24 * 24 * 60 * 60 * 1000;
const TIMER_LIMIT = { ms: MAX_TIMER_MS, reason: 'must be at most 24d (Node.js timers cannot wait longer)' };
// The API server waits at most 30s for a webhook (timeoutSeconds is 1–30) and the answer must
// reach it before then, so one second is kept for the response to travel.
const MAX_WEBHOOK_DEADLINE_MS = 29_000;

const isNamespaceName = (text: string) => text.length <= MAX_LABEL_LENGTH && DNS1123_LABEL.test(text);
const readNamespaceName = stringReader(
  isNamespaceName,
  'expected a namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters)',
);
const readNamespaceList = listReader(readNamespaceName);
const readLeaderNamespace = stringReader(
  (text) => text === '' || isNamespaceName(text),
  'expected "" (the pod\'s own namespace) or a namespace name (a DNS-1123 label)',
);
const readLeaseName = stringReader(
  (text) => text.length <= MAX_SUBDOMAIN_LENGTH && DNS1123_SUBDOMAIN.test(text),
  'expected a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters)',
);
const readAddress = stringReader(
  (text) => isIP(text) !== 0 || (text.length <= MAX_SUBDOMAIN_LENGTH && HOSTNAME.test(text)),
  'expected an IP address or a host name',
);
// Port 0 asks the operating system for any free port: tests and the demo listen that way.
const readPort = integerReader(0, 65_535, 'expected an integer from 0 to 65535');
const readFilePath = stringReader(
  (text) => text !== '' && !text.includes('\0'),
  'expected a non-empty file path',
);
const readAction = enumReader(CHECK_ACTIONS);
const readMaxConcurrency = integerReader(1, 1000, 'expected an integer from 1 to 1000');
// The SDK counts the first try as an attempt; past 20 a throttled call would retry for minutes.
const readMaxAttempts = integerReader(1, 20, 'expected an integer from 1 to 20');
const readTTL = durationReader();
const readPositiveDuration = durationReader({ positive: true });
// Floors for loops that would otherwise spin or hammer an API (`refreshInterval: 1ns`).
const readRefreshInterval = durationReader({
  positive: true,
  min: { ms: 10_000, reason: 'must be at least 10s: every refresh asks ECR about every image in use' },
  max: TIMER_LIMIT,
});
const readWatchIdleTimeout = durationReader({
  positive: true,
  min: { ms: 1_000, reason: 'must be at least 1s: a shorter timeout restarts every watch in a loop' },
  max: TIMER_LIMIT,
});
const readLifecycleRefreshInterval = durationReader({
  positive: true,
  min: {
    ms: 60_000,
    reason:
      'must be at least 1m: ECR runs lifecycle policies about once a day, and each refresh reads every policy',
  },
  max: TIMER_LIMIT,
});
const readMaxInFlight = integerReader(1, 10_000, 'expected an integer from 1 to 10000');
const MIB = 1024 * 1024;
const readMaxInFlightBytes = sizeReader(
  // SPEC section 6: one review may be 8 MiB (an UPDATE carries object and oldObject).
  { bytes: 8 * MIB, reason: 'must be at least 8Mi: a single review may be that large' },
  { bytes: 1024 * MIB, reason: 'must be at most 1Gi' },
);
const readDeadline = durationReader({
  positive: true,
  max: {
    ms: MAX_WEBHOOK_DEADLINE_MS,
    reason: 'must be at most 29s (the API server waits at most 30s for a webhook)',
  },
});

function readImageGlob(value: unknown, path: KeyPath): string {
  const problem = validateImageGlob(value);
  if (problem !== null) violation(path, problem);
  return value as string;
}

function readRegistry(value: unknown, path: KeyPath): string {
  // A YAML account ID without quotes is a number, and one with a leading zero has lost it.
  if (typeof value === 'number') violation(path, 'expected a string; quote account IDs, e.g. "012345678901"');
  // All digits is an account ID, whatever else a host name could be.
  const valid =
    typeof value === 'string' && (/^[0-9]+$/.test(value) ? ACCOUNT_ID.test(value) : isRegistryHost(value));
  if (!valid) {
    violation(
      path,
      'expected a 12-digit account ID or a registry host such as 123456789012.dkr.ecr.us-east-1.amazonaws.com',
    );
  }
  return value;
}

function isRegistryHost(text: string): boolean {
  if (text.length > MAX_SUBDOMAIN_LENGTH || !REGISTRY_HOST.test(text)) return false;
  const port = /:([0-9]+)$/.exec(text)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
}

function readKinds(value: unknown, path: KeyPath): WorkloadKind[] {
  const kinds = listReader(enumReader(WORKLOAD_KINDS))(value, path);
  if (kinds.length === 0) violation(path, 'expected at least one kind');
  const seen = new Set<WorkloadKind>();
  kinds.forEach((kind, index) => {
    if (seen.has(kind)) violation([...path, index], `duplicate kind ${quote(kind)}`);
    seen.add(kind);
  });
  return kinds;
}

function readAssumeRoles(value: unknown, path: KeyPath): Record<string, string> {
  if (!isMapping(value)) violation(path, 'expected a mapping');
  const roles: Record<string, string> = {};
  for (const accountId of Object.keys(value)) {
    const keyPath = [...path, accountId];
    // The key check also refuses `__proto__`, so the assignment below can only add own data keys.
    if (!ACCOUNT_ID.test(accountId)) violation(keyPath, 'expected a 12-digit AWS account ID as the key');
    const arn = value[accountId];
    if (arn === null) continue;
    if (typeof arn !== 'string' || arn.length > MAX_ROLE_ARN_LENGTH || !ROLE_ARN.test(arn)) {
      violation(keyPath, 'expected an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-reader');
    }
    roles[accountId] = arn;
  }
  return roles;
}

/**
 * `max` merges per severity over the default `{ CRITICAL: 0 }`: a user who writes
 * `max: { HIGH: 5 }` is adding a limit, not asking to let critical findings through, and a
 * whole-map replace would silently weaken the policy. It is also what a Helm user gets from
 * values merging. To lift a default limit, set that severity to null (`CRITICAL: null`), the
 * way Helm removes a key.
 */
function readSeverityMax(
  value: unknown,
  path: KeyPath,
  defaults: Partial<Record<Severity, number>>,
): Partial<Record<Severity, number>> {
  const given = readMapping(value, path, SEVERITIES);
  const max: Partial<Record<Severity, number>> = {};
  for (const severity of SEVERITIES) {
    if (Object.hasOwn(given, severity)) {
      const limit = given[severity];
      if (limit !== null) max[severity] = readNonNegativeInteger(limit, [...path, severity]);
    } else if (defaults[severity] !== undefined) {
      max[severity] = defaults[severity];
    }
  }
  return max;
}

const CHECK_KEYS: { readonly [K in keyof ChecksConfig]: readonly string[] } = {
  nonEcr: ['action'],
  allowedRegistries: ['action', 'registries'],
  digestRequired: ['action', 'acceptImmutableTags'],
  imageExists: ['action'],
  archived: ['action'],
  scanComplete: ['action'],
  severity: ['action', 'max'],
  scanAge: ['action', 'maxAge'],
  imageAge: ['action', 'maxAge'],
  lifecycleRisk: ['action', 'within'],
};

function readChecks(policy: Section): ChecksConfig {
  const checks = section(policy.mapping, policy.path, 'checks', CHECK_NAMES);
  const defaults = DEFAULT_CONFIG.policy.checks;
  const check = <K extends keyof ChecksConfig>(name: K): { settings: Section; action: CheckAction } => {
    const value = valueAt(checks.mapping, name);
    // `nonEcr: deny` is a natural slip; say what shape is wanted.
    if (typeof value === 'string')
      violation([...checks.path, name], `expected a mapping such as { action: ${value} }`);
    const settings = section(checks.mapping, checks.path, name, CHECK_KEYS[name]);
    return { settings, action: settings.get('action', defaults[name].action, readAction) };
  };
  const actionOnly = (name: keyof ChecksConfig) => ({ action: check(name).action });
  const withMaxAge = (name: 'scanAge' | 'imageAge') => {
    const { settings, action } = check(name);
    return { action, maxAge: settings.get('maxAge', defaults[name].maxAge, readPositiveDuration) };
  };
  // Read in schema order, so the first problem reported is the first in the file's usual layout.
  const nonEcr = actionOnly('nonEcr');
  const allowed = check('allowedRegistries');
  const allowedRegistries = {
    action: allowed.action,
    registries: allowed.settings.get(
      'registries',
      defaults.allowedRegistries.registries,
      listReader(readRegistry),
    ),
  };
  const digestCheck = check('digestRequired');
  const digestRequired = {
    action: digestCheck.action,
    acceptImmutableTags: digestCheck.settings.get(
      'acceptImmutableTags',
      defaults.digestRequired.acceptImmutableTags,
      readBoolean,
    ),
  };
  const imageExists = actionOnly('imageExists');
  const archived = actionOnly('archived');
  const scanComplete = actionOnly('scanComplete');
  const severityCheck = check('severity');
  const severity = {
    action: severityCheck.action,
    max: severityCheck.settings.get('max', defaults.severity.max, (value, path) =>
      readSeverityMax(value, path, defaults.severity.max),
    ),
  };
  const scanAge = withMaxAge('scanAge');
  const imageAge = withMaxAge('imageAge');
  const lifecycleCheck = check('lifecycleRisk');
  const lifecycleRisk = {
    action: lifecycleCheck.action,
    within: lifecycleCheck.settings.get('within', defaults.lifecycleRisk.within, readPositiveDuration),
  };
  return {
    nonEcr,
    allowedRegistries,
    digestRequired,
    imageExists,
    archived,
    scanComplete,
    severity,
    scanAge,
    imageAge,
    lifecycleRisk,
  };
}

const TOP_LEVEL_KEYS: readonly (keyof Config)[] = [
  'logLevel',
  'namespaces',
  'ecr',
  'inventory',
  'kubernetes',
  'lifecycle',
  'reports',
  'metrics',
  'leaderElection',
  'webhook',
  'policy',
];

/**
 * Checks `input` against SPEC section 2 and returns a complete Config (frozen by the caller).
 * Throws ConfigViolation for the first problem. `null` and `undefined` mean "no settings".
 * Defaults are used as they are: they are frozen, and so will the result be.
 */
export function validateConfig(input: unknown): Config {
  if (input === null || input === undefined) input = {};
  if (!isMapping(input)) violation([], `the configuration must be a mapping, not ${describe(input)}`);
  rejectUnknownKeys(input, [], TOP_LEVEL_KEYS);
  const root = sectionOf(input, []);
  const d = DEFAULT_CONFIG;
  const logLevel = root.get('logLevel', d.logLevel, enumReader(LOG_LEVELS));

  const namespacesIn = section(input, [], 'namespaces', Object.keys(d.namespaces));
  const namespaces = {
    include: namespacesIn.get('include', d.namespaces.include, readNamespaceList),
    exclude: namespacesIn.get('exclude', d.namespaces.exclude, readNamespaceList),
  };
  const included = new Set(namespaces.include);
  namespaces.exclude.forEach((name, index) => {
    if (included.has(name)) {
      violation(['namespaces', 'exclude', index], `${quote(name)} is also in namespaces.include`);
    }
  });

  const ecrIn = section(input, [], 'ecr', Object.keys(d.ecr));
  const ecr = {
    tagTTL: ecrIn.get('tagTTL', d.ecr.tagTTL, readTTL),
    detailTTL: ecrIn.get('detailTTL', d.ecr.detailTTL, readTTL),
    negativeTTL: ecrIn.get('negativeTTL', d.ecr.negativeTTL, readTTL),
    refreshInterval: ecrIn.get('refreshInterval', d.ecr.refreshInterval, readRefreshInterval),
    maxConcurrency: ecrIn.get('maxConcurrency', d.ecr.maxConcurrency, readMaxConcurrency),
    maxAttempts: ecrIn.get('maxAttempts', d.ecr.maxAttempts, readMaxAttempts),
    assumeRoles: ecrIn.get('assumeRoles', d.ecr.assumeRoles, readAssumeRoles),
    resolveWith: ecrIn.get(
      'resolveWith',
      d.ecr.resolveWith,
      enumReader(['DescribeImages', 'BatchGetImage'] as const),
    ),
    maxImageSeries: ecrIn.get('maxImageSeries', d.ecr.maxImageSeries, readNonNegativeInteger),
    followIndexes: ecrIn.get('followIndexes', d.ecr.followIndexes, readBoolean),
    staleIfError: ecrIn.get('staleIfError', d.ecr.staleIfError, readTTL),
  };

  const inventoryIn = section(input, [], 'inventory', Object.keys(d.inventory));
  const inventory = {
    enabled: inventoryIn.get('enabled', d.inventory.enabled, readBoolean),
    staleAfter: inventoryIn.get('staleAfter', d.inventory.staleAfter, readPositiveDuration),
  };

  const kubernetesIn = section(input, [], 'kubernetes', Object.keys(d.kubernetes));
  const kubernetes = {
    watchIdleTimeout: kubernetesIn.get(
      'watchIdleTimeout',
      d.kubernetes.watchIdleTimeout,
      readWatchIdleTimeout,
    ),
  };

  const lifecycleIn = section(input, [], 'lifecycle', Object.keys(d.lifecycle));
  const lifecycle = {
    enabled: lifecycleIn.get('enabled', d.lifecycle.enabled, readBoolean),
    refreshInterval: lifecycleIn.get(
      'refreshInterval',
      d.lifecycle.refreshInterval,
      readLifecycleRefreshInterval,
    ),
    keepAlive: lifecycleIn.get('keepAlive', d.lifecycle.keepAlive, readBoolean),
    keepAliveWithin: lifecycleIn.get('keepAliveWithin', d.lifecycle.keepAliveWithin, readPositiveDuration),
  };

  const reportsIn = section(input, [], 'reports', Object.keys(d.reports));
  const reports = {
    events: reportsIn.get('events', d.reports.events, readBoolean),
    openReports: reportsIn.get('openReports', d.reports.openReports, readBoolean),
  };

  const metricsIn = section(input, [], 'metrics', Object.keys(d.metrics));
  const metrics = {
    address: metricsIn.get('address', d.metrics.address, readAddress),
    port: metricsIn.get('port', d.metrics.port, readPort),
  };

  const leaderIn = section(input, [], 'leaderElection', Object.keys(d.leaderElection));
  const leaderElection = {
    enabled: leaderIn.get('enabled', d.leaderElection.enabled, readBoolean),
    leaseName: leaderIn.get('leaseName', d.leaderElection.leaseName, readLeaseName),
    namespace: leaderIn.get('namespace', d.leaderElection.namespace, readLeaderNamespace),
  };

  const webhookIn = section(input, [], 'webhook', Object.keys(d.webhook));
  const webhook = {
    enabled: webhookIn.get('enabled', d.webhook.enabled, readBoolean),
    address: webhookIn.get('address', d.webhook.address, readAddress),
    port: webhookIn.get('port', d.webhook.port, readPort),
    certFile: webhookIn.get('certFile', d.webhook.certFile, readFilePath),
    keyFile: webhookIn.get('keyFile', d.webhook.keyFile, readFilePath),
    deadline: webhookIn.get('deadline', d.webhook.deadline, readDeadline),
    kinds: webhookIn.get('kinds', d.webhook.kinds, readKinds),
    pinDigests: webhookIn.get('pinDigests', d.webhook.pinDigests, readBoolean),
    maxInFlight: webhookIn.get('maxInFlight', d.webhook.maxInFlight, readMaxInFlight),
    maxInFlightBytes: webhookIn.get('maxInFlightBytes', d.webhook.maxInFlightBytes, readMaxInFlightBytes),
  };
  if (webhook.enabled && listenersCollide(metrics, webhook)) {
    violation(['webhook', 'port'], `${webhook.port} is also metrics.port on an overlapping address`);
  }

  const policyIn = section(input, [], 'policy', Object.keys(d.policy));
  const policy = {
    mode: policyIn.get('mode', d.policy.mode, enumReader(['audit', 'warn', 'enforce'] as const)),
    onError: policyIn.get('onError', d.policy.onError, enumReader(['allow', 'deny'] as const)),
    exemptNamespaces: policyIn.get('exemptNamespaces', d.policy.exemptNamespaces, readNamespaceList),
    exemptImages: policyIn.get('exemptImages', d.policy.exemptImages, listReader(readImageGlob)),
    checks: readChecks(policyIn),
  };

  return {
    logLevel,
    namespaces,
    ecr,
    inventory,
    kubernetes,
    lifecycle,
    reports,
    metrics,
    leaderElection,
    webhook,
    policy,
  };
}

// Binding a wildcard address takes the port on every address of that family, and on Linux
// `::` also covers IPv4, so a wildcard collides with any address on the same port. Port 0 asks
// the OS for a free port and cannot collide.
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::']);
function listenersCollide(
  a: { address: string; port: number },
  b: { address: string; port: number },
): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  return a.address === b.address || WILDCARD_ADDRESSES.has(a.address) || WILDCARD_ADDRESSES.has(b.address);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object of another kind';
  return `a ${typeof value}`;
}
