// The catalog screen's state: one search box for free text and DLHub's field syntax, results as
// the user types (an answer to an older query is dropped), facets, all versions or newest only.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OpResponse } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** A search answer. */
export type SearchResult = OpResponse<'searchCatalog'>;

/** Does the text use DLHub's field syntax (`field:value`, AND/OR/NOT, parentheses)? */
export function looksAdvanced(query: string): boolean {
  return /(^|[\s(])[A-Za-z_][\w.]*:\S/.test(query) || /\b(AND|OR|NOT)\b/.test(query);
}

/** The field of DLHub's syntax behind each facet the catalog counts. */
export const FACET_FIELDS: Record<string, string> = {
  type: 'servable.type',
  domains: 'dlhub.domains',
  creators: 'datacite.creators.creatorName',
  year: 'datacite.publicationYear',
};

/** A facet value as a query term. */
export function facetTerm(facet: string, value: string | number): string {
  return `${FACET_FIELDS[facet] ?? facet}:"${String(value).replace(/"/g, '\\"')}"`;
}

/** Catalog state. */
export interface CatalogState {
  query: string;
  allVersions: boolean;
  result: SearchResult | undefined;
  error: ShownError | undefined;
  searching: boolean;
  setQuery: (q: string) => Promise<void>;
  setAllVersions: (all: boolean) => Promise<void>;
  /** Narrow the results to one facet value. */
  addFacet: (field: string, value: string | number) => Promise<void>;
  /** Run the current search again (the screen is shown, or the local catalog changed); the results shown stay until the new ones arrive. */
  refresh: () => Promise<void>;
}

/** The catalog store over `ops`; `report` hears failures that are the service's, not the query's. */
export function createCatalogStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<CatalogState> {
  let seq = 0;
  let inFlight: AbortController | undefined;
  return createStore<CatalogState>()((set, get) => {
    const search = async (): Promise<void> => {
      const mine = (seq += 1);
      // A newer keystroke cancels the older search: the service stops working on it.
      inFlight?.abort();
      const ctl = new AbortController();
      inFlight = ctl;
      const { query, allVersions } = get();
      set({ searching: true });
      try {
        const result = await ops.searchCatalog({ query, advanced: looksAdvanced(query), allVersions, pageSize: 50 }, { signal: ctl.signal });
        if (mine === seq) set({ result, error: undefined, searching: false });
      } catch (err) {
        if (mine !== seq) return;
        const e = shownError(err);
        set({ error: e, searching: false });
        report(err);
      }
    };
    return {
      query: '',
      allVersions: false,
      result: undefined,
      error: undefined,
      searching: false,
      async setQuery(q) {
        set({ query: q });
        await search();
      },
      async setAllVersions(all) {
        set({ allVersions: all });
        await search();
      },
      async addFacet(field, value) {
        const term = facetTerm(field, value);
        const q = get().query.trim();
        if (q.includes(term)) return;
        const base = q === '' ? '' : `${q} AND `;
        await get().setQuery(`${base}${term}`);
      },
      refresh: () => search(),
    };
  });
}
