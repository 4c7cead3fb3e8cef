import type { LogLevel } from '../log.ts';

/** Durations are held as milliseconds after parsing (`5m` → 300000). */
export type Millis = number;

export type CheckAction = 'off' | 'warn' | 'deny';
export type PolicyMode = 'audit' | 'warn' | 'enforce';
export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' | 'UNDEFINED';
export const SEVERITIES: readonly Severity[] = [
  'CRITICAL',
  'HIGH',
  'MEDIUM',
  'LOW',
  'INFORMATIONAL',
  'UNDEFINED',
];

export type WorkloadKind =
  | 'Pod'
  | 'Deployment'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'ReplicaSet'
  | 'Job'
  | 'CronJob'
  | 'ReplicationController';
export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'ReplicationController',
];

export interface ChecksConfig {
  nonEcr: { action: CheckAction };
  allowedRegistries: { action: CheckAction; registries: string[] };
  /** acceptImmutableTags: a tag ECR keeps immutable (section 4, tag mutability) counts as pinned. */
  digestRequired: { action: CheckAction; acceptImmutableTags: boolean };
  imageExists: { action: CheckAction };
  archived: { action: CheckAction };
  scanComplete: { action: CheckAction };
  severity: { action: CheckAction; max: Partial<Record<Severity, number>> };
  scanAge: { action: CheckAction; maxAge: Millis };
  imageAge: { action: CheckAction; maxAge: Millis };
  /** The repository's lifecycle policy will expire or archive the image within `within`. */
  lifecycleRisk: { action: CheckAction; within: Millis };
}
/**
 * Every check, in the order the policy runs them and gives their messages: the one list the config
 * schema, the defaults and the policy chain are derived from.
 */
export const CHECK_NAMES = [
  'nonEcr',
  'allowedRegistries',
  'digestRequired',
  'imageExists',
  'archived',
  'scanComplete',
  'severity',
  'scanAge',
  'imageAge',
  'lifecycleRisk',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

// ChecksConfig must have exactly the listed checks: a check added to one and not the other fails here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const CHECKS_CONFIG_MATCHES_CHECK_NAMES: Same<keyof ChecksConfig, CheckName> = true;

/** The whole configuration (SPEC section 2), after defaults and validation. Deeply frozen. */
export interface Config {
  logLevel: LogLevel;
  namespaces: { include: string[]; exclude: string[] };
  ecr: {
    tagTTL: Millis;
    detailTTL: Millis;
    negativeTTL: Millis;
    refreshInterval: Millis;
    maxConcurrency: number;
    maxAttempts: number;
    assumeRoles: Record<string, string>;
    resolveWith: 'DescribeImages' | 'BatchGetImage';
    maxImageSeries: number;
    /** Read image indexes and take scan facts from their platform images. */
    followIndexes: boolean;
    /** How long past its TTL a known answer is still served while ECR fails. */
    staleIfError: Millis;
  };
  inventory: { enabled: boolean; staleAfter: Millis };
  kubernetes: { watchIdleTimeout: Millis };
  lifecycle: { enabled: boolean; refreshInterval: Millis; keepAlive: boolean; keepAliveWithin: Millis };
  reports: { events: boolean; openReports: boolean };
  metrics: { address: string; port: number };
  leaderElection: { enabled: boolean; leaseName: string; namespace: string };
  webhook: {
    enabled: boolean;
    address: string;
    port: number;
    certFile: string;
    keyFile: string;
    deadline: Millis;
    kinds: WorkloadKind[];
    pinDigests: boolean;
    /** Reviews handled at once; past it a review gets 429. */
    maxInFlight: number;
    /** Request bytes held at once; past it a review gets 429. */
    maxInFlightBytes: number;
  };
  policy: {
    mode: PolicyMode;
    onError: 'allow' | 'deny';
    exemptNamespaces: string[];
    exemptImages: string[];
    checks: ChecksConfig;
  };
}

/** A partial config, as a file or a test may give it (durations may still be strings). */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };
