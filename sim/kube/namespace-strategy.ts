import { keepSystemMetadata, type Strategy, validateMetadata } from './strategy.ts';
import type { KubeObject, NamespaceJson } from './types.ts';

/**
 * Namespace rules from pkg/registry/core/namespace: names are DNS labels, the name is mirrored
 * into the `kubernetes.io/metadata.name` label, and the phase is the server's to set.
 */

const NAME_LABEL = 'kubernetes.io/metadata.name';

function nsOf(obj: KubeObject): NamespaceJson {
  return obj as NamespaceJson;
}

function labelWithName(ns: NamespaceJson): void {
  if (ns.metadata.name) ns.metadata.labels = { ...ns.metadata.labels, [NAME_LABEL]: ns.metadata.name };
}

export const namespaceStrategy: Strategy = {
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  // A namespace is deleted in phases: the answer is the namespace as it starts terminating.
  returnDeletedObject: true,
  subresources: ['status', 'finalize'],

  decode() {},

  applyDefaults(obj) {
    labelWithName(nsOf(obj));
  },

  prepareForCreate(obj) {
    const ns = nsOf(obj);
    ns.spec = { finalizers: ['kubernetes'] };
    ns.status = { phase: 'Active' };
  },

  validate(obj) {
    return validateMetadata(obj, true);
  },

  prepareForUpdate(next, prev, subresource) {
    const ns = nsOf(next);
    const old = nsOf(prev);
    if (subresource === 'status') {
      ns.spec = structuredClone(old.spec);
    } else if (subresource === 'finalize') {
      ns.status = structuredClone(old.status);
    } else {
      ns.spec = structuredClone(old.spec);
      ns.status = structuredClone(old.status);
    }
    return ns;
  },

  validateUpdate(next, prev) {
    return [...keepSystemMetadata(next, prev), ...validateMetadata(next, true)];
  },
};

export const namespaceFields: Readonly<Record<string, (obj: KubeObject) => string>> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'status.phase': (o) => String(nsOf(o).status?.phase ?? ''),
};
