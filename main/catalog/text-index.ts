import SearchableMap from 'minisearch/SearchableMap';
import { BOOSTS, TEXT_FIELDS } from './fields.js';
import type { CatalogDoc } from './record.js';
import { tokenize } from './record.js';

const NF = TEXT_FIELDS.length;
const FIELD_BOOST = TEXT_FIELDS.map((f) => BOOSTS[f]);
// BM25 constants and prefix/fuzzy weights as minisearch uses them, so ranking matches its documented behaviour.
const K1 = 1.2;
const B = 0.7;
const D = 0.5;
const PREFIX_WEIGHT = 0.375;
const FUZZY_WEIGHT = 0.45;

/** One term's postings: parallel lists of slot and field * 65536 + term frequency, in slot order. */
export interface Postings {
  slots: ArrayLike<number>;
  ftf: ArrayLike<number>;
  /** Documents holding the term, per field. */
  df: number[];
}

/** One word of a ranked query: exact, or also as a prefix and within `fuzzy` edits; `fields` limits it to some text fields. */
export interface TextTerm {
  term: string;
  prefix: boolean;
  fuzzy: number;
  fields?: readonly number[];
}

/** Saved form: the vocabulary and postings, flattened into typed arrays for a fast load. */
export interface SavedText {
  terms: string[];
  docCount: number;
  totalLength: number[];
  offsets: Int32Array;
  slots: Int32Array;
  ftf: Int32Array;
  df: Int32Array;
  fieldLength: Uint16Array;
}

function mutable(p: Postings): { slots: number[]; ftf: number[] } {
  if (!Array.isArray(p.slots)) {
    p.slots = Array.from(p.slots);
    p.ftf = Array.from(p.ftf);
  }
  return p as unknown as { slots: number[]; ftf: number[] };
}

/**
 * Ranked free-text index over the text fields. minisearch's radix tree (SearchableMap) holds the
 * vocabulary and answers prefix and fuzzy lookups; scores are BM25 summed into a typed array, because
 * MiniSearch.search builds an object per matching document, which is too slow at 100,000 records.
 */
export class TextIndex {
  private readonly vocab = new SearchableMap<Postings>();
  // The same entries by exact word: a hash lookup is several times cheaper than a radix-tree walk when indexing.
  private readonly byTerm = new Map<string, Postings>();
  private fieldLength = new Uint16Array(1024 * NF);
  private readonly totalLength: number[] = new Array<number>(NF).fill(0);
  private docCount = 0;
  private count = new Uint16Array(0);
  private stamp = new Int32Array(0);
  private stampBase = 0;

  /** Index the text fields of the record in `slot`. */
  add(doc: CatalogDoc, slot: number): void {
    this.grow(slot);
    for (let f = 0; f < NF; f++) {
      const v = doc[TEXT_FIELDS[f] as keyof CatalogDoc];
      const tokens = tokenize(Array.isArray(v) ? v.join(' ') : String(v));
      this.fieldLength[slot * NF + f] = Math.min(65535, tokens.length);
      this.totalLength[f] = (this.totalLength[f] as number) + tokens.length;
      const tf = new Map<string, number>();
      for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) {
        let entry = this.byTerm.get(t);
        if (!entry) {
          entry = { slots: [], ftf: [], df: new Array<number>(NF).fill(0) };
          this.byTerm.set(t, entry);
          this.vocab.set(t, entry);
        }
        entry.df[f] = (entry.df[f] ?? 0) + 1;
        const p = mutable(entry);
        p.slots.push(slot);
        p.ftf.push(f * 65536 + Math.min(65535, n));
      }
    }
    this.docCount++;
  }

  /** Take a record out of the statistics; its postings stay and are masked by the live set. */
  remove(slot: number): void {
    for (let f = 0; f < NF; f++) this.totalLength[f] = (this.totalLength[f] as number) - (this.fieldLength[slot * NF + f] as number);
    this.docCount = Math.max(0, this.docCount - 1);
  }

  private grow(slot: number): void {
    if ((slot + 1) * NF <= this.fieldLength.length) return;
    const next = new Uint16Array(Math.max((slot + 1) * NF, this.fieldLength.length * 2));
    next.set(this.fieldLength);
    this.fieldLength = next;
  }

  /** Postings of one exact word, or undefined. */
  postings(term: string): Postings | undefined {
    return this.byTerm.get(term);
  }

  private expand(t: TextTerm): [Postings, number][] {
    const out: [Postings, number][] = [];
    const exact = this.byTerm.get(t.term);
    if (exact) out.push([exact, 1]);
    const seen = new Set<string>([t.term]);
    if (t.prefix) {
      for (const [term, p] of this.vocab.atPrefix(t.term)) {
        if (seen.has(term)) continue;
        seen.add(term);
        out.push([p, (PREFIX_WEIGHT * term.length) / (term.length + 0.3 * (term.length - t.term.length))]);
      }
    }
    if (t.fuzzy > 0) {
      for (const [term, [p, distance]] of this.vocab.fuzzyGet(t.term, t.fuzzy)) {
        if (seen.has(term)) continue;
        seen.add(term);
        out.push([p, (FUZZY_WEIGHT * term.length) / (term.length + distance)]);
      }
    }
    return out;
  }

  /**
   * Score the slots in `universe` against the terms. With `all`, a slot must match every term (each in
   * any allowed field); otherwise any term. Returns the matching set and the scores.
   */
  score(terms: readonly TextTerm[], universe: Uint8Array, all: boolean): { set: Uint8Array; scores: Float64Array } {
    const n = universe.length;
    // Fresh scores (the caller keeps them); the counters are scratch reused across queries, which spares the GC ~1 MB a query.
    const scores = new Float64Array(n);
    if (this.count.length < n) {
      this.count = new Uint16Array(n * 2);
      this.stamp = new Int32Array(n * 2);
    }
    const { count, stamp } = this;
    count.fill(0, 0, n);
    const base = this.stampBase;
    this.stampBase += terms.length;
    if (this.stampBase > 2e9) {
      this.stamp.fill(0);
      this.stampBase = 0;
    }
    const avg = this.totalLength.map((t) => t / Math.max(1, this.docCount));
    terms.forEach((t, qi) => {
      const allowed = t.fields ? new Set(t.fields) : null;
      for (const [p, weight] of this.expand(t)) {
        const idf = p.df.map((df) => Math.log(1 + (this.docCount - df + 0.5) / (df + 0.5)));
        const { slots, ftf } = p;
        for (let i = 0; i < slots.length; i++) {
          const slot = slots[i] as number;
          if (slot >= n || !universe[slot]) continue;
          const packed = ftf[i] as number;
          const f = packed >>> 16;
          if (allowed && !allowed.has(f)) continue;
          const tf = packed & 0xffff;
          const len = this.fieldLength[slot * NF + f] as number;
          const norm = tf + K1 * (1 - B + (B * len) / ((avg[f] as number) || 1));
          scores[slot] = (scores[slot] as number) + weight * (FIELD_BOOST[f] as number) * (idf[f] as number) * (D + (tf * (K1 + 1)) / norm);
          if (stamp[slot] !== base + qi + 1) {
            stamp[slot] = base + qi + 1;
            count[slot] = (count[slot] as number) + 1;
          }
        }
      }
    });
    const set = new Uint8Array(n);
    const need = all ? terms.length : 1;
    for (let s = 0; s < n; s++) if ((count[s] as number) >= need) set[s] = 1;
    return { set, scores };
  }

  /** Flatten for saving. */
  toSaved(slotCount: number): SavedText {
    const terms: string[] = [];
    const lists: Postings[] = [];
    for (const [t, p] of this.byTerm) {
      terms.push(t);
      lists.push(p);
    }
    const total = lists.reduce((s, p) => s + p.slots.length, 0);
    const out: SavedText = {
      terms, docCount: this.docCount, totalLength: [...this.totalLength], offsets: new Int32Array(terms.length + 1),
      slots: new Int32Array(total), ftf: new Int32Array(total), df: new Int32Array(terms.length * NF),
      fieldLength: this.fieldLength.slice(0, slotCount * NF),
    };
    let at = 0;
    lists.forEach((p, i) => {
      out.offsets[i] = at;
      out.slots.set(p.slots, at);
      out.ftf.set(p.ftf, at);
      out.df.set(p.df, i * NF);
      at += p.slots.length;
    });
    out.offsets[terms.length] = at;
    return out;
  }

  /** Revive a saved index; postings stay typed-array views until a term gets a new posting. */
  static fromSaved(s: SavedText): TextIndex {
    const index = new TextIndex();
    index.docCount = s.docCount;
    s.totalLength.forEach((t, f) => (index.totalLength[f] = t));
    index.fieldLength = new Uint16Array(Math.max(1024 * NF, s.fieldLength.length));
    index.fieldLength.set(s.fieldLength);
    s.terms.forEach((t, i) => {
      const a = s.offsets[i] as number;
      const b = s.offsets[i + 1] as number;
      const entry = { slots: s.slots.subarray(a, b), ftf: s.ftf.subarray(a, b), df: Array.from(s.df.subarray(i * NF, (i + 1) * NF)) };
      index.vocab.set(t, entry);
      index.byTerm.set(t, entry);
    });
    return index;
  }
}
