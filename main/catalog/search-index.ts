import { FacetColumns } from './facets.js';
import type { Facets } from './facets.js';
import { FIELDS, TEXT_FIELDS } from './fields.js';
import type { FieldSpec } from './fields.js';
import type { IndexPayload } from './index-file.js';
import { PostingsCache } from './postings.js';
import type { FieldPostings } from './postings.js';
import type { EvalSource } from './query/evaluate.js';
import type { CatalogDoc } from './record.js';
import { DocColumns, encodeDocs } from './doc-columns.js';
import type { SavedDocsJson } from './doc-columns.js';
import { TextIndex } from './text-index.js';
import type { TextTerm } from './text-index.js';

// Only the fixed fields get postings; a per-method field (servable.methods.<m>.input.type) is answered by a scan.
const STATIC_FIELDS = new Map(FIELDS.map((f) => [f.name, f]));

interface SavedJson {
  terms: string[];
  docCount: number;
  totalLength: number[];
  facetNames: string[][];
  docs: SavedDocsJson;
}

const TEXT_SECTIONS = 5;
const FACET_SECTIONS = 8;

// A typed view of a file section when it is aligned (index-file.ts pads sections to 8 bytes), else a copy.
function typed<T>(buf: Buffer | undefined, Ctor: { new (b: ArrayBufferLike, offset?: number, length?: number): T; BYTES_PER_ELEMENT: number }): T {
  const b = buf ?? Buffer.alloc(0);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (b.byteOffset % size === 0) return new Ctor(b.buffer, b.byteOffset, Math.floor(b.byteLength / size));
  return new Ctor(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * The in-memory search structures for a catalog: ranked text (TextIndex), exact postings for field
 * queries, facet columns, and which slots are live and newest. Each record occupies a slot; replacing a
 * record moves it to a new slot so append-only postings never need editing.
 */
export class SearchIndex {
  private readonly docs: (CatalogDoc | undefined)[] = [];
  private readonly idSlots = new Map<number, number>();
  // A loaded index's id -> slot map is filled on first use: a plain search never asks by id, and 100,000 map entries
  // cost a fresh process tens of milliseconds at open.
  private idsPending = false;
  private live = new Uint8Array(1024);
  private latest = new Uint8Array(1024);
  private readonly postingsCache = new PostingsCache();
  private facets = new FacetColumns();
  // Records of a loaded index not yet needed by a query: decoded into `docs` on first use.
  private saved: DocColumns | null = null;

  private constructor(private readonly text: TextIndex) {}

  /** An index of these records, built from scratch. */
  static build(docs: Iterable<CatalogDoc>): SearchIndex {
    const index = new SearchIndex(new TextIndex());
    for (const doc of docs) index.put(doc);
    return index;
  }

  /** Revive a saved index (see toPayload): typed views of the file, no per-record parsing. */
  static fromPayload(payload: IndexPayload): SearchIndex {
    const json = payload.json as SavedJson;
    const sec = payload.sections;
    const i32 = (i: number): Int32Array => typed(sec[i], Int32Array);
    const text = TextIndex.fromSaved({
      terms: json.terms, docCount: json.docCount, totalLength: json.totalLength,
      offsets: i32(0), df: i32(3), fieldLength: typed(sec[4], Uint16Array),
    }, (a, b) => ({ slots: typed(payload.range(1, a * 4, b * 4), Int32Array), ftf: typed(payload.range(2, a * 4, b * 4), Int32Array) }));
    const index = new SearchIndex(text);
    index.facets = FacetColumns.fromSaved(json.facetNames, Array.from({ length: FACET_SECTIONS }, (_, k) => i32(TEXT_SECTIONS + k)));
    const cols = new DocColumns(json.docs, {
      u8: (i) => typed(sec[i], Uint8Array), f64: (i) => typed(sec[i], Float64Array), i32, bytes: (i) => sec[i] ?? Buffer.alloc(0), range: payload.range,
    }, TEXT_SECTIONS + FACET_SECTIONS);
    index.saved = cols;
    index.docs.length = cols.count;
    index.grow(cols.count);
    for (let slot = 0; slot < cols.count; slot++) {
      if (!cols.has(slot)) continue;
      index.live[slot] = 1;
      index.latest[slot] = cols.latest(slot) ? 1 : 0;
    }
    index.idsPending = true;
    return index;
  }

  // Live records' slots by id, built from the loaded columns the first time it is needed.
  private get slotById(): Map<number, number> {
    if (this.idsPending) {
      this.idsPending = false;
      const cols = this.saved as DocColumns;
      for (let slot = 0; slot < cols.count; slot++) if (cols.has(slot)) this.idSlots.set(cols.id(slot), slot);
    }
    return this.idSlots;
  }

  /** Read what is still only in the saved file now (before a change or a save): afterwards nothing reads the file. */
  loadAll(): void {
    this.text.loadAll();
    this.saved?.loadAll();
  }

  /** The saved form, for index-file.ts: text postings, facet columns and the live records as columns. */
  toPayload(): { json: SavedJson; sections: ArrayBufferView[] } {
    const t = this.text.toSaved(this.docs.length);
    const facets = this.facets.toSaved();
    const docs = encodeDocs(this.docs.length, (slot) => (this.live[slot] === 1 ? this.peek(slot) : undefined));
    return {
      json: { terms: t.terms, docCount: t.docCount, totalLength: t.totalLength, facetNames: facets.names, docs: docs.json },
      sections: [t.offsets, t.slots, t.ftf, t.df, t.fieldLength, ...facets.sections, ...docs.sections],
    };
  }

  // The record in a slot without keeping a decoded copy: building a field's postings reads every record once,
  // and keeping them all decoded would double the memory of a loaded catalog for nothing.
  private peek(slot: number): CatalogDoc | undefined {
    return this.docs[slot] ?? this.saved?.doc(slot);
  }

  // The record in a slot, decoded from the loaded columns on first use.
  private hydrated(slot: number): CatalogDoc | undefined {
    const doc = this.docs[slot];
    if (doc !== undefined || this.saved === null) return doc;
    const loaded = this.saved.doc(slot);
    if (loaded) this.docs[slot] = loaded;
    return loaded;
  }

  private grow(slot: number): void {
    if (slot < this.live.length) return;
    const size = Math.max(slot + 1, this.live.length * 2);
    const live = new Uint8Array(size);
    live.set(this.live);
    const latest = new Uint8Array(size);
    latest.set(this.latest);
    this.live = live;
    this.latest = latest;
  }

  private place(doc: CatalogDoc, slot: number): void {
    this.grow(slot);
    this.docs[slot] = doc;
    this.slotById.set(doc.id, slot);
    this.live[slot] = 1;
    this.latest[slot] = doc.latest ? 1 : 0;
    this.facets.add(doc, slot);
  }

  /** Add a record, or replace the record with the same id. */
  put(doc: CatalogDoc): void {
    this.remove(doc.id);
    const slot = this.docs.length;
    this.place(doc, slot);
    this.text.add(doc, slot);
    this.postingsCache.add(doc, slot, (name) => STATIC_FIELDS.get(name));
  }

  /** Drop a record by id; unknown ids are ignored. */
  remove(id: number): void {
    const slot = this.slotById.get(id);
    if (slot === undefined) return;
    const doc = this.hydrated(slot);
    this.slotById.delete(id);
    this.live[slot] = 0;
    this.latest[slot] = 0;
    if (doc) this.text.remove(doc, slot);
  }

  /** Mark whether a record is its servable's newest version (after another version was added or removed). */
  setLatest(id: number, latest: boolean): void {
    const slot = this.slotById.get(id);
    const doc = slot === undefined ? undefined : this.hydrated(slot);
    if (slot === undefined || !doc) return;
    doc.latest = latest;
    this.latest[slot] = latest ? 1 : 0;
  }

  /** Number of live records. */
  get size(): number {
    return this.slotById.size;
  }

  /** Number of slots, live or not; dead ones are reclaimed only by a rebuild. */
  get slotCount(): number {
    return this.docs.length;
  }

  /** The live record with this id. */
  byId(id: number): CatalogDoc | undefined {
    const slot = this.slotById.get(id);
    return slot === undefined ? undefined : this.hydrated(slot);
  }

  /** Every live record. */
  *all(): IterableIterator<CatalogDoc> {
    for (const slot of this.slotById.values()) {
      const d = this.hydrated(slot);
      if (d) yield d;
    }
  }

  /** What the query evaluator reads, scoped to newest versions or to all. */
  source(allVersions: boolean): EvalSource {
    const universe = (allVersions ? this.live : this.latest).subarray(0, this.docs.length);
    return {
      slotCount: this.docs.length,
      universe,
      doc: (slot) => this.hydrated(slot),
      postings: (field: FieldSpec): FieldPostings | undefined =>
        STATIC_FIELDS.get(field.name) === field ? this.postingsCache.get(field, this.docs.length, (slot) => this.peek(slot)) : undefined,
      markWord: (field, word, prefix, out) => {
        // The text index already holds every word of the fixed text fields: no postings to build, which in a fresh process
        // cost a read and tokenization of every record per field (seconds at 100,000 records for a bare advanced word).
        if (STATIC_FIELDS.get(field.name) !== field || field.textField === undefined) return false;
        this.text.markInField(word, TEXT_FIELDS.indexOf(field.textField), prefix, out);
        return true;
      },
      textValues: (field, slot) => {
        const doc = this.docs[slot];
        if (doc !== undefined || this.saved === null || field.textField === undefined) return doc ? field.values(doc) : [];
        // A fixed field backed by the text index reads exactly the record property its textField names (fields.ts), so a
        // record holding only that property, decoded from its column, gives the same values as the whole record.
        const value = this.saved.field(slot, field.textField);
        return value === undefined ? [] : field.values({ [field.textField]: value } as unknown as CatalogDoc);
      },
    };
  }

  /** What results are ordered by after score, for the record in a slot, without decoding the whole of a loaded record. */
  orderKey(slot: number): { title: string; id: number } {
    const doc = this.docs[slot];
    if (doc !== undefined || this.saved === null) return { title: doc?.title ?? '', id: doc?.id ?? -1 };
    const title = this.saved.field(slot, 'title');
    return { title: typeof title === 'string' ? title : '', id: this.saved.id(slot) };
  }

  /** Record at a slot. */
  docAt(slot: number): CatalogDoc | undefined {
    return this.hydrated(slot);
  }

  /** Ranked text matching within `universe`: every term (all) or any. */
  rank(terms: readonly TextTerm[], universe: Uint8Array, all: boolean): { set: Uint8Array; scores: Float64Array; slots: Int32Array } {
    return this.text.score(terms, universe, all);
  }

  /** Facet counts over the matched slots, in ascending order. */
  facetCounts(slots: Int32Array): Facets {
    return this.facets.count(slots);
  }
}
