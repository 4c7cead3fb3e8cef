import { randomUUID } from 'node:crypto';
import type { Catalog } from './catalog.ts';
import { isCrdResource } from './crd.ts';
import type { Database } from './db.ts';
import { jsonPatch, mergePatch, type PatchType, strategicMergePatch } from './patch.ts';
import { keyOf, NAMESPACES, type ResourceDef, storageOf } from './resources.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  internalError,
  invalid,
  notFound,
  qualifiedKind,
  StatusError,
  unsupportedPatchType,
} from './status.ts';
import { type Stored, thaw } from './stored.ts';
import { canonical, fieldInvalid, isPlainObject } from './strategy.ts';
import type { KubeObject, ObjectMeta, StatusJson } from './types.ts';
import { present, presentObject } from './views.ts';
import { decodeFailure } from './wire.ts';

/**
 * The generic registry store of the API server (apiserver/pkg/registry/generic/registry/store.go)
 * over the simulated etcd: the order of checks, the optimistic concurrency on resourceVersion,
 * finalizers and graceful deletion of namespaces, all expressed on plain JSON objects.
 */

/**
 * What the decoder does with fields the type does not have (the `fieldValidation` query
 * parameter): `Strict` fails the request, `Warn` (the default since 1.27) answers with a warning
 * header per field, `Ignore` drops them silently. They are dropped in every case.
 */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  /** `dryRun=All`: run every check but store nothing. */
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Collects the warnings the answer carries (`Warning: 299 - "..."` headers). */
  warnings?: string[];
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WriteResult {
  code: number;
  /** The object to answer with (stored, or the would-be object under dry run). */
  body: KubeObject | StatusJson;
  /** The JSON when it is already encoded (a stored object). */
  json?: string;
}

/** generateName gets five characters from this alphabet (utilrand.String: no vowels, no confusable digits). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const RANDOM_SUFFIX_LENGTH = 5;
/** generateName prefixes are cut so prefix plus suffix stays within 63 characters. */
const MAX_GENERATE_PREFIX = 58;
/** Attempts at a fresh generated name before giving up, as the RetryGenerateName feature does. */
const GENERATE_NAME_ATTEMPTS = 8;

export class Registry {
  private readonly db: Database;
  private readonly clock: () => number;
  private readonly catalog: Catalog;

  constructor(db: Database, clock: () => number, catalog: Catalog) {
    this.db = db;
    this.clock = clock;
    this.catalog = catalog;
  }

  now(): number {
    return this.clock();
  }

  /** metav1.Time on the wire: RFC 3339, whole seconds, UTC. */
  timestamp(): string {
    return new Date(Math.floor(this.clock() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): Stored {
    const stored = this.db.table(def).current(keyOf(def, namespace, name));
    if (!stored) throw notFound(def, name);
    return stored;
  }

  /** The namespace check NamespaceLifecycle admission makes before anything else. */
  checkNamespace(def: ResourceDef, namespace: string | undefined, name: string): void {
    if (!def.namespaced || namespace === undefined) return;
    const ns = this.db.table(NAMESPACES).current(namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (ns.obj.metadata.deletionTimestamp) {
      throw new StatusError(
        403,
        'Forbidden',
        `${def.resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  create(
    def: ResourceDef,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    return this.createDecoded(def, namespace, this.decode(def, namespace, body, options), options);
  }

  /** Creates an object already decoded into its storage form. */
  private createDecoded(
    def: ResourceDef,
    namespace: string | undefined,
    obj: KubeObject,
    options: WriteOptions,
  ): WriteResult {
    this.checkNamespace(def, namespace, obj.metadata.name ?? '');
    if (obj.metadata.resourceVersion) {
      throw internalError('resourceVersion should not be set on objects to be created');
    }
    def.strategy.prepareForCreate(obj);
    this.fillSystemFields(obj);
    const generated = !obj.metadata.name && obj.metadata.generateName;
    if (generated) obj.metadata.name = this.generateName(obj.metadata.generateName!);
    const errors = def.strategy.validate(obj);
    if (errors.length) throw invalid(qualifiedKind(def), obj.metadata.name ?? '', def, errors);

    const table = this.db.table(def);
    for (let attempt = 1; table.current(keyOf(def, namespace, obj.metadata.name!)); attempt++) {
      if (!generated || attempt >= GENERATE_NAME_ATTEMPTS) throw alreadyExists(def, obj.metadata.name!);
      obj.metadata.name = this.generateName(obj.metadata.generateName!);
    }
    if (options.dryRun) return { code: 201, body: this.dryRunAnswer(def, obj) };
    const event = this.db.commit(def, keyOf(def, namespace, obj.metadata.name!), namespace ?? '', obj);
    return this.answer(def, 201, event.object);
  }

  update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    const obj = this.decode(def, namespace, body, options);
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    const existing = this.db.table(def).current(keyOf(def, namespace, name));
    if (!existing) {
      if (subresource || !def.strategy.allowCreateOnUpdate) throw notFound(def, name);
      // Create-on-update ignores a resourceVersion in the body: storage assigns a new one.
      delete obj.metadata.resourceVersion;
      return this.createDecoded(def, namespace, obj, options);
    }
    const requested = obj.metadata.resourceVersion;
    if (!requested) {
      if (!def.strategy.allowUnconditionalUpdate) {
        throw invalid(`${def.resource}${def.group ? `.${def.group}` : ''}`, name, def, [
          // Go prints the zero uint64 as 0x0 here.
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: 0x0: must be specified for an update',
            field: 'metadata.resourceVersion',
          },
        ]);
      }
    } else if (requested !== existing.obj.metadata.resourceVersion) {
      throw conflict(def, name);
    }
    return this.store(def, namespace, name, subresource, obj, existing, options);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    patchType: PatchType,
    patch: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    if (!def.patchTypes.includes(patchType)) throw unsupportedPatchType(def.patchTypes);
    const existing = this.get(def, namespace, name);
    // A patch applies to the object as the request's API shows it.
    const current = thaw(present(def, existing).obj);
    let patched: unknown;
    switch (patchType) {
      case 'application/merge-patch+json':
        if (!isPlainObject(patch)) throw badRequest('merge patch body must be a JSON object');
        patched = mergePatch(current, patch);
        break;
      case 'application/json-patch+json':
        patched = jsonPatch(current, patch);
        break;
      case 'application/strategic-merge-patch+json':
        patched = strategicMergePatch(current, patch, def.patchSchema);
        break;
    }
    const obj = this.decode(def, namespace, patched, options);
    if (obj.metadata.name !== name) {
      throw invalid(qualifiedKind(def), name, def, [
        fieldInvalid('metadata.name', obj.metadata.name ?? '', 'field is immutable'),
      ]);
    }
    // A resourceVersion written by the patch is a precondition on the stored version.
    if (obj.metadata.resourceVersion !== existing.obj.metadata.resourceVersion) throw conflict(def, name);
    return this.store(def, namespace, name, subresource, obj, existing, options);
  }

  delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): WriteResult {
    const existing = this.get(def, namespace, name);
    const meta = existing.obj.metadata;
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== meta.uid) {
      throw conflict(
        def,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid ?? ''}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
      throw conflict(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${meta.resourceVersion ?? ''}`,
      );
    }
    const key = keyOf(def, namespace, name);
    if (def === NAMESPACES) return this.deleteNamespace(existing, name, options);
    if (meta.finalizers?.length) {
      // Finalizers hold the object: it is only marked, and goes once the last finalizer is removed.
      if (meta.deletionTimestamp || options.dryRun) return this.answer(def, 200, existing);
      const marked = thaw(existing.obj);
      marked.metadata.deletionTimestamp = this.timestamp();
      marked.metadata.deletionGracePeriodSeconds = 0;
      const event = this.db.commit(def, key, namespace ?? '', marked);
      return this.answer(def, 200, event.object);
    }
    if (options.dryRun) return this.deletedAnswer(def, existing, name);
    if (isCrdResource(def)) this.deleteCustomResources(name);
    const event = this.db.commit(def, key, namespace ?? '', undefined);
    return this.deletedAnswer(def, event.object, name);
  }

  /**
   * Everything a CRD defines goes before the CRD itself, as the customresourcecleanup finalizer
   * sees to on a cluster (done at once here).
   */
  private deleteCustomResources(crdName: string): void {
    const storage = this.catalog.ofCrd(crdName).find((d) => !d.storage);
    if (!storage || !this.db.hasTable(storage)) return;
    const table = this.db.table(storage);
    const doomed = [...table.scan('', '')].map((s) => s.obj.metadata);
    for (const meta of doomed) {
      this.db.commit(storage, keyOf(storage, meta.namespace, meta.name!), meta.namespace ?? '', undefined);
    }
  }

  /** The answer to a write: the stored object as the request's API shows it. */
  private answer(def: ResourceDef, code: number, stored: Stored): WriteResult {
    const shown = present(def, stored);
    return { code, body: shown.obj, json: shown.json };
  }

  /** A dry run's object, never stored, stamped as storage would stamp it. */
  private dryRunAnswer(def: ResourceDef, obj: KubeObject): KubeObject {
    const storage = storageOf(def);
    return presentObject(def, { ...obj, kind: storage.kind, apiVersion: storage.apiVersion });
  }

  /**
   * Writes `obj` (the client's object, prepared by the strategy) unless nothing changed: like
   * etcd3's GuaranteedUpdate, an update that leaves the object byte-for-byte equal is not written,
   * gets no new resourceVersion and sends no watch event.
   */
  private store(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    obj: KubeObject,
    existing: Stored,
    options: WriteOptions,
  ): WriteResult {
    const prev = thaw(existing.obj);
    const next = def.strategy.prepareForUpdate(obj, prev, subresource);
    const errors = def.strategy.validateUpdate(next, prev, subresource);
    if (errors.length) throw invalid(qualifiedKind(def), name, def, errors);
    next.metadata.resourceVersion = existing.obj.metadata.resourceVersion;
    const storage = storageOf(def);
    next.kind = storage.kind;
    next.apiVersion = storage.apiVersion;
    if (canonical(next) === canonical(existing.obj)) return this.answer(def, 200, existing);
    if (options.dryRun) return { code: 200, body: this.dryRunAnswer(def, next) };
    const key = keyOf(def, namespace, name);
    const finished = next.metadata.deletionTimestamp && !next.metadata.finalizers?.length;
    const event = this.db.commit(def, key, namespace ?? '', finished ? undefined : next);
    return this.answer(def, 200, event.object);
  }

  /**
   * A namespace goes Terminating, everything in it is deleted, then the namespace itself: what the
   * namespace controller does, done at once because nothing else here would do it.
   */
  private deleteNamespace(existing: Stored, name: string, options: WriteOptions): WriteResult {
    const terminating = thaw(existing.obj);
    terminating.metadata.deletionTimestamp ??= this.timestamp();
    terminating.status = { phase: 'Terminating' };
    if (options.dryRun) return { code: 200, body: terminating };
    const marked = existing.obj.metadata.deletionTimestamp
      ? existing
      : this.db.commit(NAMESPACES, name, '', terminating).object;
    for (const def of this.catalog.storages()) {
      if (!def.namespaced) continue;
      const table = this.db.table(def);
      const keys = [...table.scan(`${name}/`, '')].map((s) => keyOf(def, name, s.obj.metadata.name!));
      for (const key of keys) this.db.commit(def, key, name, undefined);
    }
    this.db.commit(NAMESPACES, name, '', undefined);
    return { code: 200, body: marked.obj, json: marked.json };
  }

  private deletedAnswer(def: ResourceDef, deleted: Stored, name: string): WriteResult {
    if (def.strategy.returnDeletedObject) return this.answer(def, 200, deleted);
    const status: StatusJson = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name,
        ...(def.group ? { group: def.group } : {}),
        kind: def.resource,
        ...(deleted.obj.metadata.uid ? { uid: deleted.obj.metadata.uid } : {}),
      },
      code: 200,
    };
    return { code: 200, body: status };
  }

  /**
   * Turns a request body into an object of this resource, or the 400 the decoder would give.
   * Takes ownership of `body` (a freshly parsed request body or patch result) and modifies it.
   */
  decode(
    def: ResourceDef,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    if (!isPlainObject(body)) {
      throw badRequest(`Object '${def.kind}' is missing in 'null'`);
    }
    const obj = body as KubeObject;
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: converting (${String(obj.kind)}) to (${def.kind}): unknown conversion`,
      );
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== def.apiVersion) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${def.apiVersion})`,
      );
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: metadata must be an object`,
      );
    }
    const meta: ObjectMeta = obj.metadata;
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    const unknown: string[] = [];
    let decoded = def.strategy.decode(obj, unknown) ?? obj;
    this.unknownFields(def, unknown, options);
    def.strategy.applyDefaults(decoded);
    // Stored in the storage's form (a core Event for events.k8s.io); checks run on that form.
    if (def.view) decoded = def.view.fromWire(decoded);
    return decoded;
  }

  /** Fields the decoder dropped, answered by the request's fieldValidation. */
  private unknownFields(def: ResourceDef, unknown: readonly string[], options: WriteOptions): void {
    if (unknown.length === 0) return;
    const list = unknown.map((path) => `unknown field "${path}"`);
    switch (options.fieldValidation ?? 'Warn') {
      case 'Strict':
        throw decodeFailure(def.kind, def.version)(`strict decoding error: ${list.join(', ')}`);
      case 'Warn':
        options.warnings?.push(...list);
        break;
      case 'Ignore':
        break;
    }
  }

  /** uid and creationTimestamp are the server's (rest.FillObjectMetaSystemFields). */
  fillSystemFields(obj: KubeObject): void {
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = this.timestamp();
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.deletionGracePeriodSeconds;
  }

  generateName(prefix: string): string {
    let suffix = '';
    for (let i = 0; i < RANDOM_SUFFIX_LENGTH; i++) {
      suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
    }
    return prefix.slice(0, MAX_GENERATE_PREFIX) + suffix;
  }
}
