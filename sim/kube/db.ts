import { type ChangeEvent, EventLog } from './event-log.ts';
import { type ResourceDef, storageKey, storageOf } from './resources.ts';
import { requestTooLarge } from './status.ts';
import { SortedKeys } from './sorted-keys.ts';
import { type Stored, thaw, toStored, withTypeMeta } from './stored.ts';
import type { KubeObject } from './types.ts';

/**
 * The simulator's etcd: one global, monotonically increasing revision (the resourceVersion), and
 * for every key the versions it had since the last compaction, so that a paginated list keeps
 * reading the snapshot its first page was taken at, as etcd's MVCC reads do. Each resource type
 * also keeps a bounded window of recent changes for watches (the API server's watch cache).
 */

interface Revision {
  readonly rv: number;
  /** Undefined marks a deletion. */
  readonly value: Stored | undefined;
}

export class Table {
  readonly def: ResourceDef;
  readonly log: EventLog;
  private readonly chains = new Map<string, Revision[]>();
  private readonly keys = new SortedKeys();
  private live = 0;

  constructor(def: ResourceDef, historyLimit: number, startRv: number) {
    this.def = def;
    this.log = new EventLog(historyLimit, startRv);
  }

  /** Objects that exist now. */
  get size(): number {
    return this.live;
  }

  current(key: string): Stored | undefined {
    const chain = this.chains.get(key);
    return chain?.[chain.length - 1]?.value;
  }

  /** The object under `key` as of revision `rv` (which must not be older than the last compaction). */
  at(key: string, rv: number): Stored | undefined {
    const chain = this.chains.get(key);
    if (!chain) return undefined;
    for (let i = chain.length - 1; i >= 0; i--) {
      const revision = chain[i]!;
      if (revision.rv <= rv) return revision.value;
    }
    return undefined;
  }

  /**
   * Objects whose keys start with `prefix` and are `>= from`, in key order, as of revision `rv`
   * (undefined: the newest state). The table must not change while the iterator is in use.
   */
  *scan(prefix: string, from: string, rv?: number): Generator<Stored> {
    const start = from > prefix ? from : prefix;
    for (const key of this.keys.range(start, prefixEnd(prefix))) {
      const value = rv === undefined ? this.current(key) : this.at(key, rv);
      if (value) yield value;
    }
  }

  record(
    key: string,
    rv: number,
    value: Stored | undefined,
    compactedRv: number,
    indexLater?: string[],
  ): void {
    let chain = this.chains.get(key);
    if (!chain) {
      chain = [];
      this.chains.set(key, chain);
      if (indexLater) indexLater.push(key);
      else this.keys.add(key);
    }
    const existed = chain[chain.length - 1]?.value !== undefined;
    chain.push({ rv, value });
    this.live += (value ? 1 : 0) - (existed ? 1 : 0);
    this.prune(key, chain, compactedRv);
  }

  indexKeys(keys: readonly string[]): void {
    this.keys.addMany(keys);
  }

  /** Drops versions no read at or after `rv` can see, and keys deleted at or before it. */
  compact(rv: number): void {
    for (const [key, chain] of this.chains) this.prune(key, chain, rv);
  }

  private prune(key: string, chain: Revision[], compactedRv: number): void {
    // Keep the newest version at or before the compaction point: it is what reads there see.
    let keepFrom = 0;
    for (let i = chain.length - 1; i >= 0; i--) {
      if (chain[i]!.rv <= compactedRv) {
        keepFrom = i;
        break;
      }
    }
    if (keepFrom > 0) chain.splice(0, keepFrom);
    if (chain.length === 1 && chain[0]!.value === undefined && chain[0]!.rv <= compactedRv) {
      this.chains.delete(key);
      this.keys.delete(key);
    }
  }
}

/** The first key after every key that starts with `prefix`; undefined for the empty prefix. */
function prefixEnd(prefix: string): string | undefined {
  if (!prefix) return undefined;
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * etcd's default --max-request-bytes (1.5 MiB): no stored object may be larger. Measured on the
 * JSON, which is what etcd holds for custom resources (built-ins are stored as protobuf, a little
 * smaller than their JSON).
 */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

export type ChangeListener = (def: ResourceDef, event: ChangeEvent) => void;

export interface PendingWrite {
  key: string;
  namespace: string;
  obj: KubeObject;
}

export class Database {
  private revision = 0;
  private compacted = 0;
  /** One table per storage (`events`, `pods`, `reports.openreports.io`), whichever API reads it. */
  private readonly tables = new Map<string, Table>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly historyLimit: number;

  constructor(defs: readonly ResourceDef[], historyLimit: number) {
    this.historyLimit = historyLimit;
    for (const def of defs) this.ensureTable(def);
  }

  /** The newest resourceVersion. */
  get rv(): number {
    return this.revision;
  }

  /** Reads at revisions before this are gone. */
  get compactedRv(): number {
    return this.compacted;
  }

  table(def: ResourceDef): Table {
    const table = this.tables.get(storageKey(def));
    if (!table) throw new Error(`no table for ${storageKey(def)}`);
    return table;
  }

  hasTable(def: ResourceDef): boolean {
    return this.tables.has(storageKey(def));
  }

  /** The table of a resource's storage, created empty when it is new (a CRD just installed). */
  ensureTable(def: ResourceDef): Table {
    const key = storageKey(def);
    let table = this.tables.get(key);
    if (!table) {
      // A new table's watch history starts now: no watch can resume from before it existed.
      table = new Table(storageOf(def), this.historyLimit, this.revision);
      this.tables.set(key, table);
    }
    return table;
  }

  /** Forgets a storage whose objects are all deleted (a CRD removed). */
  dropTable(def: ResourceDef): void {
    this.tables.delete(storageKey(def));
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes `next` under `key` (or deletes it when `next` is undefined) at a new revision, stamps
   * the revision into the object, records the change and tells every listener. Objects are stored
   * in their storage's form (a core v1 Event also when written through events.k8s.io), and
   * listeners hear of the change under the storage's resource.
   */
  commit(def: ResourceDef, key: string, namespace: string, next: KubeObject | undefined): ChangeEvent {
    return this.write(storageOf(def), this.table(def), key, namespace, next);
  }

  /** Many creations or replacements at once; keys are indexed with one sort (bulk loads). */
  commitMany(def: ResourceDef, writes: readonly PendingWrite[]): void {
    const table = this.table(def);
    const newKeys: string[] = [];
    for (const { key, namespace, obj } of writes)
      this.write(storageOf(def), table, key, namespace, obj, newKeys);
    table.indexKeys(newKeys);
  }

  /** etcd compaction: reads and continue tokens before `rv` now fail with 410, watches too when asked. */
  compact(rv: number, watchHistory: boolean): void {
    const target = Math.min(rv, this.revision);
    if (target > this.compacted) this.compacted = target;
    for (const table of this.tables.values()) {
      table.compact(this.compacted);
      if (watchHistory) table.log.truncate(target);
    }
  }

  /** A rebuilt watch cache remembers nothing before now (what an API server restart does). */
  resetWatchHistory(): void {
    for (const table of this.tables.values()) table.log.truncate(this.revision);
  }

  private write(
    def: ResourceDef,
    table: Table,
    key: string,
    namespace: string,
    next: KubeObject | undefined,
    indexLater?: string[],
  ): ChangeEvent {
    const prev = table.current(key);
    const rv = this.revision + 1;
    let event: ChangeEvent;
    if (next) {
      next.metadata.resourceVersion = String(rv);
      const stored = toStored(withTypeMeta(next, def.kind, def.apiVersion), rv);
      if (Buffer.byteLength(stored.json) > MAX_OBJECT_BYTES) throw requestTooLarge();
      this.revision = rv;
      table.record(key, rv, stored, this.compacted, indexLater);
      event = { rv, type: prev ? 'MODIFIED' : 'ADDED', key, namespace, object: stored, prev };
    } else {
      if (!prev) throw new Error(`delete of missing key ${key}`);
      this.revision = rv;
      // A deletion reaches watchers as the last state stamped with the deletion's revision.
      const last = thaw(prev.obj);
      last.metadata.resourceVersion = String(rv);
      table.record(key, rv, undefined, this.compacted);
      event = { rv, type: 'DELETED', key, namespace, object: toStored(last, rv), prev };
    }
    table.log.append(event);
    for (const listener of this.listeners) listener(def, event);
    return event;
  }
}
