import {
  coreEventFields,
  coreEventStrategy,
  EVENT_PATCH_SCHEMA,
  eventPrinter,
  eventsV1Fields,
  eventsV1Strategy,
  eventsV1View,
} from './event-strategy.ts';
import { leaseFields, leaseStrategy } from './lease-strategy.ts';
import { namespaceFields, namespaceStrategy } from './namespace-strategy.ts';
import { PATCH_TYPES, type PatchSchema, type PatchType } from './patch.ts';
import { podFields, podPatchSchema, podStrategy } from './pod-strategy.ts';
import type { Printer } from './printing.ts';
import type { FieldGetter } from './selectors.ts';
import type { ResourceRef } from './status.ts';
import { typePrefixOf } from './stored.ts';
import type { Strategy } from './strategy.ts';
import type { KubeObject } from './types.ts';

/**
 * How one API's wire form of an object differs from the form it is stored in, for resources
 * served by two APIs from one storage (Events: stored as core v1, also served as
 * events.k8s.io/v1) or by several versions of a custom resource.
 */
export interface ViewConversion {
  /** The stored object as this API shows it (a new object; the input is frozen). */
  toWire(stored: KubeObject): KubeObject;
  /** A decoded request body of this API as it is stored; may modify and return its input. */
  fromWire(wire: KubeObject): KubeObject;
}

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
  /** Discovery categories (`all` for pods, so `kubectl get all` includes them). */
  readonly categories: readonly string[];
  /** Field selectors this API accepts, each reading the stored form. */
  readonly fields: Readonly<Record<string, FieldGetter>>;
  readonly strategy: Strategy;
  readonly patchSchema: PatchSchema;
  /** Patch content types accepted: custom resources take no strategic merge patch. */
  readonly patchTypes: readonly PatchType[];
  /** Server-side printing when the resource has its own (the built-ins here are in table.ts). */
  readonly printer?: Printer;
  /**
   * The resource whose storage this one is served from, when it is another (events.k8s.io/v1
   * Events are core v1 Events in etcd); `view` then converts between the two forms.
   */
  readonly storage?: ResourceDef;
  readonly view?: ViewConversion;
  /** The CustomResourceDefinition that defines this resource, for custom resources. */
  readonly crd?: string;
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

export type ResourceInput = Omit<
  ResourceDef,
  'apiVersion' | 'listKind' | 'typePrefix' | 'verbs' | 'categories' | 'patchTypes'
> & {
  verbs?: readonly string[];
  categories?: readonly string[];
  patchTypes?: readonly PatchType[];
  listKind?: string;
};

export function define(def: ResourceInput): ResourceDef {
  const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
  return {
    ...def,
    apiVersion,
    listKind: def.listKind ?? `${def.kind}List`,
    verbs: def.verbs ?? NAMESPACED_VERBS,
    categories: def.categories ?? [],
    patchTypes: def.patchTypes ?? PATCH_TYPES,
    typePrefix: typePrefixOf(def.kind, apiVersion),
  };
}

/** The resource whose table holds this one's objects. */
export function storageOf(def: ResourceDef): ResourceDef {
  return def.storage ?? def;
}

/** The name of that storage, `events` or `reports.openreports.io`: one table and one watch fan-out each. */
export function storageKey(def: ResourceDef): string {
  const storage = storageOf(def);
  return storage.group ? `${storage.resource}.${storage.group}` : storage.resource;
}

export const PODS = define({
  group: '',
  version: 'v1',
  resource: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
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

/**
 * Core v1 Events: what `kubectl describe` and `kubectl get events` read
 * (pkg/registry/core/event). Events are served by two APIs from this one storage.
 */
export const EVENTS = define({
  group: '',
  version: 'v1',
  resource: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  fields: coreEventFields,
  strategy: coreEventStrategy,
  patchSchema: EVENT_PATCH_SCHEMA,
  printer: eventPrinter,
  bookmarkBody:
    '"involvedObject":{},"source":{},"firstTimestamp":null,"lastTimestamp":null,"eventTime":null,"reportingComponent":"","reportingInstance":""',
});

/** events.k8s.io/v1 Events, the API event recorders write today: the same objects as EVENTS. */
export const EVENTS_V1 = define({
  group: 'events.k8s.io',
  version: 'v1',
  resource: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  fields: eventsV1Fields,
  strategy: eventsV1Strategy,
  patchSchema: EVENT_PATCH_SCHEMA,
  printer: eventPrinter,
  storage: EVENTS,
  view: eventsV1View,
  bookmarkBody:
    '"eventTime":null,"regarding":{},"deprecatedSource":{},"deprecatedFirstTimestamp":null,"deprecatedLastTimestamp":null',
});

/** The built-in resources, in the order discovery lists them within their group. */
export const BUILTIN_RESOURCES: readonly ResourceDef[] = [EVENTS, NAMESPACES, PODS, EVENTS_V1, LEASES];

/** The storage key: `namespace/name` for namespaced resources, `name` otherwise, ordered as etcd orders them. */
export function keyOf(def: ResourceDef, namespace: string | undefined, name: string): string {
  return def.namespaced ? `${namespace}/${name}` : name;
}

/** The key range a list scans: one namespace, or the whole resource. */
export function scopePrefix(def: ResourceDef, namespace: string | undefined): string {
  return def.namespaced && namespace ? `${namespace}/` : '';
}

export function bookmarkJson(def: ResourceDef, rv: number, annotations?: Record<string, string>): string {
  // An unstructured object (a custom resource) has no creationTimestamp field until one is set.
  const created = def.crd ? '' : ',"creationTimestamp":null';
  const meta = annotations
    ? `{"resourceVersion":"${rv}"${created},"annotations":${JSON.stringify(annotations)}}`
    : `{"resourceVersion":"${rv}"${created}}`;
  const body = def.bookmarkBody ? `,${def.bookmarkBody}` : '';
  return `${def.typePrefix}"metadata":${meta}${body}}`;
}
