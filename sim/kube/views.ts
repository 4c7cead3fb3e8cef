import type { ResourceDef } from './resources.ts';
import { type Stored, toStored, withTypeMeta } from './stored.ts';
import type { KubeObject } from './types.ts';

/**
 * Stored objects as one API shows them. Most resources are shown as stored; a resource served
 * from another's storage (events.k8s.io/v1 Events from core v1 storage, or a second version of a
 * custom resource) converts each object, once per stored version: the converted copy is cached
 * beside the stored one and shared by every list, get and watch that shows it.
 */

const converted = new WeakMap<ResourceDef, WeakMap<Stored, Stored>>();

export function present(def: ResourceDef, stored: Stored): Stored {
  const view = def.view;
  if (!view) return stored;
  let cache = converted.get(def);
  if (!cache) {
    cache = new WeakMap();
    converted.set(def, cache);
  }
  let out = cache.get(stored);
  if (!out) {
    out = toStored(withTypeMeta(view.toWire(stored.obj), def.kind, def.apiVersion), stored.rv);
    cache.set(stored, out);
  }
  return out;
}

/** An object not stored (a dry run's answer), as this API shows it. */
export function presentObject(def: ResourceDef, obj: KubeObject): KubeObject {
  return def.view ? withTypeMeta(def.view.toWire(obj), def.kind, def.apiVersion) : obj;
}
