import { WORKLOAD_KINDS, type WorkloadKind } from '../config/types.ts';
import type { GroupVersionKind } from './types.ts';

interface WorkloadShape {
  /** API group the kind is served from: a same-named kind of another group (a CRD) is not ours. */
  group: string;
  /** Where the pod spec sits in the object. */
  podSpecPath: readonly string[];
}

const POD_TEMPLATE_SPEC = ['spec', 'template', 'spec'] as const;

const WORKLOADS: Readonly<Record<WorkloadKind, WorkloadShape>> = {
  Pod: { group: '', podSpecPath: ['spec'] },
  Deployment: { group: 'apps', podSpecPath: POD_TEMPLATE_SPEC },
  StatefulSet: { group: 'apps', podSpecPath: POD_TEMPLATE_SPEC },
  DaemonSet: { group: 'apps', podSpecPath: POD_TEMPLATE_SPEC },
  ReplicaSet: { group: 'apps', podSpecPath: POD_TEMPLATE_SPEC },
  Job: { group: 'batch', podSpecPath: POD_TEMPLATE_SPEC },
  CronJob: { group: 'batch', podSpecPath: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
  ReplicationController: { group: '', podSpecPath: POD_TEMPLATE_SPEC },
};

/** The workload kind a request is about, or null for anything else (subresources' own kinds included). */
export function workloadKindOf(kind: GroupVersionKind): WorkloadKind | null {
  const name = kind.kind as WorkloadKind;
  if (!(WORKLOAD_KINDS as readonly string[]).includes(name)) return null;
  return WORKLOADS[name].group === kind.group ? name : null;
}

export function podSpecPathOf(kind: WorkloadKind): readonly string[] {
  return WORKLOADS[kind].podSpecPath;
}

/** The `kind` metric label: never a value taken from the request as is, so its cardinality is fixed. */
export function kindLabelOf(kind: GroupVersionKind | null): string {
  return (kind && workloadKindOf(kind)) ?? 'other';
}
