import { FacetColumns } from './facets.js';
import type { Facets } from './facets.js';
import { FIELDS } from './fields.js';
import type { FieldSpec } from './fields.js';
import type { IndexPayload } from './index-file.js';
import { PostingsCache } from './postings.js';
import type { FieldPostings } from './postings.js';
import type { EvalSource } from './query/evaluate.js';
import type { CatalogDoc } from './record.js';
import { TextIndex } from './text-index.js';
import type { TextTerm } from './text-index.js';

// Only the fixed fields get postings; a per-method field (servable.methods.<m>.input.type) is answered by a scan.
const STATIC_FIELDS = new Map(FIELDS.map((f) => [f.name, f]));

// Compact saved form: a record as an array in this key order.
const KEYS = ['id', 'servable', 'version', 'local', 'latest', 'name', 'owner', 'title', 'description', 'creators', 'domains', 'type',
  'shim', 'modelType', 'methods', 'inputTypes', 'outputTypes', 'tags', 'year', 'publicationDate', 'doi', 'visibleTo'] as const;

// Written out field by field: Object.fromEntries over 100,000 records was a third of the load time.
function unpack(a: unknown[]): CatalogDoc {
  return {
    id: a[0], servable: a[1], version: a[2], local: a[3], latest: a[4], name: a[5], owner: a[6], title: a[7], description: a[8],
    creators: a[9], domains: a[10], type: a[11], shim: a[12], modelType: a[13], methods: a[14], inputTypes: a[15], outputTypes: a[16],
    tags: a[17], year: a[18], publicationDate: a[19], doi: a[20], visibleTo: a[21],
  } as CatalogDoc;
}

interface SavedJson {
  docs: (unknown[] | null)[];
  terms: string[];
  docCount: number;
  totalLength: number[];
}

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
  private readonly slotById = new Map<number, number>();
  private live = new Uint8Array(1024);
  private latest = new Uint8Array(1024);
  private readonly postingsCache = new PostingsCache();
  private readonly facets = new FacetColumns();

  private constructor(private readonly text: TextIndex) {}

  /** An index of these records, built from scratch. */
  static build(docs: Iterable<CatalogDoc>): SearchIndex {
    const index = new SearchIndex(new TextIndex());
    for (const doc of docs) index.put(doc);
    return index;
  }

  /** Revive a saved index (see toPayload). */
  static fromPayload(payload: IndexPayload): SearchIndex {
    const json = payload.json as SavedJson;
    const [offsets, slots, ftf, df, fieldLength] = payload.sections;
    const text = TextIndex.fromSaved({
      terms: json.terms, docCount: json.docCount, totalLength: json.totalLength,
      offsets: typed(offsets, Int32Array), slots: typed(slots, Int32Array), ftf: typed(ftf, Int32Array),
      df: typed(df, Int32Array), fieldLength: typed(fieldLength, Uint16Array),
    });
    const index = new SearchIndex(text);
    json.docs.forEach((packed, slot) => {
      if (packed === null) return;
      index.place(unpack(packed), slot);
    });
    index.docs.length = json.docs.length;
    index.grow(index.docs.length);
    return index;
  }

  /** The saved form, for index-file.ts. */
  toPayload(): { json: SavedJson; sections: ArrayBufferView[] } {
    const t = this.text.toSaved(this.docs.length);
    const docs = Array.from(this.docs, (d, slot) => (d && this.live[slot] ? KEYS.map((k) => d[k]) : null));
    return {
      json: { docs, terms: t.terms, docCount: t.docCount, totalLength: t.totalLength },
      sections: [t.offsets, t.slots, t.ftf, t.df, t.fieldLength],
    };
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
    this.slotById.delete(id);
    this.live[slot] = 0;
    this.latest[slot] = 0;
    this.text.remove(slot);
  }

  /** Mark whether a record is its servable's newest version (after another version was added or removed). */
  setLatest(id: number, latest: boolean): void {
    const slot = this.slotById.get(id);
    const doc = slot === undefined ? undefined : this.docs[slot];
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
    return slot === undefined ? undefined : this.docs[slot];
  }

  /** Every live record. */
  *all(): IterableIterator<CatalogDoc> {
    for (const slot of this.slotById.values()) {
      const d = this.docs[slot];
      if (d) yield d;
    }
  }

  /** What the query evaluator reads, scoped to newest versions or to all. */
  source(allVersions: boolean): EvalSource {
    const universe = (allVersions ? this.live : this.latest).subarray(0, this.docs.length);
    return {
      slotCount: this.docs.length,
      universe,
      doc: (slot) => this.docs[slot],
      postings: (field: FieldSpec): FieldPostings | undefined => (STATIC_FIELDS.get(field.name) === field ? this.postingsCache.get(field, this.docs) : undefined),
    };
  }

  /** Record at a slot. */
  docAt(slot: number): CatalogDoc | undefined {
    return this.docs[slot];
  }

  /** Ranked text matching within `universe`: every term (all) or any. */
  rank(terms: readonly TextTerm[], universe: Uint8Array, all: boolean): { set: Uint8Array; scores: Float64Array } {
    return this.text.score(terms, universe, all);
  }

  /** Facet counts over a set of slots. */
  facetCounts(set: Uint8Array): Facets {
    return this.facets.count(set);
  }
}
