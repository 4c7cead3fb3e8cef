import type { KubeConfig } from '@kubernetes/client-node';
import type { Core } from '../app.ts';
import type { Config } from '../config/types.ts';
import { Inventory } from '../inventory/inventory.ts';
import { NamespaceScope } from '../inventory/scope.ts';
import { PodWatcher } from '../kube/pod-watcher.ts';
import type { Logger } from '../log.ts';
import { assessmentToJson, type ImageJson } from '../output/json.ts';
import { shortDigest } from '../output/table.ts';
import { renderAssessments } from './check.ts';

export interface ReportOptions {
  /** One namespace, or null for every namespace in scope (-A). */
  namespace: string | null;
  output: 'table' | 'json';
  failOn: 'deny' | 'warn' | null;
}

/** `report -o json` element: section 7's image element plus where it runs (SPEC section 7). */
export interface ContainerJson extends ImageJson {
  namespace: string;
  pod: string;
  container: string;
  containerType: 'init' | 'regular' | 'ephemeral';
  runningDigest: string | null;
  drift: boolean;
  stale: boolean;
}

/**
 * `ecr-warden report`: one list of the pods in scope (the same paginated list the controller makes),
 * every image resolved through the same resolver and judged by the same policy, then printed.
 * `--fail-on deny` exits 1 when any container would be denied under enforce — the point of a report
 * is to see that before turning enforcement on — and `--fail-on warn` also on warnings.
 */
export async function runReport(
  config: Config,
  core: Core,
  kubeConfig: KubeConfig,
  options: ReportOptions,
  out: NodeJS.WritableStream,
  log: Logger,
): Promise<number> {
  const scope = options.namespace
    ? NamespaceScope.only(options.namespace)
    : new NamespaceScope(config.namespaces);
  const inventory = new Inventory({
    config,
    scope,
    resolver: core.resolver,
    assessor: core.assessor,
    log,
    allFacts: true,
  });
  const watcher = new PodWatcher({
    kubeConfig,
    namespaces: scope.include,
    fieldSelector: scope.fieldSelector,
    idleTimeoutMs: config.kubernetes.watchIdleTimeout,
    sink: inventory,
    log,
  });
  const listed = watcher.listOnce();
  await listed;
  await inventory.settled();
  const rows = inventory.containers();

  if (options.output === 'json') {
    const json: ContainerJson[] = rows.map((row) => ({
      namespace: row.namespace,
      pod: row.pod,
      container: row.container.name,
      containerType: row.container.kind,
      ...assessmentToJson(row.assessment),
      runningDigest: row.runningDigest,
      drift: row.drift,
      stale: row.stale,
    }));
    out.write(`${JSON.stringify(json, null, 2)}\n`);
  } else if (rows.length === 0) {
    out.write(`no pods found${options.namespace ? ` in namespace ${options.namespace}` : ''}\n`);
  } else {
    const text = renderAssessments(
      rows.map((r) => r.assessment),
      {
        header: ['NAMESPACE', 'POD', 'CONTAINER'],
        cells: (i) => {
          const r = rows[i]!;
          return [
            r.namespace,
            r.pod,
            r.container.kind === 'regular' ? r.container.name : `${r.container.name} (${r.container.kind})`,
          ];
        },
      },
      {
        header: ['RUNNING', 'DRIFT', 'STALE'],
        cells: (i) => {
          const r = rows[i]!;
          return [shortDigest(r.runningDigest), r.drift ? 'yes' : '-', r.stale ? 'yes' : '-'];
        },
      },
      'container',
    );
    out.write(`${text}\n`);
  }
  const worst = rows.map((r) => r.assessment.evaluation.enforcedVerdict);
  if (options.failOn === 'deny' && worst.includes('deny')) return 1;
  if (options.failOn === 'warn' && (worst.includes('deny') || worst.includes('warn'))) return 1;
  return 0;
}
