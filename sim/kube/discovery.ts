import { GROUP_VERSIONS, type ResourceDef } from './resources.ts';

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
    ...(def.resource === 'pods' ? { categories: ['all'] } : {}),
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

function groupEntry(group: string, version: string): object {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

export function groupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: GROUP_VERSIONS.filter((g) => g.group !== '').map((g) => groupEntry(g.group, g.version)),
  };
}

export function group(name: string): object | undefined {
  const found = GROUP_VERSIONS.find((g) => g.group === name && name !== '');
  return found
    ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(found.group, found.version) }
    : undefined;
}

export function resourceList(groupName: string, version: string): object | undefined {
  const found = GROUP_VERSIONS.find((g) => g.group === groupName && g.version === version);
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
    ...(def.resource === 'pods' ? { categories: ['all'] } : {}),
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

/** `/api` (core) or `/apis` (named groups) as an APIGroupDiscoveryList. */
export function aggregated(core: boolean): object {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: GROUP_VERSIONS.filter((g) => (g.group === '') === core).map((g) => ({
      metadata: { ...(g.group ? { name: g.group } : {}), creationTimestamp: null },
      versions: [{ version: g.version, resources: g.resources.map(discoveryResource), freshness: 'Current' }],
    })),
  };
}
