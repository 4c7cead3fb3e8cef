import type { GroupVersion } from './catalog.ts';
import type { ResourceDef } from './resources.ts';

/**
 * Discovery documents: the legacy per-group-version form and the aggregated form
 * (apidiscovery.k8s.io/v2) that kubectl asks for first and that a 1.32 API server serves.
 */

/** The version kubectl and clients are told. gcloud's kubectl dispatcher also picks its binary by it. */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
  gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** True when the Accept header asks for aggregated discovery (v2 or v2beta1). */
export function wantsAggregated(accept: string | undefined): boolean {
  return /g=apidiscovery\.k8s\.io/.test(accept ?? '') && /as=APIGroupDiscoveryList/.test(accept ?? '');
}

const SUBRESOURCE_VERBS: Readonly<Record<string, readonly string[]>> = {
  status: ['get', 'patch', 'update'],
  ephemeralcontainers: ['get', 'patch', 'update'],
  finalize: ['update'],
};

function apiResources(def: ResourceDef): object[] {
  const main = {
    name: def.resource,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: def.verbs,
    ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
    ...(def.categories.length ? { categories: def.categories } : {}),
  };
  const subs = def.strategy.subresources.map((sub) => ({
    name: `${def.resource}/${sub}`,
    singularName: '',
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: SUBRESOURCE_VERBS[sub] ?? ['get'],
  }));
  return [main, ...subs];
}

export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** A group's versions, the preferred (first) one also as preferredVersion. */
function groupEntry(served: readonly GroupVersion[], group: string): object | undefined {
  const versions = served
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  if (versions.length === 0) return undefined;
  return { name: group, versions, preferredVersion: versions[0] };
}

function namedGroups(served: readonly GroupVersion[]): string[] {
  return [...new Set(served.map((gv) => gv.group).filter((g) => g !== ''))];
}

export function groupList(served: readonly GroupVersion[]): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: namedGroups(served).map((g) => groupEntry(served, g)),
  };
}

export function group(served: readonly GroupVersion[], name: string): object | undefined {
  const entry = name === '' ? undefined : groupEntry(served, name);
  return entry ? { kind: 'APIGroup', apiVersion: 'v1', ...entry } : undefined;
}

export function resourceList(
  served: readonly GroupVersion[],
  groupName: string,
  version: string,
): object | undefined {
  const found = served.find((g) => g.group === groupName && g.version === version);
  if (!found) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources: found.resources.flatMap(apiResources),
  };
}

function discoveryResource(def: ResourceDef): object {
  const responseKind = { group: def.group, version: def.version, kind: def.kind };
  return {
    resource: def.resource,
    responseKind,
    scope: def.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: def.singular,
    verbs: def.verbs,
    ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
    ...(def.categories.length ? { categories: def.categories } : {}),
    ...(def.strategy.subresources.length
      ? {
          subresources: def.strategy.subresources.map((sub) => ({
            subresource: sub,
            responseKind,
            verbs: SUBRESOURCE_VERBS[sub] ?? ['get'],
          })),
        }
      : {}),
  };
}

/** `/api` (core) or `/apis` (named groups) as an APIGroupDiscoveryList, versions grouped under their group. */
export function aggregated(served: readonly GroupVersion[], core: boolean): object {
  const groups = core ? [''] : namedGroups(served);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { ...(group ? { name: group } : {}), creationTimestamp: null },
      versions: served
        .filter((gv) => gv.group === group)
        .map((gv) => ({
          version: gv.version,
          resources: gv.resources.map(discoveryResource),
          freshness: 'Current',
        })),
    })),
  };
}
