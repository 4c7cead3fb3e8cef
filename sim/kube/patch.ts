import { badRequest, StatusError } from './status.ts';

/**
 * The three patch formats the API server accepts for built-in types (server-side apply is not
 * simulated). Each takes the current object as plain JSON and returns a new one; the input is
 * never modified.
 */

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge recursively, null deletes, everything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value) as Json;
  }
  return result;
}

/** The 422 the API server answers with when a JSON patch cannot be applied. */
function unprocessable(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6902 on a deep copy of `target`. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('invalid JSON patch operation');
    }
    const op = raw as unknown as JsonPatchOp;
    switch (op.op) {
      case 'add':
        doc = setAt(doc, op.path, structuredClone(op.value), 'add');
        break;
      case 'replace':
        doc = setAt(doc, op.path, structuredClone(op.value), 'replace');
        break;
      case 'remove':
        doc = removeAt(doc, op.path);
        break;
      case 'copy':
        doc = setAt(doc, op.path, structuredClone(getAt(doc, fromOf(op))), 'add');
        break;
      case 'move': {
        const value = getAt(doc, fromOf(op));
        doc = setAt(removeAt(doc, fromOf(op)), op.path, value, 'add');
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) {
          throw unprocessable(`testing value ${op.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

function fromOf(op: JsonPatchOp): string {
  if (typeof op.from !== 'string') throw badRequest(`${op.op} operation missing from`);
  return op.from;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw unprocessable(`JSON pointer must start with '/': ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: unknown, path: string): unknown {
  let node = doc;
  for (const token of pointer(path)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length - 1, path)];
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return node;
}

function arrayIndex(token: string, max: number, path: string): number {
  if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) > max) {
    throw unprocessable(`doc is missing path: "${path}": unable to access invalid index: ${token}`);
  }
  return Number(token);
}

function parentOf(doc: unknown, path: string): { parent: unknown; last: string } {
  const tokens = pointer(path);
  const last = tokens.pop();
  if (last === undefined) return { parent: undefined, last: '' };
  return { parent: getAt(doc, tokens.length ? `/${tokens.map(escapeToken).join('/')}` : ''), last };
}

function escapeToken(t: string): string {
  return t.replace(/~/g, '~0').replace(/\//g, '~1');
}

function setAt(doc: unknown, path: string, value: unknown, mode: 'add' | 'replace'): unknown {
  if (path === '') return value;
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    if (mode === 'add') {
      const index = last === '-' ? parent.length : arrayIndex(last, parent.length, path);
      parent.splice(index, 0, value);
    } else {
      parent[arrayIndex(last, parent.length - 1, path)] = value;
    }
  } else if (isObject(parent)) {
    if (mode === 'replace' && !Object.hasOwn(parent, last)) {
      throw unprocessable(`doc is missing key: ${path}: missing value`);
    }
    parent[last] = value as Json;
  } else {
    throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return doc;
}

function removeAt(doc: unknown, path: string): unknown {
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length - 1, path), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw unprocessable(`doc is missing path: "${path}": missing value`);
  return doc;
}

/**
 * How one list field merges under a strategic merge patch: by a key field (containers by name),
 * as a set of primitives (finalizers), or, when absent from the schema, replaced whole.
 */
export interface ListStrategy {
  mergeKey?: string;
  primitiveSet?: boolean;
}

/** List strategies by dotted path, `[]` standing for "each element of the list". */
export type PatchSchema = Readonly<Record<string, ListStrategy>>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/**
 * Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) for the directives clients
 * send in practice: `$patch: replace|delete|merge` on maps and list elements, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` (used to order merged lists).
 */
export function strategicMergePatch(target: unknown, patch: unknown, schema: PatchSchema): unknown {
  if (!isObject(patch)) throw badRequest('strategic merge patch body must be a JSON object');
  return mergeMap(isObject(target) ? target : {}, patch, '', schema) ?? {};
}

function mergeMap(
  original: JsonObject,
  patch: JsonObject,
  path: string,
  schema: PatchSchema,
): JsonObject | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return cleanDirectives(patch) as JsonObject;
  if (directive !== undefined && directive !== 'merge')
    throw badRequest(`Unknown patch type: ${String(directive)}`);

  const result: JsonObject = { ...original };
  const orders: Array<[string, Json]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ELEMENT_ORDER)) {
      orders.push([key.slice(SET_ELEMENT_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      const drop = new Set((Array.isArray(value) ? value : []).map((v) => JSON.stringify(v)));
      const current = result[field];
      if (Array.isArray(current)) result[field] = current.filter((v) => !drop.has(JSON.stringify(v)));
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      const merged = mergeMap(
        isObject(result[key]) ? (result[key] as JsonObject) : {},
        value,
        childPath,
        schema,
      );
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, childPath, schema);
    } else {
      result[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list) && Array.isArray(order)) {
      result[field] = applyOrder(list, order, schema[path ? `${path}.${field}` : field]);
    }
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}

function mergeList(original: Json | undefined, patch: Json[], path: string, schema: PatchSchema): Json[] {
  const strategy = schema[path];
  const current = Array.isArray(original) ? original : [];
  if (strategy?.primitiveSet) {
    const seen = new Set(current.map((v) => JSON.stringify(v)));
    return [...current, ...patch.filter((v) => !seen.has(JSON.stringify(v)))];
  }
  const mergeKey = strategy?.mergeKey;
  if (!mergeKey) return cleanDirectives(patch) as Json[];
  if (patch.some((el) => isObject(el) && el[DIRECTIVE] === 'replace')) {
    return cleanDirectives(patch.filter((el) => !(isObject(el) && el[DIRECTIVE] === 'replace'))) as Json[];
  }
  const result = [...current];
  for (const element of patch) {
    if (!isObject(element)) throw badRequest(`merging an object in json but data type is not a map: ${path}`);
    const keyValue = element[mergeKey];
    if (keyValue === undefined)
      throw badRequest(`map: ${JSON.stringify(element)} does not contain declared merge key: ${mergeKey}`);
    const index = result.findIndex((el) => isObject(el) && el[mergeKey] === keyValue);
    if (element[DIRECTIVE] === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = mergeMap(result[index] as JsonObject, element, `${path}[]`, schema);
      if (merged === undefined) result.splice(index, 1);
      else result[index] = merged;
    } else {
      result.push(cleanDirectives(element));
    }
  }
  return result;
}

/** Orders merged elements as `$setElementOrder` lists them; unlisted elements keep their place at the end. */
function applyOrder(list: Json[], order: Json[], strategy: ListStrategy | undefined): Json[] {
  const keyOf = (el: Json): string =>
    JSON.stringify(strategy?.mergeKey && isObject(el) ? el[strategy.mergeKey] : el);
  const rank = new Map(order.map((el, i) => [keyOf(el), i]));
  const last = order.length;
  return list
    .map((el, i) => ({ el, i, r: rank.get(keyOf(el)) ?? last }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.el);
}

function cleanDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(cleanDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith('$')) continue;
    out[key] = cleanDirectives(child);
  }
  return out;
}
