import type { FacetCount, Facets } from '../contract/schemas.js';
import type { CatalogDoc } from './record.js';

/** One facet bucket, and the counts over the whole matching set for the four facets DLHub shows (wire types, declared in the contract). */
export type { FacetCount, Facets };

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
  names: string[] = [];
  offsets: Int32Array = new Int32Array(1025);
  values: Int32Array = new Int32Array(4096);
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

/** The slots marked in a 0/1 set, in order. Branch-free: with a fifth of slots matching at random, a branch per slot mispredicts often enough to triple the cost. */
export function listSlots(set: Uint8Array): Int32Array {
  const out = new Int32Array(set.length + 1);
  let k = 0;
  for (let s = 0; s < set.length; s++) {
    out[k] = s;
    k += set[s] as number;
  }
  return out.subarray(0, k);
}

// Occurrences of each value code of one column over the matched slots; a tight loop over typed arrays.
function countColumn(col: Column, slots: Int32Array): Int32Array {
  const counts = new Int32Array(col.names.length);
  const { offsets, values } = col;
  for (let j = 0; j < slots.length; j++) {
    const s = slots[j] as number;
    if (s >= col.slots) break;
    const end = offsets[s + 1] as number;
    for (let i = offsets[s] as number; i < end; i++) {
      const c = values[i] as number;
      counts[c] = (counts[c] as number) + 1;
    }
  }
  return counts;
}

/** Facet values stored as integer codes per slot, so counting tens of thousands of matches is a tight loop over integers. */
export class FacetColumns {
  private readonly columns = new Map<FacetName, Column>(FACETS.map((f) => [f, new Column()]));

  /** Saved form: each facet's value names, and its offsets and codes as two sections. */
  toSaved(): { names: string[][]; sections: Int32Array[] } {
    const cols = FACETS.map((f) => this.columns.get(f) as Column);
    return {
      names: cols.map((c) => c.names),
      sections: cols.flatMap((c) => [c.offsets.subarray(0, c.slots + 1), c.values.subarray(0, c.offsets[c.slots] as number)]),
    };
  }

  /** Revive saved columns; the arrays stay views of the file until a new record outgrows them (append copies first). */
  static fromSaved(names: string[][], sections: Int32Array[]): FacetColumns {
    const out = new FacetColumns();
    FACETS.forEach((f, k) => {
      const col = out.columns.get(f) as Column;
      col.names = names[k] ?? [];
      col.names.forEach((n, c) => col.codes.set(n, c));
      col.offsets = sections[2 * k] ?? new Int32Array(1);
      col.values = sections[2 * k + 1] ?? new Int32Array(0);
      col.slots = col.offsets.length - 1;
    });
    return out;
  }

  /** Record the facet values of the record in `slot`; slots must be added in increasing order. */
  add(doc: CatalogDoc, slot: number): void {
    for (const f of FACETS) (this.columns.get(f) as Column).append(slot, facetValues(doc, f));
  }

  /** Count each facet over the matched slots (ascending, from listSlots); the top `limit` values of each. */
  count(slots: Int32Array, limit = 20): Facets {
    const out = {} as Facets;
    const cols = FACETS.map((f) => this.columns.get(f) as Column);
    const tallies = cols.map((col) => countColumn(col, slots));
    FACETS.forEach((f, k) => {
      const col = cols[k] as Column;
      const counts = tallies[k] as Int32Array;
      // Only values that can reach the top `limit` are sorted: creators run to thousands, and a full sort with
      // string tie-breaks cost more than the counting. Years are all kept (there are few) to list newest first.
      let threshold = 1;
      if (f !== 'year') {
        const nonzero = counts.filter((c) => c > 0).sort();
        if (nonzero.length > limit) threshold = Math.max(1, nonzero[nonzero.length - limit] as number);
      }
      const buckets: FacetCount[] = [];
      for (let c = 0; c < counts.length; c++) if ((counts[c] as number) >= threshold) buckets.push({ value: col.names[c] as string, count: counts[c] as number });
      // Years read best newest first; the others by frequency.
      buckets.sort((a, b) => (f === 'year' ? Number(b.value) - Number(a.value) : b.count - a.count || (a.value < b.value ? -1 : 1)));
      out[f] = buckets.slice(0, limit);
    });
    return out;
  }
}
