import type { CatalogDoc } from './record.js';

// How each record field is saved. Parsing 100,000 records as JSON took 400 ms of a start; as columns, a
// start reads typed arrays and decodes a record only when a query first needs it.
const STRING_FIELDS = ['servable', 'version', 'name', 'title', 'description', 'doi'] as const;
const CODED_FIELDS = ['owner', 'type', 'shim', 'modelType'] as const;
const LIST_FIELDS = ['creators', 'domains', 'methods', 'inputTypes', 'outputTypes', 'tags', 'visibleTo'] as const;
const NUMBER_FIELDS = ['id', 'year', 'publicationDate'] as const;

/** The JSON half of the saved columns: slot count and the dictionaries of the coded and list fields. */
export interface SavedDocsJson {
  count: number;
  dicts: Record<string, string[]>;
}

/** How many binary sections the columns occupy, in the order encodeDocs writes them. */
export const DOC_SECTION_COUNT = 3 + NUMBER_FIELDS.length + STRING_FIELDS.length * 2 + CODED_FIELDS.length + LIST_FIELDS.length * 2;

class Dictionary {
  readonly names: string[] = [];
  private readonly codes = new Map<string, number>();

  code(value: string): number {
    let c = this.codes.get(value);
    if (c === undefined) {
      c = this.names.length;
      this.codes.set(value, c);
      this.names.push(value);
    }
    return c;
  }
}

// Redo one string column's offsets in UTF-8 bytes (parts hold the present slots' strings in slot order).
function byteOffsets(parts: string[], offsets: Int32Array, present: Uint8Array): void {
  let at = 0;
  let i = 0;
  for (let slot = 0; slot < present.length; slot++) {
    if (present[slot] === 1) at += Buffer.byteLength(parts[i++] as string, 'utf8');
    offsets[slot + 1] = at;
  }
}

/** Write the records in slots 0..count-1 (undefined for an empty slot) as columns: a small JSON part and typed-array sections. */
export function encodeDocs(count: number, docAt: (slot: number) => CatalogDoc | undefined): { json: SavedDocsJson; sections: ArrayBufferView[] } {
  const present = new Uint8Array(count);
  const local = new Uint8Array(count);
  const latest = new Uint8Array(count);
  const numbers = NUMBER_FIELDS.map(() => new Float64Array(count).fill(Number.NaN));
  const strings = STRING_FIELDS.map(() => ({ parts: [] as string[], offsets: new Int32Array(count + 1), at: 0 }));
  const coded = CODED_FIELDS.map(() => ({ dict: new Dictionary(), codes: new Int32Array(count) }));
  const lists = LIST_FIELDS.map(() => ({ dict: new Dictionary(), offsets: new Int32Array(count + 1), values: [] as number[] }));
  for (let slot = 0; slot < count; slot++) {
    const doc = docAt(slot);
    if (doc) {
      present[slot] = 1;
      local[slot] = doc.local ? 1 : 0;
      latest[slot] = doc.latest ? 1 : 0;
      NUMBER_FIELDS.forEach((f, k) => ((numbers[k] as Float64Array)[slot] = doc[f] ?? Number.NaN));
      CODED_FIELDS.forEach((f, k) => {
        const c = coded[k] as (typeof coded)[number];
        c.codes[slot] = c.dict.code(doc[f]);
      });
      LIST_FIELDS.forEach((f, k) => {
        const l = lists[k] as (typeof lists)[number];
        for (const v of doc[f]) l.values.push(l.dict.code(v));
      });
    }
    // Offsets in characters first; they equal byte offsets when the text is ASCII, and are redone in bytes below when not.
    STRING_FIELDS.forEach((f, k) => {
      const s = strings[k] as (typeof strings)[number];
      if (doc) {
        s.parts.push(doc[f]);
        s.at += doc[f].length;
      }
      s.offsets[slot + 1] = s.at;
    });
    for (const l of lists) l.offsets[slot + 1] = l.values.length;
  }
  const dicts: Record<string, string[]> = {};
  CODED_FIELDS.forEach((f, k) => (dicts[f] = (coded[k] as (typeof coded)[number]).dict.names));
  LIST_FIELDS.forEach((f, k) => (dicts[f] = (lists[k] as (typeof lists)[number]).dict.names));
  const sections: ArrayBufferView[] = [present, local, latest, ...numbers];
  for (const s of strings) {
    const text = s.parts.join('');
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length !== text.length) byteOffsets(s.parts, s.offsets, present);
    sections.push(bytes, s.offsets);
  }
  for (const c of coded) sections.push(c.codes);
  for (const l of lists) sections.push(l.offsets, Int32Array.from(l.values));
  return { json: { count, dicts }, sections };
}

/** Views over columns as index-file.ts loaded them: typed arrays for numbers and offsets, Buffers for text. */
export interface DocSections {
  u8: (i: number) => Uint8Array;
  f64: (i: number) => Float64Array;
  i32: (i: number) => Int32Array;
  /** Bytes [from, to) of section i, read when a record needs them. */
  range: (i: number, from: number, to: number) => Buffer;
  /** Section i whole. */
  bytes: (i: number) => Buffer;
}

/** Saved records read straight from their columns: cheap per-slot facts at load, whole records decoded on demand. */
export class DocColumns {
  private readonly present: Uint8Array;
  private readonly local: Uint8Array;
  private readonly latestFlags: Uint8Array;
  private readonly numbers: Float64Array[];
  // Text columns are most of the file: a record's text is read from it when the record is decoded, not at open.
  private readonly strings: { read: (from: number, to: number) => Buffer; offsets: Int32Array; section: number }[];
  private readonly sections: DocSections;
  private readonly coded: { names: string[]; codes: Int32Array }[];
  private readonly lists: { names: string[]; offsets: Int32Array; values: Int32Array }[];
  readonly count: number;

  constructor(json: SavedDocsJson, s: DocSections, first: number) {
    let i = first;
    this.count = json.count;
    this.present = s.u8(i++);
    this.local = s.u8(i++);
    this.latestFlags = s.u8(i++);
    this.numbers = NUMBER_FIELDS.map(() => s.f64(i++));
    this.sections = s;
    this.strings = STRING_FIELDS.map(() => {
      const section = i++;
      return { read: (from: number, to: number) => s.range(section, from, to), offsets: s.i32(i++), section };
    });
    this.coded = CODED_FIELDS.map((f) => ({ names: json.dicts[f] ?? [], codes: s.i32(i++) }));
    this.lists = LIST_FIELDS.map((f) => ({ names: json.dicts[f] ?? [], offsets: s.i32(i++), values: s.i32(i++) }));
  }

  /** Whether a record was saved in this slot. */
  has(slot: number): boolean {
    return slot < this.count && this.present[slot] === 1;
  }

  /** Row id of the record in a slot. */
  id(slot: number): number {
    return (this.numbers[0] as Float64Array)[slot] as number;
  }

  /** Whether the record in a slot was its servable's newest version when saved. */
  latest(slot: number): boolean {
    return this.latestFlags[slot] === 1;
  }

  private str(k: number, slot: number): string {
    const s = this.strings[k] as (typeof this.strings)[number];
    return s.read(s.offsets[slot] as number, s.offsets[slot + 1] as number).toString('utf8');
  }

  /** Read the text columns whole now, so nothing later reads the file (before a change or a save). */
  loadAll(): void {
    for (const s of this.strings) {
      const whole = this.sections.bytes(s.section);
      s.read = (from, to) => whole.subarray(from, to);
    }
  }

  private code(k: number, slot: number): string {
    const c = this.coded[k] as { names: string[]; codes: Int32Array };
    return c.names[c.codes[slot] as number] ?? '';
  }

  private list(k: number, slot: number): string[] {
    const l = this.lists[k] as { names: string[]; offsets: Int32Array; values: Int32Array };
    const out: string[] = [];
    for (let i = l.offsets[slot] as number, end = l.offsets[slot + 1] as number; i < end; i++) out.push(l.names[l.values[i] as number] ?? '');
    return out;
  }

  private num(k: number, slot: number): number | null {
    const n = (this.numbers[k] as Float64Array)[slot] as number;
    return Number.isNaN(n) ? null : n;
  }

  /** One text-like field of the record in a slot, decoded alone (a query checking one field need not decode the whole record). */
  field(slot: number, name: (typeof STRING_FIELDS)[number] | (typeof CODED_FIELDS)[number] | (typeof LIST_FIELDS)[number]): string | string[] | undefined {
    if (!this.has(slot)) return undefined;
    const s = (STRING_FIELDS as readonly string[]).indexOf(name);
    if (s >= 0) return this.str(s, slot);
    const c = (CODED_FIELDS as readonly string[]).indexOf(name);
    if (c >= 0) return this.code(c, slot);
    return this.list((LIST_FIELDS as readonly string[]).indexOf(name), slot);
  }

  /** The whole record in a slot, in the same shape toCatalogDoc builds; undefined for an empty slot. */
  doc(slot: number): CatalogDoc | undefined {
    if (!this.has(slot)) return undefined;
    return {
      id: this.id(slot),
      servable: this.str(0, slot),
      version: this.str(1, slot),
      local: this.local[slot] === 1,
      latest: this.latest(slot),
      name: this.str(2, slot),
      owner: this.code(0, slot),
      title: this.str(3, slot),
      description: this.str(4, slot),
      creators: this.list(0, slot),
      domains: this.list(1, slot),
      type: this.code(1, slot),
      shim: this.code(2, slot),
      modelType: this.code(3, slot),
      methods: this.list(2, slot),
      inputTypes: this.list(3, slot),
      outputTypes: this.list(4, slot),
      tags: this.list(5, slot),
      year: this.num(1, slot),
      publicationDate: this.num(2, slot),
      doi: this.str(5, slot),
      visibleTo: this.list(6, slot),
    };
  }
}
