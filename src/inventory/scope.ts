import type { Config } from '../config/types.ts';

/**
 * Which namespaces the inventory covers (`namespaces.include` and `exclude`), decided in one place.
 * With `include`, each listed namespace is listed and watched on its own and nothing else arrives;
 * without it, one cluster-wide watch carries `exclude` to the apiserver as a field selector
 * (`metadata.namespace!=a,metadata.namespace!=b`), so excluded pods never cross the wire. Pods that
 * do arrive are checked again all the same, whatever the apiserver did with the selector.
 */
export class NamespaceScope {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly #included: ReadonlySet<string>;
  readonly #excluded: ReadonlySet<string>;

  constructor(namespaces: Config['namespaces']) {
    this.include = namespaces.include;
    this.exclude = namespaces.exclude;
    this.#included = new Set(namespaces.include);
    this.#excluded = new Set(namespaces.exclude);
  }

  /** One namespace only (`report -n`). */
  static only(namespace: string): NamespaceScope {
    return new NamespaceScope({ include: [namespace], exclude: [] });
  }

  contains(namespace: string): boolean {
    if (this.#included.size && !this.#included.has(namespace)) return false;
    return !this.#excluded.has(namespace);
  }

  /** The field selector of a cluster-wide list and watch; undefined when there is nothing to leave out. */
  get fieldSelector(): string | undefined {
    if (this.include.length || !this.exclude.length) return undefined;
    return this.exclude.map((namespace) => `metadata.namespace!=${namespace}`).join(',');
  }
}
