import { deepFreeze } from './freeze.ts';
import type { Config } from './types.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MIB = 1024 * 1024;

/** Every default of SPEC section 2, durations in milliseconds. */
export const DEFAULT_CONFIG: Config = deepFreeze({
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
    staleIfError: 1 * HOUR,
  },
  inventory: { enabled: true, staleAfter: 90 * DAY },
  kubernetes: { watchIdleTimeout: 2 * MINUTE },
  lifecycle: { enabled: true, refreshInterval: 1 * HOUR, keepAlive: false, keepAliveWithin: 7 * DAY },
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
    maxInFlightBytes: 64 * MIB,
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
});

/** The configuration used when no file is given: SPEC section 2 as is. Deeply frozen. */
export function defaultConfig(): Config {
  return DEFAULT_CONFIG;
}
