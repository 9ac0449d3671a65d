import type { CatalogDoc } from './record.js';

/** One facet bucket: a value and how many matching records carry it. */
export interface FacetCount {
  value: string;
  count: number;
}

/** Counts over the whole matching set (not just the page), for the four facets DLHub shows. */
export interface Facets {
  type: FacetCount[];
  domains: FacetCount[];
  creators: FacetCount[];
  year: FacetCount[];
}

const FACETS = ['type', 'domains', 'creators', 'year'] as const;
type FacetName = (typeof FACETS)[number];

function facetValues(doc: CatalogDoc, facet: FacetName): readonly string[] {
  switch (facet) {
    case 'type': return doc.type === '' ? [] : [doc.type];
    case 'domains': return doc.domains;
    case 'creators': return doc.creators;
    case 'year': return doc.year === null ? [] : [String(doc.year)];
  }
}

// One facet: a dictionary of values and, per slot, its value codes in compressed-row form (slots arrive in increasing order).
class Column {
  readonly codes = new Map<string, number>();
  readonly names: string[] = [];
  offsets = new Int32Array(1025);
  values = new Int32Array(4096);
  slots = 0;

  append(slot: number, vals: readonly string[]): void {
    const uniq = vals.length < 2 ? vals : [...new Set(vals)];
    if (slot + 2 > this.offsets.length) {
      const o = new Int32Array(Math.max(slot + 2, this.offsets.length * 2));
      o.set(this.offsets);
      this.offsets = o;
    }
    const start = this.offsets[this.slots] as number;
    for (let s = this.slots + 1; s <= slot; s++) this.offsets[s] = start; // skipped slots hold nothing
    let at = start;
    if (at + uniq.length > this.values.length) {
      const v = new Int32Array(Math.max(at + uniq.length, this.values.length * 2));
      v.set(this.values);
      this.values = v;
    }
    for (const val of uniq) {
      let c = this.codes.get(val);
      if (c === undefined) {
        c = this.names.length;
        this.codes.set(val, c);
        this.names.push(val);
      }
      this.values[at++] = c;
    }
    this.offsets[slot + 1] = at;
    this.slots = slot + 1;
  }
}

/** Facet values stored as integer codes per slot, so counting tens of thousands of matches is a tight loop over integers. */
export class FacetColumns {
  private readonly columns = new Map<FacetName, Column>(FACETS.map((f) => [f, new Column()]));

  /** Record the facet values of the record in `slot`; slots must be added in increasing order. */
  add(doc: CatalogDoc, slot: number): void {
    for (const f of FACETS) (this.columns.get(f) as Column).append(slot, facetValues(doc, f));
  }

  /** Count each facet over the slots marked in `set`; the top `limit` values of each. */
  count(set: Uint8Array, limit = 20): Facets {
    const out = {} as Facets;
    const matched: number[] = [];
    for (let s = 0; s < set.length; s++) if (set[s]) matched.push(s);
    for (const f of FACETS) {
      const col = this.columns.get(f) as Column;
      const counts = new Int32Array(col.names.length);
      const { offsets, values } = col;
      for (const s of matched) {
        if (s >= col.slots) break;
        for (let i = offsets[s] as number, end = offsets[s + 1] as number; i < end; i++) { const c = values[i] as number; counts[c] = (counts[c] as number) + 1; }
      }
      const buckets: FacetCount[] = [];
      counts.forEach((count, c) => {
        if (count > 0) buckets.push({ value: col.names[c] as string, count });
      });
      // Years read best newest first; the others by frequency.
      buckets.sort((a, b) => (f === 'year' ? Number(b.value) - Number(a.value) : b.count - a.count || (a.value < b.value ? -1 : 1)));
      out[f] = buckets.slice(0, limit);
    }
    return out;
  }
}
