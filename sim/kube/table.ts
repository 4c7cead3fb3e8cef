import type { ListPage } from './list.ts';
import { AGE_COLUMN, age, type Column, column, humanDuration, NAME_COLUMN } from './printing.ts';
import { LEASES, NAMESPACES, PODS, type ResourceDef } from './resources.ts';
import type { Stored } from './stored.ts';
import type { ContainerStatusJson, KubeObject, LeaseJson, NamespaceJson, PodJson } from './types.ts';
import { present } from './views.ts';

/**
 * Server-side printing (meta.k8s.io/v1 Table), which kubectl requests for `get` without `-o`:
 * the columns and cell rules of the API server's printers for pods, namespaces and leases
 * (pkg/printers/internalversion/printers.go), so `kubectl get pods` reads as it does on a cluster.
 * Resources with a printer of their own (Events, custom resources) bring it in their definition.
 */

const COLUMNS = new Map<ResourceDef, Column[]>([
  [
    PODS,
    [
      NAME_COLUMN,
      column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'The aggregate status of the containers in this pod.'),
      column(
        'Restarts',
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      ),
      AGE_COLUMN,
      column('IP', 'IP address allocated to the pod.', 1),
      column('Node', 'NodeName indicates in which node this pod is scheduled.', 1),
      column('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node.', 1),
      column('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
    ],
  ],
  [NAMESPACES, [NAME_COLUMN, column('Status', 'The status of the namespace'), AGE_COLUMN]],
  [LEASES, [NAME_COLUMN, column('Holder', 'The holder of the lease'), AGE_COLUMN]],
]);

/** The Table version the Accept header asks for, or undefined when it does not ask for a Table. */
export function wantsTable(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  const clauses = (accept ?? '').split(',').map((c) => c.replace(/\s/g, ''));
  const tables = clauses.filter((c) => c.includes('as=Table') && c.includes('g=meta.k8s.io'));
  if (tables.some((c) => c.includes('v=v1;') || c.endsWith('v=v1'))) return 'v1';
  if (tables.some((c) => c.includes('v=v1beta1'))) return 'v1beta1';
  return undefined;
}

type State = {
  waiting?: { reason?: string };
  running?: object;
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
};

function stateOf(status: ContainerStatusJson): State {
  return (status.state ?? {}) as State;
}

/** The printer's STATUS and RESTARTS logic for a pod. */
function podCells(pod: PodJson, now: number): unknown[] {
  const status = pod.status ?? {};
  let reason = (status.reason as string | undefined) || status.phase || '';
  let restarts = 0;
  let readyContainers = 0;
  let lastRestart = 0;
  const conditions = (status.conditions ?? []) as Array<{ type: string; status: string; reason?: string }>;
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated'))
    reason = 'SchedulingGated';

  let initializing = false;
  const inits = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const container = inits[i]!;
    restarts += container.restartCount ?? 0;
    const state = stateOf(container);
    if (state.terminated && state.terminated.exitCode === 0) continue;
    if (state.terminated) {
      const t = state.terminated;
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
          ? `Init:Signal:${t.signal}`
          : `Init:ExitCode:${t.exitCode ?? 0}`;
    } else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${pod.spec.initContainers?.length ?? inits.length}`;
    }
    initializing = true;
    break;
  }
  const initialized = conditions.some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = 0;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i]!;
      restarts += container.restartCount ?? 0;
      const last = (container.lastState as State | undefined)?.terminated?.finishedAt;
      if (last) lastRestart = Math.max(lastRestart, Date.parse(last));
      const state = stateOf(container);
      if (state.waiting?.reason) reason = state.waiting.reason;
      else if (state.terminated?.reason) reason = state.terminated.reason;
      else if (state.terminated) {
        reason = state.terminated.signal
          ? `Signal:${state.terminated.signal}`
          : `ExitCode:${state.terminated.exitCode ?? 0}`;
      } else if (container.ready && state.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }
  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && !terminal) reason = 'Terminating';

  const restartText =
    restarts !== 0 && lastRestart > 0
      ? `${restarts} (${humanDuration(now - lastRestart)} ago)`
      : String(restarts);
  const gates = (pod.spec.readinessGates as Array<{ conditionType: string }> | undefined) ?? [];
  const gatesText = gates.length
    ? `${gates.filter((g) => conditions.some((c) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata.name,
    `${readyContainers}/${pod.spec.containers?.length ?? 0}`,
    reason,
    restartText,
    age(pod.metadata.creationTimestamp, now),
    (status.podIP as string | undefined) || '<none>',
    pod.spec.nodeName || '<none>',
    (status.nominatedNodeName as string | undefined) || '<none>',
    gatesText,
  ];
}

function cellsOf(def: ResourceDef, obj: KubeObject, now: number): unknown[] {
  if (def.printer) return def.printer.cells(obj, now);
  if (def === PODS) return podCells(obj as PodJson, now);
  if (def === NAMESPACES)
    return [
      obj.metadata.name,
      (obj as NamespaceJson).status?.phase ?? '',
      age(obj.metadata.creationTimestamp, now),
    ];
  if (def === LEASES)
    return [
      obj.metadata.name,
      (obj as LeaseJson).spec?.holderIdentity ?? '',
      age(obj.metadata.creationTimestamp, now),
    ];
  return [obj.metadata.name, age(obj.metadata.creationTimestamp, now)];
}

/** The object a row carries: `includeObject` Metadata (the default), Object, or None. */
function rowObject(def: ResourceDef, stored: Stored, includeObject: string, version: string): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return present(def, stored).obj;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: stored.obj.metadata,
  };
}

export interface TableOptions {
  version: 'v1' | 'v1beta1';
  query: URLSearchParams;
  now: number;
  /** Column definitions are left out, as on every watch event but the first. */
  noHeaders?: boolean;
}

export function toTable(
  def: ResourceDef,
  items: readonly Stored[],
  page: Pick<ListPage, 'rv' | 'continueToken' | 'remainingItemCount'>,
  options: TableOptions,
): object {
  const includeObject = options.query.get('includeObject') ?? 'Metadata';
  const metadata: Record<string, unknown> = { resourceVersion: String(page.rv) };
  if (page.continueToken) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${options.version}`,
    metadata,
    columnDefinitions: options.noHeaders
      ? null
      : (def.printer?.columns ?? COLUMNS.get(def) ?? [NAME_COLUMN, AGE_COLUMN]),
    rows: items.map((stored) => {
      const object = rowObject(def, stored, includeObject, options.version);
      return object === undefined
        ? { cells: cellsOf(def, stored.obj, options.now) }
        : { cells: cellsOf(def, stored.obj, options.now), object };
    }),
  };
}
