import SearchableMap from 'minisearch/SearchableMap';
import { BOOSTS, TEXT_FIELDS } from './fields.js';
import { QUERY_LIMITS } from './query/limits.js';
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

/** A run of postings: parallel lists of slot and field * 65536 + term frequency, in slot order; the first `n` entries are used. */
export interface Segment {
  slots: Int32Array;
  ftf: Int32Array;
  n: number;
  /** Whether new postings may be written into its spare room (false for a view of the saved file). */
  owned: boolean;
}

/** One term's postings, as segments in slot order. */
export interface Postings {
  segments: Segment[];
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

// Append one posting. A loaded list stays a read-only view of the file, and new postings go to a small
// segment of their own, grown by doubling: copying a 40,000-entry list on its first new posting cost milliseconds.
function append(p: Postings, slot: number, packed: number): void {
  let seg = p.segments[p.segments.length - 1];
  if (!seg || !seg.owned) {
    seg = { slots: new Int32Array(4), ftf: new Int32Array(4), n: 0, owned: true };
    p.segments.push(seg);
  } else if (seg.n === seg.slots.length) {
    const slots = new Int32Array(seg.n * 2);
    slots.set(seg.slots);
    const ftf = new Int32Array(seg.n * 2);
    ftf.set(seg.ftf);
    seg.slots = slots;
    seg.ftf = ftf;
  }
  seg.slots[seg.n] = slot;
  seg.ftf[seg.n] = packed;
  seg.n++;
}

function postingCount(p: Postings): number {
  let n = 0;
  for (const seg of p.segments) n += seg.n;
  return n;
}

// The words of text field `f` of a record, as add() indexes them and remove() takes them out again.
function fieldTokens(doc: CatalogDoc, f: number): string[] {
  const v = doc[TEXT_FIELDS[f] as keyof CatalogDoc];
  return tokenize(Array.isArray(v) ? v.join(' ') : String(v));
}

// What the hot loop reads and writes, for one query.
interface ScoreContext {
  universe: Uint8Array;
  scores: Float64Array;
  /** Per slot, the mark of the last query term it matched (marks only grow, so older queries' marks are all lower). */
  level: Int32Array;
  fieldLength: Uint16Array;
  lengthFactor: Float64Array;
  weightOf: Float64Array;
  base1: number;
}

// The hot loop: add one segment's BM25 contributions to the slots in the universe and mark them with `mark`.
// With `prev` (AND after the first term), only slots that matched every earlier term, marked `prev`, go on:
// terms run rarest first, so most postings of a common word are skipped before any arithmetic.
function scoreSegment(seg: Segment, ctx: ScoreContext, allowed: number, mark: number, prev: number | null): void {
  const { slots, ftf, n: end } = seg;
  const { universe, scores, level, fieldLength, lengthFactor, weightOf, base1 } = ctx;
  const n = universe.length;
  const gated = prev !== null;
  const want = prev ?? 0;
  for (let i = 0; i < end; i++) {
    const slot = slots[i] as number;
    if (slot >= n || universe[slot] === 0) continue;
    const lv = level[slot] as number;
    if (lv !== mark && gated && lv !== want) continue;
    const packed = ftf[i] as number;
    const f = packed >>> 16;
    if (allowed !== 0 && (allowed & (1 << f)) === 0) continue;
    const tf = packed & 0xffff;
    const norm = tf + base1 + (lengthFactor[f] as number) * (fieldLength[slot * NF + f] as number);
    scores[slot] = (scores[slot] as number) + (weightOf[f] as number) * (D + (tf * (K1 + 1)) / norm);
    level[slot] = mark;
  }
}

// Levenshtein distance of a and b when at most k (else -1), as SearchableMap.fuzzyGet counts it; rows stop early once
// every cell passes k. Used over a loaded vocabulary, where building the radix tree for one query cost more than a scan.
function editDistanceWithin(a: string, b: string, k: number, row: Int32Array, prev: Int32Array): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > k) return -1;
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    row[0] = i;
    let best = i;
    const c = b.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a.charCodeAt(j - 1) === c ? 0 : 1));
      row[j] = v;
      if (v < best) best = v;
    }
    if (best > k) return -1;
    for (let j = 0; j <= n; j++) prev[j] = row[j] as number;
  }
  const d = prev[n] as number;
  return d <= k ? d : -1;
}

// The vocabulary of a loaded index, left as the file holds it: terms sorted, postings and document frequencies as
// flat arrays. A term's Postings is made only when a query or an update needs it: making all 67,000 at open (with the
// radix tree over them) was most of a fresh `dlhub search` at 100,000 records.
interface SavedVocab {
  terms: string[];
  /** Indexes into terms in sorted order (the file stores them sorted; an older file's are sorted at load). */
  order: Int32Array | null;
  offsets: Int32Array;
  df: Int32Array;
  /** Postings [a, b) of the flat lists, read from the file when a word first needs them. */
  postings: (a: number, b: number) => { slots: Int32Array; ftf: Int32Array };
}

/**
 * Ranked free-text index over the text fields. minisearch's radix tree (SearchableMap) holds the
 * vocabulary and answers prefix and fuzzy lookups; scores are BM25 summed into a typed array, because
 * MiniSearch.search builds an object per matching document, which is too slow at 100,000 records.
 */
export class TextIndex {
  // Words not in the loaded file (all of them for an index built here), for prefix and fuzzy lookups.
  private readonly vocab = new SearchableMap<Postings>();
  // Entries by exact word: a hash lookup is several times cheaper than a radix-tree walk when indexing.
  private readonly byTerm = new Map<string, Postings>();
  private saved: SavedVocab | null = null;
  private fieldLength = new Uint16Array(1024 * NF);
  private readonly totalLength: number[] = new Array<number>(NF).fill(0);
  private docCount = 0;
  private level = new Int32Array(0);
  private readonly tfScratch = new Map<string, number>();
  private markBase = 0;

  /** Index the text fields of the record in `slot`. */
  add(doc: CatalogDoc, slot: number): void {
    this.grow(slot);
    // One term-frequency map reused across fields: an import adds 900,000 field values, each once made its own map.
    const tf = this.tfScratch;
    for (let f = 0; f < NF; f++) {
      const tokens = fieldTokens(doc, f);
      this.fieldLength[slot * NF + f] = Math.min(65535, tokens.length);
      this.totalLength[f] = (this.totalLength[f] as number) + tokens.length;
      tf.clear();
      for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) {
        let entry = this.entry(t);
        if (!entry) {
          entry = { segments: [], df: new Array<number>(NF).fill(0) };
          this.byTerm.set(t, entry);
          this.vocab.set(t, entry);
        }
        entry.df[f] = (entry.df[f] ?? 0) + 1;
        append(entry, slot, f * 65536 + Math.min(65535, n));
      }
    }
    this.docCount++;
  }

  /** Take a record out of the statistics (lengths, counts, document frequencies); its postings stay and are masked by the live set. */
  remove(doc: CatalogDoc, slot: number): void {
    for (let f = 0; f < NF; f++) {
      this.totalLength[f] = (this.totalLength[f] as number) - (this.fieldLength[slot * NF + f] as number);
      for (const t of new Set(fieldTokens(doc, f))) {
        const entry = this.entry(t);
        if (entry) entry.df[f] = Math.max(0, (entry.df[f] ?? 0) - 1);
      }
    }
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
    return this.entry(term);
  }

  // A word's entry, made from the loaded file on first use.
  private entry(term: string): Postings | undefined {
    const known = this.byTerm.get(term);
    if (known !== undefined || this.saved === null) return known;
    const i = this.savedIndexOf(term);
    return i < 0 ? undefined : this.materialize(i);
  }

  private materialize(i: number): Postings {
    const s = this.saved as SavedVocab;
    const term = s.terms[i] as string;
    const known = this.byTerm.get(term);
    if (known) return known;
    const a = s.offsets[i] as number;
    const b = s.offsets[i + 1] as number;
    const { slots, ftf } = s.postings(a, b);
    const entry: Postings = { segments: [{ slots, ftf, n: b - a, owned: false }], df: Array.from(s.df.subarray(i * NF, (i + 1) * NF)) };
    this.byTerm.set(term, entry);
    return entry;
  }

  // Index in saved.terms of a word, by binary search over the sorted order; -1 when absent.
  private savedIndexOf(term: string): number {
    const s = this.saved as SavedVocab;
    let lo = this.lowerBound(term);
    if (lo >= s.terms.length) return -1;
    lo = s.order ? (s.order[lo] as number) : lo;
    return s.terms[lo] === term ? lo : -1;
  }

  // First sorted position whose word is >= term.
  private lowerBound(term: string): number {
    const s = this.saved as SavedVocab;
    let lo = 0;
    let hi = s.terms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = s.terms[s.order ? (s.order[mid] as number) : mid] as string;
      if (t < term) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Words starting with `prefix`, with their entries: the loaded vocabulary's, then those added since.
  private *withPrefix(prefix: string): IterableIterator<[string, Postings]> {
    const s = this.saved;
    if (s) {
      for (let k = this.lowerBound(prefix); k < s.terms.length; k++) {
        const i = s.order ? (s.order[k] as number) : k;
        if (!(s.terms[i] as string).startsWith(prefix)) break;
        yield [s.terms[i] as string, this.materialize(i)];
      }
    }
    yield* this.vocab.atPrefix(prefix);
  }

  // Words within `k` edits of `term`, with entries and distances: the loaded vocabulary by a scan, then those added since.
  private withinEdits(term: string, k: number): [string, Postings, number][] {
    const out: [string, Postings, number][] = [];
    const s = this.saved;
    if (s) {
      const row = new Int32Array(term.length + 1);
      const prev = new Int32Array(term.length + 1);
      s.terms.forEach((t, i) => {
        const d = editDistanceWithin(term, t, k, row, prev);
        if (d >= 0) out.push([t, this.materialize(i), d]);
      });
    }
    for (const [t, [p, d]] of this.vocab.fuzzyGet(term, k)) out.push([t, p, d]);
    return out;
  }

  /** Mark in `out` the slots whose text field `f` holds `term` (or, with `prefix`, a word starting with it); removed records are left for the caller's live mask. */
  markInField(term: string, f: number, prefix: boolean, out: Uint8Array): void {
    const lists = prefix ? [...this.withPrefix(term)].map(([, p]) => p) : [this.entry(term)];
    for (const p of lists) {
      if (!p) continue;
      for (const { slots, ftf, n } of p.segments) {
        for (let i = 0; i < n; i++) {
          if ((ftf[i] as number) >>> 16 !== f) continue;
          const slot = slots[i] as number;
          if (slot < out.length) out[slot] = 1;
        }
      }
    }
  }

  private expand(t: TextTerm): [Postings, number][] {
    const out: [Postings, number][] = [];
    const exact = this.entry(t.term);
    if (exact) out.push([exact, 1]);
    const seen = new Set<string>([t.term]);
    if (t.prefix) {
      for (const [term, p] of this.withPrefix(t.term)) {
        if (seen.has(term)) continue;
        seen.add(term);
        out.push([p, (PREFIX_WEIGHT * term.length) / (term.length + 0.3 * (term.length - t.term.length))]);
      }
    }
    // Callers bound fuzzy words (search.ts fuzzOf); this guard keeps the quadratic edit-distance matrix bounded whoever calls.
    if (t.fuzzy > 0 && t.term.length <= QUERY_LIMITS.maxFuzzyWordLength) {
      for (const [term, p, distance] of this.withinEdits(t.term, t.fuzzy)) {
        if (seen.has(term)) continue;
        seen.add(term);
        out.push([p, (FUZZY_WEIGHT * term.length) / (term.length + distance)]);
      }
    }
    return out;
  }

  /**
   * Score the slots in `universe` against the terms. With `all`, a slot must match every term (each in
   * any allowed field); otherwise any term. Returns the matching set, its slots in order, and the scores.
   */
  score(terms: readonly TextTerm[], universe: Uint8Array, all: boolean): { set: Uint8Array; scores: Float64Array; slots: Int32Array } {
    const n = universe.length;
    // Fresh scores (the caller keeps them); the level marks are scratch reused across queries, which spares the GC ~0.5 MB a query.
    const scores = new Float64Array(n);
    if (this.level.length < n) this.level = new Int32Array(n * 2);
    if (this.markBase + terms.length + 1 > 2e9) {
      this.level.fill(0);
      this.markBase = 0;
    }
    const base = this.markBase;
    this.markBase += terms.length + 1;
    // Per field, the parts of BM25 that do not depend on the posting, so the inner loop is a few multiplications.
    const lengthFactor = new Float64Array(NF);
    for (let f = 0; f < NF; f++) lengthFactor[f] = (K1 * B) / ((this.totalLength[f] as number) / Math.max(1, this.docCount) || 1);
    const weightOf = new Float64Array(NF);
    const ctx: ScoreContext = { universe, scores, level: this.level, fieldLength: this.fieldLength, lengthFactor, weightOf, base1: K1 * (1 - B) };
    const expanded = terms.map((t) => ({ t, postings: this.expand(t), size: 0 }));
    for (const e of expanded) for (const [p] of e.postings) for (const seg of p.segments) e.size += seg.n;
    if (all) expanded.sort((x, y) => x.size - y.size);
    expanded.forEach(({ t, postings }, k) => {
      let allowed = 0;
      for (const f of t.fields ?? []) allowed |= 1 << f;
      const mark = base + k + 1;
      for (const [p, weight] of postings) {
        for (let f = 0; f < NF; f++) {
          const df = p.df[f] as number;
          weightOf[f] = weight * (FIELD_BOOST[f] as number) * Math.log(1 + (this.docCount - df + 0.5) / (df + 0.5));
        }
        for (const seg of p.segments) scoreSegment(seg, ctx, allowed, mark, all && k > 0 ? mark - 1 : null);
      }
    });
    // The set and the ascending list of its slots in one branch-free pass (see listSlots in facets.ts).
    const set = new Uint8Array(n);
    const list = new Int32Array(n);
    const level = this.level;
    let k = 0;
    const target = base + terms.length;
    for (let s = 0; s < n; s++) {
      const lv = level[s] as number;
      const hit = (all ? lv === target : lv > base) ? 1 : 0;
      set[s] = hit;
      list[k] = s;
      k += hit;
    }
    return { set, scores, slots: list.subarray(0, k) };
  }

  /** Flatten for saving. */
  toSaved(slotCount: number): SavedText {
    // Every loaded word gets its entry, and the words are saved sorted, which is what a load binary-searches.
    if (this.saved) for (let i = 0; i < this.saved.terms.length; i++) this.materialize(i);
    const terms = [...this.byTerm.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const lists = terms.map((t) => this.byTerm.get(t) as Postings);
    const total = lists.reduce((s, p) => s + postingCount(p), 0);
    const out: SavedText = {
      terms, docCount: this.docCount, totalLength: [...this.totalLength], offsets: new Int32Array(terms.length + 1),
      slots: new Int32Array(total), ftf: new Int32Array(total), df: new Int32Array(terms.length * NF),
      fieldLength: this.fieldLength.slice(0, slotCount * NF),
    };
    let at = 0;
    lists.forEach((p, i) => {
      out.offsets[i] = at;
      for (const seg of p.segments) {
        out.slots.set(seg.slots.subarray(0, seg.n), at);
        out.ftf.set(seg.ftf.subarray(0, seg.n), at);
        at += seg.n;
      }
      out.df.set(p.df, i * NF);
    });
    out.offsets[terms.length] = at;
    return out;
  }

  /** Read every loaded word's postings now, so nothing later reads the file (before a change or a save). */
  loadAll(): void {
    const s = this.saved;
    if (!s) return;
    const all = s.postings(0, s.offsets[s.terms.length] as number);
    s.postings = (a, b) => ({ slots: all.slots.subarray(a, b), ftf: all.ftf.subarray(a, b) });
  }

  /** Revive a saved index; a word's postings are read (by `postings`) when first needed, and stay views until it gets a new posting. */
  static fromSaved(s: Omit<SavedText, 'slots' | 'ftf'>, postings: SavedVocab['postings']): TextIndex {
    const index = new TextIndex();
    index.docCount = s.docCount;
    s.totalLength.forEach((t, f) => (index.totalLength[f] = t));
    index.fieldLength = new Uint16Array(Math.max(1024 * NF, s.fieldLength.length));
    index.fieldLength.set(s.fieldLength);
    let sorted = true;
    for (let i = 1; i < s.terms.length && sorted; i++) sorted = (s.terms[i - 1] as string) < (s.terms[i] as string);
    let order: Int32Array | null = null;
    if (!sorted) {
      order = Int32Array.from(s.terms.keys());
      order.sort((x, y) => {
        const a = s.terms[x] as string;
        const b = s.terms[y] as string;
        return a < b ? -1 : a > b ? 1 : 0;
      });
    }
    index.saved = { terms: s.terms, order, offsets: s.offsets, df: s.df, postings };
    return index;
  }
}
