import type { ListPage } from './list.ts';
import type { ResourceDef } from './resources.ts';
import type { Stored } from './stored.ts';

export function wantsTable(_accept: string | undefined): boolean {
  return false;
}

export function toTable(_def: ResourceDef, _items: readonly Stored[], _rv: number, _page: ListPage | undefined, _q: URLSearchParams): object {
  return {};
}
