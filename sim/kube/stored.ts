import type { KubeObject } from './types.ts';

/**
 * One stored version of an object: the object itself (deep-frozen, because the same instance is
 * shared by the store, the watch history and snapshots handed to callers) and its JSON, encoded
 * once so that lists and watch fan-out copy strings instead of re-serialising per client.
 */
export interface Stored {
  readonly obj: KubeObject;
  readonly json: string;
  readonly rv: number;
}

/** `obj` must already carry kind and apiVersion as its first two fields (see `withTypeMeta`). */
export function toStored(obj: KubeObject, rv: number): Stored {
  deepFreeze(obj);
  return { obj, json: JSON.stringify(obj), rv };
}

/** A copy of `obj` whose first fields are kind and apiVersion, the order the API server writes. */
export function withTypeMeta(obj: KubeObject, kind: string, apiVersion: string): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return { kind, apiVersion, ...rest } as KubeObject;
}

/**
 * The JSON of a list item. Typed lists from the API server carry no kind/apiVersion on their
 * items, so the type prefix of the stored JSON is cut off.
 */
export function itemJson(stored: Stored, typePrefix: string): string {
  return stored.json.startsWith(typePrefix) ? `{${stored.json.slice(typePrefix.length)}` : stored.json;
}

/** `{"kind":"Pod","apiVersion":"v1",` — what `itemJson` strips. */
export function typePrefixOf(kind: string, apiVersion: string): string {
  return `${JSON.stringify({ kind, apiVersion }).slice(0, -1)},`;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A mutable deep copy of a stored object, for building its next version. */
export function thaw<T extends KubeObject>(obj: T): T {
  return structuredClone(obj) as T;
}
