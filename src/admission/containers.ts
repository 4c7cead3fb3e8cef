import type { WorkloadKind } from '../config/types.ts';
import { isObject, Malformed, typeName } from './json-shape.ts';
import { podSpecPathOf } from './workloads.ts';

/** The pod spec lists that hold containers, in the order messages name them. */
export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
export type ContainerList = (typeof CONTAINER_LISTS)[number];

export interface ContainerImage {
  list: ContainerList;
  index: number;
  name: string;
  /** '' when the container names no image (a workload template may leave it to config management). */
  image: string;
}

export type Extracted = { ok: true; containers: ContainerImage[] } | { ok: false; message: string };

function optionalString(value: unknown, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new Malformed(`${path}: expected a string, got ${typeName(value)}`);
  return value;
}

/**
 * Every container of the object's pod spec (init, regular, ephemeral), with its image. A missing
 * spec or list means no containers (a ReplicationController's template is optional; a DELETE has no
 * object); a present one of the wrong type is a malformed request, never a crash.
 */
export function containersOf(object: unknown, kind: WorkloadKind, root: string): Extracted {
  try {
    if (object === null || object === undefined) return { ok: true, containers: [] };
    let node: unknown = object;
    let path = root;
    if (!isObject(node)) throw new Malformed(`${path}: expected an object, got ${typeName(node)}`);
    for (const key of podSpecPathOf(kind)) {
      node = (node as Record<string, unknown>)[key];
      path = `${path}.${key}`;
      if (node === undefined || node === null) return { ok: true, containers: [] };
      if (!isObject(node)) throw new Malformed(`${path}: expected an object, got ${typeName(node)}`);
    }
    const spec = node as Record<string, unknown>;
    const containers: ContainerImage[] = [];
    for (const list of CONTAINER_LISTS) {
      const items = spec[list];
      if (items === undefined || items === null) continue;
      if (!Array.isArray(items))
        throw new Malformed(`${path}.${list}: expected an array, got ${typeName(items)}`);
      items.forEach((item: unknown, index) => {
        const at = `${path}.${list}[${index}]`;
        if (!isObject(item)) throw new Malformed(`${at}: expected an object, got ${typeName(item)}`);
        containers.push({
          list,
          index,
          name: optionalString(item.name, `${at}.name`),
          image: optionalString(item.image, `${at}.image`),
        });
      });
    }
    return { ok: true, containers };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, message: err.message };
    throw err;
  }
}
