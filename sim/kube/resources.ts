import { leaseFields, leaseStrategy } from './lease-strategy.ts';
import { namespaceFields, namespaceStrategy } from './namespace-strategy.ts';
import type { PatchSchema } from './patch.ts';
import { podFields, podPatchSchema, podStrategy } from './pod-strategy.ts';
import type { FieldGetter } from './selectors.ts';
import type { ResourceRef } from './status.ts';
import { typePrefixOf } from './stored.ts';
import type { Strategy } from './strategy.ts';

/** Everything the simulator knows about one served resource type. */
export interface ResourceDef extends ResourceRef {
  readonly group: string;
  readonly version: string;
  /** `v1` for the core group, `group/version` otherwise. */
  readonly apiVersion: string;
  /** The plural, as in URLs. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
  readonly fields: Readonly<Record<string, FieldGetter>>;
  readonly strategy: Strategy;
  readonly patchSchema: PatchSchema;
  /** The start of this kind's stored JSON, cut from list items (see `itemJson`). */
  readonly typePrefix: string;
  /**
   * The object a BOOKMARK event carries: an empty object of the kind with only the resourceVersion
   * set, serialised the way the Go types of 1.32 write an empty value (creationTimestamp null,
   * empty spec/status, a Pod's containers null).
   */
  readonly bookmarkBody: string;
}

const NAMESPACED_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function define(
  def: Omit<ResourceDef, 'apiVersion' | 'listKind' | 'typePrefix' | 'verbs'> & { verbs?: readonly string[] },
): ResourceDef {
  const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
  return {
    ...def,
    apiVersion,
    listKind: `${def.kind}List`,
    verbs: def.verbs ?? NAMESPACED_VERBS,
    typePrefix: typePrefixOf(def.kind, apiVersion),
  };
}

export const PODS = define({
  group: '',
  version: 'v1',
  resource: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  shortNames: ['po'],
  fields: podFields,
  strategy: podStrategy,
  patchSchema: podPatchSchema,
  bookmarkBody: '"spec":{"containers":null},"status":{}',
});

export const NAMESPACES = define({
  group: '',
  version: 'v1',
  resource: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  fields: namespaceFields,
  strategy: namespaceStrategy,
  patchSchema: { 'metadata.finalizers': { primitiveSet: true } },
  bookmarkBody: '"spec":{},"status":{}',
});

export const LEASES = define({
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  singular: 'lease',
  kind: 'Lease',
  namespaced: true,
  shortNames: [],
  fields: leaseFields,
  strategy: leaseStrategy,
  patchSchema: { 'metadata.finalizers': { primitiveSet: true } },
  bookmarkBody: '"spec":{}',
});

export const RESOURCES: readonly ResourceDef[] = [PODS, NAMESPACES, LEASES];

/** The served group/versions with their resources, in discovery order. */
export const GROUP_VERSIONS: ReadonlyArray<{ group: string; version: string; resources: ResourceDef[] }> = [
  { group: '', version: 'v1', resources: [NAMESPACES, PODS] },
  { group: 'coordination.k8s.io', version: 'v1', resources: [LEASES] },
];

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/** The storage key: `namespace/name` for namespaced resources, `name` otherwise, ordered as etcd orders them. */
export function keyOf(def: ResourceDef, namespace: string | undefined, name: string): string {
  return def.namespaced ? `${namespace}/${name}` : name;
}

/** The key range a list scans: one namespace, or the whole resource. */
export function scopePrefix(def: ResourceDef, namespace: string | undefined): string {
  return def.namespaced && namespace ? `${namespace}/` : '';
}

export function bookmarkJson(def: ResourceDef, rv: number, annotations?: Record<string, string>): string {
  const meta = annotations
    ? `{"resourceVersion":"${rv}","creationTimestamp":null,"annotations":${JSON.stringify(annotations)}}`
    : `{"resourceVersion":"${rv}","creationTimestamp":null}`;
  return `${def.typePrefix}"metadata":${meta},${def.bookmarkBody}}`;
}
