import { createHash } from 'node:crypto';
import { SERVER_VERSION } from './discovery.ts';
import type { Catalog } from './catalog.ts';
import type { ResourceDef } from './resources.ts';

/**
 * The OpenAPI v3 documents kubectl consults before it writes: for `create`/`apply` it looks for
 * the kind's PATCH operation and, when that operation lists the `fieldValidation` query
 * parameter, leaves validation to the server instead of downloading schemas
 * (cli-runtime's QueryParamVerifierV3). Only operations are described, no schemas: kubectl then
 * computes `apply` patches from its built-in types, as it does for any built-in kind.
 */

const COMMON_WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function operation(def: ResourceDef, action: string): object {
  return {
    operationId: `${action}${def.kind}`,
    parameters: COMMON_WRITE_PARAMS,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: def.group, version: def.version, kind: def.kind },
  };
}

function basePath(def: ResourceDef): string {
  const root = def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
  return def.namespaced ? `${root}/namespaces/{namespace}/${def.resource}` : `${root}/${def.resource}`;
}

function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function document(resources: readonly ResourceDef[]): object {
  const paths: Record<string, object> = {};
  for (const def of resources) {
    paths[basePath(def)] = { post: operation(def, 'post') };
    paths[`${basePath(def)}/{name}`] = { put: operation(def, 'put'), patch: operation(def, 'patch') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion }, paths };
}

/** The hash clients cache a group-version document under, as the real discovery root publishes. */
function hashOf(text: string): string {
  return createHash('sha512').update(text).digest('hex').toUpperCase();
}

/** The documents of the resources served now, rebuilt when a CRD comes or goes. */
export class OpenApiDocuments {
  private readonly catalog: Catalog;
  private revision = -1;
  private documents = new Map<string, string>();

  constructor(catalog: Catalog) {
    this.catalog = catalog;
  }

  private current(): Map<string, string> {
    if (this.revision !== this.catalog.revision) {
      this.documents = new Map(
        this.catalog
          .groupVersions()
          .map((gv) => [groupVersionPath(gv.group, gv.version), JSON.stringify(document(gv.resources))]),
      );
      this.revision = this.catalog.revision;
    }
    return this.documents;
  }

  root(): object {
    const paths: Record<string, object> = {};
    for (const [path, text] of this.current())
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(text)}` };
    return { paths };
  }

  /** The document for `/openapi/v3/<group-version path>`, already encoded. */
  document(path: string): string | undefined {
    return this.current().get(path);
  }
}
