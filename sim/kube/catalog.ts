import { type Clock, crdResource } from './crd.ts';
import { BUILTIN_RESOURCES, type ResourceDef, storageKey } from './resources.ts';

/** One group/version as discovery lists it. */
export interface GroupVersion {
  group: string;
  version: string;
  resources: ResourceDef[];
}

/** Kubernetes version priority (apimachinery's version.CompareKubeAwareVersionStrings): v1 > v1beta2 > v1beta1 > v1alpha1. */
function versionRank(version: string): [number, number, number] {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (!match) return [0, 0, 0];
  const stability = match[2] === undefined ? 3 : match[2] === 'beta' ? 2 : 1;
  return [stability, Number(match[1]), Number(match[3] ?? 0)];
}

export function compareVersions(a: string, b: string): number {
  const [sa, ma, na] = versionRank(a);
  const [sb, mb, nb] = versionRank(b);
  return sb - sa || mb - ma || nb - na || a.localeCompare(b);
}

/**
 * The resources this API server serves now: the built-ins, then whatever the installed
 * CustomResourceDefinitions define. Discovery, OpenAPI and routing read it; `revision` changes
 * whenever the set does, so documents built from it can be cached.
 */
export class Catalog {
  private defs: ResourceDef[];
  private version = 0;
  /** This server's CustomResourceDefinition resource. */
  readonly crds: ResourceDef;

  constructor(now: Clock) {
    this.crds = crdResource(now);
    this.defs = [...BUILTIN_RESOURCES, this.crds];
  }

  get revision(): number {
    return this.version;
  }

  all(): readonly ResourceDef[] {
    return this.defs;
  }

  find(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.defs.find((r) => r.group === group && r.version === version && r.resource === resource);
  }

  /** The resources of one CRD, if it is installed. */
  ofCrd(name: string): ResourceDef[] {
    return this.defs.filter((d) => d.crd === name);
  }

  /** Installs (or replaces) the resources of one CRD. */
  setCrd(name: string, defs: readonly ResourceDef[]): void {
    this.defs = [...this.defs.filter((d) => d.crd !== name), ...defs];
    this.version++;
  }

  removeCrd(name: string): ResourceDef[] {
    const removed = this.ofCrd(name);
    if (removed.length) {
      this.defs = this.defs.filter((d) => d.crd !== name);
      this.version++;
    }
    return removed;
  }

  /** One resource per storage, for operations on every stored object (a namespace's deletion). */
  storages(): ResourceDef[] {
    const seen = new Set<string>();
    return this.defs.filter((d) => {
      if (d.storage) return false;
      const key = storageKey(d);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /**
   * Served group/versions in discovery order: the core group, the built-in groups, then custom
   * groups by name, each group's versions by Kubernetes version priority (the preferred first).
   */
  groupVersions(): GroupVersion[] {
    const out: GroupVersion[] = [];
    const index = new Map<string, GroupVersion>();
    const builtinGroups = new Set(this.defs.filter((d) => !d.crd).map((d) => d.group));
    const ordered = [
      ...this.defs.filter((d) => !d.crd),
      ...this.defs.filter((d) => d.crd).sort((a, b) => a.group.localeCompare(b.group)),
    ];
    for (const def of ordered) {
      const key = `${def.group}/${def.version}`;
      let gv = index.get(key);
      if (!gv) {
        gv = { group: def.group, version: def.version, resources: [] };
        index.set(key, gv);
        out.push(gv);
      }
      gv.resources.push(def);
    }
    // Versions of one group sit together, best first; built-in groups keep their order.
    const groupOrder = [...new Set(out.map((gv) => gv.group))];
    return groupOrder.flatMap((group) => {
      const versions = out.filter((gv) => gv.group === group);
      if (!builtinGroups.has(group)) versions.sort((a, b) => compareVersions(a.version, b.version));
      for (const gv of versions) gv.resources.sort((a, b) => a.resource.localeCompare(b.resource));
      return versions;
    });
  }
}
