import { DEFAULT_CONFIG } from './defaults.ts';
import { formatDuration } from './duration.ts';
import { formatSize } from './size.ts';
import { type Config, SEVERITIES } from './types.ts';

/** A Config in the file's own form: plain data, durations as strings such as `5m`. */
export type ConfigDocument = { [key: string]: unknown };

/**
 * The inverse of parseConfig: `parseConfig(toConfigDocument(config))` equals `config`. For
 * logging the effective configuration at start and printing it as YAML, where `300000` would
 * say less than `5m`.
 */
export function toConfigDocument(config: Config): ConfigDocument {
  const d = formatDuration;
  const { ecr, inventory, kubernetes, lifecycle, webhook, policy } = config;
  const { checks } = policy;
  return {
    logLevel: config.logLevel,
    namespaces: { include: [...config.namespaces.include], exclude: [...config.namespaces.exclude] },
    ecr: {
      tagTTL: d(ecr.tagTTL),
      detailTTL: d(ecr.detailTTL),
      negativeTTL: d(ecr.negativeTTL),
      refreshInterval: d(ecr.refreshInterval),
      maxConcurrency: ecr.maxConcurrency,
      maxAttempts: ecr.maxAttempts,
      assumeRoles: { ...ecr.assumeRoles },
      resolveWith: ecr.resolveWith,
      maxImageSeries: ecr.maxImageSeries,
      followIndexes: ecr.followIndexes,
      staleIfError: d(ecr.staleIfError),
    },
    inventory: { enabled: inventory.enabled, staleAfter: d(inventory.staleAfter) },
    kubernetes: { watchIdleTimeout: d(kubernetes.watchIdleTimeout) },
    lifecycle: {
      enabled: lifecycle.enabled,
      refreshInterval: d(lifecycle.refreshInterval),
      keepAlive: lifecycle.keepAlive,
      keepAliveWithin: d(lifecycle.keepAliveWithin),
    },
    reports: { ...config.reports },
    metrics: { ...config.metrics },
    leaderElection: { ...config.leaderElection },
    webhook: {
      ...webhook,
      deadline: d(webhook.deadline),
      kinds: [...webhook.kinds],
      maxInFlightBytes: formatSize(webhook.maxInFlightBytes),
    },
    policy: {
      mode: policy.mode,
      onError: policy.onError,
      exemptNamespaces: [...policy.exemptNamespaces],
      exemptImages: [...policy.exemptImages],
      checks: {
        nonEcr: { ...checks.nonEcr },
        allowedRegistries: {
          action: checks.allowedRegistries.action,
          registries: [...checks.allowedRegistries.registries],
        },
        digestRequired: { ...checks.digestRequired },
        imageExists: { ...checks.imageExists },
        archived: { ...checks.archived },
        scanComplete: { ...checks.scanComplete },
        // A default limit that was lifted is written as null: read back, a missing key would
        // take the default again, since max merges per severity over the defaults.
        severity: { action: checks.severity.action, max: severityMaxDocument(checks.severity.max) },
        scanAge: { action: checks.scanAge.action, maxAge: d(checks.scanAge.maxAge) },
        imageAge: { action: checks.imageAge.action, maxAge: d(checks.imageAge.maxAge) },
        lifecycleRisk: { action: checks.lifecycleRisk.action, within: d(checks.lifecycleRisk.within) },
      },
    },
  };
}

function severityMaxDocument(max: Config['policy']['checks']['severity']['max']): ConfigDocument {
  const defaults = DEFAULT_CONFIG.policy.checks.severity.max;
  const document: ConfigDocument = {};
  for (const severity of SEVERITIES) {
    const limit = max[severity];
    if (limit !== undefined) document[severity] = limit;
    else if (defaults[severity] !== undefined) document[severity] = null;
  }
  return document;
}
