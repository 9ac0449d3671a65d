import type { FieldSpec } from './fields.js';
import type { CatalogDoc } from './record.js';
import { tokenize } from './record.js';

/** For one field: which slots hold each word, each whole (lowercased) value and, for numeric fields, each number in order. */
export interface FieldPostings {
  words: Map<string, number[]>;
  values: Map<string, number[]>;
  /** Numeric fields only: parallel arrays sorted by number. */
  numbers: { keys: number[]; slots: number[] } | null;
}

function push(map: Map<string, number[]>, key: string, slot: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [slot]);
  else if (list[list.length - 1] !== slot) list.push(slot);
}

// First index in the sorted keys whose key is >= n.
function lowerBound(keys: number[], n: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as number) < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Exact-match postings, built per field the first time a query names it and kept current as records
 * are added. Slots of removed or replaced records stay in the lists; the index's live set masks them.
 */
export class PostingsCache {
  private readonly byField = new Map<string, FieldPostings>();

  /** Postings of a field, built on first use from the records in slots 0..slotCount-1. */
  get(field: FieldSpec, slotCount: number, docAt: (slot: number) => CatalogDoc | undefined): FieldPostings {
    let p = this.byField.get(field.name);
    if (p) return p;
    p = { words: new Map(), values: new Map(), numbers: field.numeric ? { keys: [], slots: [] } : null };
    const pairs: [number, number][] = [];
    for (let slot = 0; slot < slotCount; slot++) {
      const doc = docAt(slot);
      if (doc) this.addValues(p, field, doc, slot, pairs);
    }
    if (p.numbers) {
      pairs.sort((a, b) => a[0] - b[0]);
      p.numbers = { keys: pairs.map((x) => x[0]), slots: pairs.map((x) => x[1]) };
    }
    this.byField.set(field.name, p);
    return p;
  }

  private addValues(p: FieldPostings, field: FieldSpec, doc: CatalogDoc, slot: number, pairs: [number, number][] | null): void {
    for (const value of field.values(doc)) {
      push(p.values, value.toLowerCase(), slot);
      for (const w of tokenize(value)) push(p.words, w, slot);
      if (p.numbers) {
        const n = Number(value);
        if (!Number.isFinite(n)) continue;
        if (pairs) pairs.push([n, slot]);
        else {
          const at = lowerBound(p.numbers.keys, n);
          p.numbers.keys.splice(at, 0, n);
          p.numbers.slots.splice(at, 0, slot);
        }
      }
    }
  }

  /** Keep every built field current with a newly added record. */
  add(doc: CatalogDoc, slot: number, fields: (name: string) => FieldSpec | undefined): void {
    for (const [name, p] of this.byField) {
      const field = fields(name);
      if (field) this.addValues(p, field, doc, slot, null);
    }
  }

  /** Forget everything (after a compaction renumbers slots). */
  clear(): void {
    this.byField.clear();
  }
}

/** Slots whose number lies in [lo, hi] bounds, for a numeric range. */
export function numberRange(p: FieldPostings, lo: number | null, loInc: boolean, hi: number | null, hiInc: boolean): number[] {
  const n = p.numbers;
  if (!n) return [];
  let from = lo === null ? 0 : lowerBound(n.keys, lo);
  if (lo !== null && !loInc) while (from < n.keys.length && n.keys[from] === lo) from++;
  let to = hi === null ? n.keys.length : lowerBound(n.keys, hi);
  if (hi !== null && hiInc) while (to < n.keys.length && n.keys[to] === hi) to++;
  return n.slots.slice(from, Math.max(from, to));
}
