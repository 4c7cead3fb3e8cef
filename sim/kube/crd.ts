import { AGE_COLUMN, age, type Column, NAME_COLUMN, type Printer } from './printing.ts';
import { define, type ResourceDef } from './resources.ts';
import { applyDefaults, type JsonSchema, prune, validate } from './schema.ts';
import type { FieldGetter } from './selectors.ts';
import { thaw } from './stored.ts';
import {
  canonical,
  fieldInvalid,
  fieldRequired,
  isPlainObject,
  keepSystemMetadata,
  type Strategy,
  validateMetadata,
} from './strategy.ts';
import type { KubeObject, StatusCause } from './types.ts';
import { decodeFailure } from './wire.ts';

/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1) and the custom resources they define, as
 * the apiextensions-apiserver serves them: a CRD that is created becomes a served resource at
 * once (discovery, CRUD, list/watch, Table output from its additionalPrinterColumns), and its
 * deletion removes the resource and every object of it. Custom resources are pruned, defaulted
 * and validated against the version's openAPIV3Schema (schema.ts), take JSON and merge patches
 * but not strategic merge patches, and never update without a resourceVersion
 * (apiextensions-apiserver/pkg/registry/customresource/strategy.go).
 *
 * The establishing controllers' work (NamesAccepted and Established conditions, acceptedNames,
 * storedVersions) happens in the CRD's own write instead of moments after it.
 */

export interface PrinterColumnJson {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

interface CrdVersionJson {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JsonSchema };
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: PrinterColumnJson[];
  selectableFields?: Array<{ jsonPath: string }>;
}

export interface CrdJson extends KubeObject {
  spec: {
    group: string;
    names: {
      plural: string;
      singular?: string;
      kind: string;
      listKind?: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: string;
    versions: CrdVersionJson[];
    conversion?: { strategy?: string };
    [field: string]: unknown;
  };
  status?: Record<string, unknown>;
}

/** The verbs discovery lists for a custom resource, in the order a real server lists them. */
const CUSTOM_RESOURCE_VERBS = [
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'create',
  'update',
  'watch',
];

/** Custom resources take no strategic merge patch: their Go type is unknown, so no patch strategy is. */
const CUSTOM_RESOURCE_PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json'] as const;

// ---- JSONPath (the simple paths printer columns and selectable fields use) -----------------

/** Reads `.a.b[0].c` or `.a['b.c']` from an object; undefined where anything is missing. */
export function jsonPathValue(obj: unknown, path: string): unknown {
  const tokens: Array<string | number> = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;
  let consumed = 0;
  for (let match = re.exec(path); match; match = re.exec(path)) {
    if (match.index !== consumed) return undefined;
    consumed = re.lastIndex;
    if (match[2] !== undefined) tokens.push(Number(match[2]));
    else tokens.push(match[1] ?? match[3] ?? match[4]!);
  }
  if (consumed !== path.length) return undefined;
  let node: unknown = obj;
  for (const token of tokens) {
    if (typeof token === 'number') node = Array.isArray(node) ? node[token] : undefined;
    else node = isPlainObject(node) ? node[token] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** cellForJSONValue of the CRD table convertor: a typed cell, or null (kubectl prints `<none>`). */
function cellFor(type: string, value: unknown, now: number): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : age(value, now);
    default:
      // A string column prints whatever the path finds, objects as JSON.
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/**
 * The Table of a custom resource (apiextensions-apiserver/pkg/registry/customresource/tableconvertor):
 * Name, then the version's additionalPrinterColumns, or Age when it declares none.
 */
function customResourcePrinter(columns: readonly PrinterColumnJson[] | undefined): Printer {
  const declared = columns?.length
    ? columns
    : [
        {
          name: 'Age',
          type: 'date',
          jsonPath: '.metadata.creationTimestamp',
          description: AGE_COLUMN.description,
        },
      ];
  const definitions: Column[] = declared.map((c) => ({
    name: c.name,
    type: c.type,
    format: c.format ?? '',
    description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
    priority: c.priority ?? 0,
  }));
  return {
    columns: [NAME_COLUMN, ...definitions],
    cells: (obj, now) => [
      obj.metadata.name,
      ...declared.map((c) => cellFor(c.type, jsonPathValue(obj, c.jsonPath), now)),
    ],
  };
}

// ---- custom resources ------------------------------------------------------------------------

/** Everything but metadata (and status, when that is a subresource): what bumps the generation. */
function generationContent(obj: KubeObject, statusSubresource: boolean): unknown {
  const { metadata: _metadata, ...rest } = obj;
  if (statusSubresource) delete rest.status;
  return rest;
}

function customResourceStrategy(version: CrdVersionJson): Strategy {
  const schema = version.schema?.openAPIV3Schema;
  const statusSubresource = version.subresources?.status !== undefined;
  const schemaErrors = (obj: KubeObject): StatusCause[] => (schema ? validate(obj, schema) : []);
  return {
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: false,
    returnDeletedObject: false,
    subresources: statusSubresource ? ['status'] : [],

    decode(obj, unknown) {
      // Types are the schema's to check (a 422 at validation); decoding only prunes.
      if (schema && !schema['x-kubernetes-preserve-unknown-fields']) prune(obj, schema, '', unknown);
    },

    applyDefaults(obj) {
      if (schema) applyDefaults(obj, schema);
    },

    prepareForCreate(obj) {
      obj.metadata.generation = 1;
      // With a status subresource, status is written only through it.
      if (statusSubresource) delete obj.status;
    },

    validate(obj) {
      return [...validateMetadata(obj, false), ...schemaErrors(obj)];
    },

    prepareForUpdate(next, prev, subresource) {
      if (subresource === 'status') {
        // The status subresource changes status and nothing else (status_strategy.go).
        const out = thaw(prev);
        out.metadata.resourceVersion = next.metadata.resourceVersion;
        if (next.status === undefined) delete out.status;
        else out.status = next.status;
        return out;
      }
      if (statusSubresource) {
        if (prev.status === undefined) delete next.status;
        else next.status = structuredClone(prev.status);
      }
      return next;
    },

    validateUpdate(next, prev) {
      const errors = keepSystemMetadata(next, prev);
      // Upstream bumps the generation in PrepareForUpdate; keepSystemMetadata above restores the
      // stored one, so the bump comes after it: any change outside metadata (and status) counts.
      const changed =
        canonical(generationContent(next, statusSubresource)) !==
        canonical(generationContent(prev, statusSubresource));
      if (changed) next.metadata.generation = (prev.metadata.generation ?? 0) + 1;
      errors.push(...validateMetadata(next, false), ...schemaErrors(next));
      return errors;
    },
  };
}

function customResourceFields(crd: CrdJson, version: CrdVersionJson): Record<string, FieldGetter> {
  const fields: Record<string, FieldGetter> = { 'metadata.name': (o) => o.metadata.name ?? '' };
  if (crd.spec.scope === 'Namespaced') fields['metadata.namespace'] = (o) => o.metadata.namespace ?? '';
  // selectableFields (CustomResourceFieldSelectors, on by default since 1.31).
  for (const { jsonPath } of version.selectableFields ?? []) {
    fields[jsonPath.replace(/^\./, '')] = (o) => {
      const value = jsonPathValue(o, jsonPath);
      return value === undefined || value === null ? '' : String(value);
    };
  }
  return fields;
}

/** The served resources of a CRD, one per served version; other versions are views of the storage version. */
export function resourcesFromCrd(crd: CrdJson): ResourceDef[] {
  const { spec } = crd;
  const names = spec.names;
  const served = spec.versions.filter((v) => v.served !== false);
  const storageVersion = spec.versions.find((v) => v.storage) ?? spec.versions[0]!;
  const build = (version: CrdVersionJson, storage?: ResourceDef) => {
    const apiVersion = `${spec.group}/${version.name}`;
    return define({
      group: spec.group,
      version: version.name,
      resource: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      namespaced: spec.scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: CUSTOM_RESOURCE_VERBS,
      fields: customResourceFields(crd, version),
      strategy: customResourceStrategy(version),
      patchSchema: {},
      patchTypes: CUSTOM_RESOURCE_PATCH_TYPES,
      printer: customResourcePrinter(version.additionalPrinterColumns),
      crd: crd.metadata.name,
      bookmarkBody: '',
      // Conversion strategy None: versions differ only in apiVersion.
      ...(storage
        ? {
            storage,
            view: {
              toWire: (obj: KubeObject) => ({ ...thaw(obj), apiVersion }),
              fromWire: (obj: KubeObject) => ({ ...obj, apiVersion: storage.apiVersion }),
            },
          }
        : {}),
    });
  };
  const storageDef = build(storageVersion);
  return served.map((v) => (v === storageVersion ? storageDef : build(v, storageDef)));
}

// ---- the CustomResourceDefinition resource -----------------------------------------------------

function crdOf(obj: KubeObject): CrdJson {
  return obj as CrdJson;
}

const SCOPES = ['Cluster', 'Namespaced'];

/** A subset of ValidateCustomResourceDefinition: names, group, scope, versions and schemas. */
function validateCrd(crd: CrdJson): StatusCause[] {
  const errors = validateMetadata(crd, false);
  const spec = isPlainObject(crd.spec) ? crd.spec : undefined;
  if (!spec) return [...errors, fieldRequired('spec')];
  const names = isPlainObject(spec.names) ? spec.names : undefined;
  if (!spec.group) errors.push(fieldRequired('spec.group'));
  else if (!spec.group.includes('.')) {
    errors.push(fieldInvalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  }
  if (!names?.plural) errors.push(fieldRequired('spec.names.plural'));
  if (!names?.kind) errors.push(fieldRequired('spec.names.kind'));
  if (names?.plural && spec.group && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    errors.push(
      fieldInvalid('metadata.name', crd.metadata.name ?? '', 'must be spec.names.plural+"."+spec.group'),
    );
  }
  if (!SCOPES.includes(spec.scope)) {
    errors.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"`,
      field: 'spec.scope',
    });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0)
    errors.push(
      fieldInvalid('spec.versions', null, 'must have exactly one version marked as storage version'),
    );
  else if (versions.filter((v) => v.storage).length !== 1) {
    errors.push(
      fieldInvalid(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  versions.forEach((v, i) => {
    if (!v.name) errors.push(fieldRequired(`spec.versions[${i}].name`));
    if (!isPlainObject(v.schema?.openAPIV3Schema)) {
      errors.push({
        reason: 'FieldValueRequired',
        message: 'Required value: schemas are required',
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
      });
    }
  });
  return errors;
}

function condition(type: string, reason: string, message: string, now: string, prev?: CrdJson) {
  const before = (prev?.status?.conditions as Array<Record<string, string>> | undefined)?.find(
    (c) => c.type === type,
  );
  return {
    type,
    status: 'True',
    lastTransitionTime: before?.status === 'True' ? before.lastTransitionTime : now,
    reason,
    message,
  };
}

/** What the naming and establishing controllers would write: every name accepted, established. */
function crdStatus(crd: CrdJson, now: string, prev?: CrdJson): Record<string, unknown> {
  const names = crd.spec.names;
  const storage = crd.spec.versions.find((v) => v.storage)?.name;
  const stored = (prev?.status?.storedVersions as string[] | undefined) ?? [];
  return {
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found', now, prev),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted', now, prev),
    ],
    acceptedNames: { ...names },
    storedVersions: storage && !stored.includes(storage) ? [...stored, storage] : stored,
  };
}

function defaultCrd(crd: CrdJson): void {
  if (!isPlainObject(crd.spec)) return;
  const names = crd.spec.names;
  if (isPlainObject(names) && typeof names.kind === 'string') {
    names.singular ??= names.kind.toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  crd.spec.conversion ??= { strategy: 'None' };
  for (const version of Array.isArray(crd.spec.versions) ? crd.spec.versions : []) {
    version.served ??= true;
    version.storage ??= false;
  }
}

/** RFC 3339 in whole seconds, as metav1.Time marshals: the time conditions are stamped with. */
export type Clock = () => string;

export function crdStrategy(now: Clock): Strategy {
  return {
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
    returnDeletedObject: true,
    subresources: ['status'],

    decode(obj) {
      if (obj.spec !== undefined && !isPlainObject(obj.spec)) {
        throw decodeFailure(
          'CustomResourceDefinition',
          'v1',
        )(
          `json: cannot unmarshal ${typeof obj.spec} into Go struct field CustomResourceDefinition.spec of type v1.CustomResourceDefinitionSpec`,
        );
      }
    },

    applyDefaults(obj) {
      defaultCrd(crdOf(obj));
    },

    prepareForCreate(obj) {
      const crd = crdOf(obj);
      obj.metadata.generation = 1;
      if (isPlainObject(crd.spec) && Array.isArray(crd.spec.versions)) crd.status = crdStatus(crd, now());
      else delete crd.status;
    },

    validate(obj) {
      return validateCrd(crdOf(obj));
    },

    prepareForUpdate(next, prev, subresource) {
      const crd = crdOf(next);
      if (subresource === 'status') {
        const out = thaw(prev);
        out.metadata.resourceVersion = next.metadata.resourceVersion;
        out.status = crd.status;
        return out;
      }
      if (isPlainObject(crd.spec) && Array.isArray(crd.spec.versions))
        crd.status = crdStatus(crd, now(), crdOf(prev));
      return next;
    },

    validateUpdate(next, prev) {
      const errors = keepSystemMetadata(next, prev);
      if (canonical(crdOf(next).spec) !== canonical(crdOf(prev).spec)) {
        next.metadata.generation = (prev.metadata.generation ?? 0) + 1;
      }
      return [...errors, ...validateCrd(crdOf(next))];
    },
  };
}

/** The default table convertor (rest.NewDefaultTableConvertor) that CRDs are printed with. */
const crdPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    {
      name: 'Created At',
      type: 'date',
      format: '',
      description: AGE_COLUMN.description,
      priority: 0,
    },
  ],
  cells: (obj) => [obj.metadata.name, obj.metadata.creationTimestamp ?? null],
};

/** The CustomResourceDefinition resource, its conditions stamped by `now` (the simulator's clock). */
export function crdResource(now: Clock): ResourceDef {
  return define({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    fields: { 'metadata.name': (o) => o.metadata.name ?? '' },
    strategy: crdStrategy(now),
    patchSchema: {
      'metadata.finalizers': { primitiveSet: true },
      'spec.versions': { mergeKey: 'name' },
    },
    printer: crdPrinter,
    bookmarkBody:
      '"spec":{"group":"","names":{"plural":"","kind":""},"scope":"","versions":null},"status":{"conditions":null,"acceptedNames":{"plural":"","kind":""},"storedVersions":null}',
  });
}

export function isCrdResource(def: ResourceDef): boolean {
  return def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions';
}
