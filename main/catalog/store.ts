import type Database from 'better-sqlite3';
import type { ServableMetadata } from '../servable/metadata.js';
import { recordVersion, servableKey, versionKey } from './record.js';

/** One catalog row: a servable version and its full metadata. */
export interface StoredRecord {
  id: number;
  servable: string;
  version: string;
  local: boolean;
  latest: boolean;
  metadata: ServableMetadata;
}

/** What a write changed: the rows written, and the newest-version mark of every version of the servables it touched. */
export interface WriteResult {
  generation: number;
  ids: number[];
  latest: Map<number, boolean>;
}

/** What a row is written from: the key, the publication date that orders versions, and the metadata's JSON text. */
export interface RowInput {
  servable: string;
  version: string;
  published: number | null;
  local: boolean;
  json: string;
}

/** Flatten a record for writing; `json` is the text to store (a line of an import file), else the metadata serialized. */
export function rowInputOf(item: { metadata: ServableMetadata; local: boolean; json?: string }): RowInput {
  const { metadata, local, json } = item;
  return { servable: servableKey(metadata), version: recordVersion(metadata), published: metadata.dlhub.publication_date ?? null, local, json: json ?? JSON.stringify(metadata) };
}

interface Row {
  id: number;
  servable: string;
  version: string;
  local: number;
  latest: number;
  metadata: string;
}

const toRecord = (r: Row): StoredRecord => ({
  id: r.id, servable: r.servable, version: r.version, local: r.local === 1, latest: r.latest === 1, metadata: JSON.parse(r.metadata) as ServableMetadata,
});

const COLS = 'id, servable, version, local, latest, metadata';

/** The catalog's rows in state.db: one per servable version, the newest marked, a generation bumped by every change. */
export class CatalogStore {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    // The catalog's B-trees outgrow SQLite's 2 MB default cache at tens of thousands of records; bulk imports slow down without this.
    db.pragma('cache_size = -65536');
    this.stmt = {
      generation: db.prepare<[], { generation: number }>('SELECT generation FROM catalog_state WHERE id = 1'),
      bump: db.prepare<[], { generation: number }>('UPDATE catalog_state SET generation = generation + 1 WHERE id = 1 RETURNING generation'),
      upsert: db.prepare<[string, string, string, number | null, number, string, number], { id: number }>(
        // A new row starts as its servable's newest, which it usually is (a first version, or a later one): relabel() then
        // rewrites only the rows whose mark is wrong, not every new row. A replaced row keeps its mark until relabel().
        `INSERT INTO catalog_records (servable, version, version_key, published, local, latest, metadata, gen) VALUES (?, ?, ?, ?, ?, 1, ?, ?)
         ON CONFLICT (servable, version) DO UPDATE SET version_key = excluded.version_key, published = excluded.published,
           local = excluded.local, metadata = excluded.metadata, gen = excluded.gen
         RETURNING id`),
      versionsOrder: db.prepare<[string], { id: number; latest: number }>(
        'SELECT id, latest FROM catalog_records WHERE servable = ? ORDER BY version_key DESC, published DESC, id DESC'),
      setLatest: db.prepare<[number, number, number], void>('UPDATE catalog_records SET latest = ?, gen = ? WHERE id = ?'),
      get: db.prepare<[string, string], Row>(`SELECT ${COLS} FROM catalog_records WHERE servable = ? AND version = ?`),
      getLatest: db.prepare<[string], Row>(`SELECT ${COLS} FROM catalog_records WHERE servable = ? AND latest = 1`),
      versions: db.prepare<[string], Row>(`SELECT ${COLS} FROM catalog_records WHERE servable = ? ORDER BY version_key DESC, published DESC, id DESC`),
      ids: db.prepare<[string], { id: number }>('SELECT id FROM catalog_records WHERE servable = ?'),
      idOf: db.prepare<[string, string], { id: number }>('SELECT id FROM catalog_records WHERE servable = ? AND version = ?'),
      delete: db.prepare<[number], void>('DELETE FROM catalog_records WHERE id = ?'),
      tombstone: db.prepare<[number, number], void>('INSERT OR REPLACE INTO catalog_tombstones (id, gen) VALUES (?, ?)'),
      all: db.prepare<[], Row>(`SELECT ${COLS} FROM catalog_records ORDER BY id`),
      allLatest: db.prepare<[], Row>(`SELECT ${COLS} FROM catalog_records WHERE latest = 1 ORDER BY id`),
      changed: db.prepare<[number], Row>(`SELECT ${COLS} FROM catalog_records WHERE gen > ? ORDER BY id`),
      removed: db.prepare<[number], { id: number }>('SELECT id FROM catalog_tombstones WHERE gen > ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM catalog_records'),
      changeCount: db.prepare<[number, number], { n: number }>(
        'SELECT (SELECT count(*) FROM catalog_records WHERE gen > ?) + (SELECT count(*) FROM catalog_tombstones WHERE gen > ?) AS n'),
    };
  }

  /** The change counter; it moves with every committed write. */
  generation(): number {
    return this.stmt.generation.get()?.generation ?? 0;
  }

  /** Number of rows (all versions). */
  count(): number {
    return this.stmt.count.get()?.n ?? 0;
  }

  // Mark the newest version of one servable: highest version, then latest publication date, then last written.
  private relabel(servable: string, gen: number, changed: Map<number, boolean>): void {
    this.stmt.versionsOrder.all(servable).forEach((row, i) => {
      const latest = i === 0 ? 1 : 0;
      if (row.latest !== latest) this.stmt.setLatest.run(latest, gen, row.id);
      changed.set(row.id, latest === 1);
    });
  }

  /** Insert or replace records in one transaction; a record is keyed by servable and version. */
  putMany(items: readonly { metadata: ServableMetadata; local: boolean; json?: string }[]): WriteResult {
    return this.putRows(items.map(rowInputOf));
  }

  /** putMany for rows already flattened (rowInputOf), as a bulk import's writer thread receives them. */
  putRows(rows: readonly RowInput[]): WriteResult {
    return this.db.transaction(() => {
      const generation = (this.stmt.bump.get() as { generation: number }).generation;
      const latest = new Map<number, boolean>();
      const touched = new Set<string>();
      const ids = rows.map(({ servable, version, published, local, json }) => {
        touched.add(servable);
        const row = this.stmt.upsert.get(servable, version, versionKey(version), published, local ? 1 : 0, json, generation);
        return (row as { id: number }).id;
      });
      for (const s of touched) this.relabel(s, generation, latest);
      return { generation, ids, latest };
    })();
  }

  /** Remove one version, or every version when `version` is omitted; returns the ids removed. */
  remove(servable: string, version?: string): WriteResult {
    return this.db.transaction(() => {
      const rows = version === undefined ? this.stmt.ids.all(servable) : [this.stmt.idOf.get(servable, version)].filter((r) => r !== undefined);
      if (rows.length === 0) return { generation: this.generation(), ids: [], latest: new Map<number, boolean>() };
      const generation = (this.stmt.bump.get() as { generation: number }).generation;
      for (const { id } of rows) {
        this.stmt.delete.run(id);
        this.stmt.tombstone.run(id, generation);
      }
      const latest = new Map<number, boolean>();
      this.relabel(servable, generation, latest);
      return { generation, ids: rows.map((r) => r.id), latest };
    })();
  }

  /** One version, or the newest when `version` is omitted. */
  get(servable: string, version?: string): StoredRecord | undefined {
    const row = version === undefined ? this.stmt.getLatest.get(servable) : this.stmt.get.get(servable, version);
    return row ? toRecord(row) : undefined;
  }

  /** Every version of a servable, newest first. */
  versions(servable: string): StoredRecord[] {
    return this.stmt.versions.all(servable).map(toRecord);
  }

  /** Every record (or only newest versions), streamed from the database. */
  *iterate(opts: { allVersions: boolean } = { allVersions: true }): IterableIterator<StoredRecord> {
    for (const row of (opts.allVersions ? this.stmt.all : this.stmt.allLatest).iterate()) yield toRecord(row);
  }

  /** How many rows were written, relabelled or removed after generation `since`: what a catch-up would read. */
  changeCount(since: number): number {
    return this.stmt.changeCount.get(since, since)?.n ?? 0;
  }

  /** What changed after generation `since`: rows written (or relabelled) and ids removed. */
  changesSince(since: number): { generation: number; records: StoredRecord[]; removed: number[] } {
    return this.db.transaction(() => ({
      generation: this.generation(),
      records: this.stmt.changed.all(since).map(toRecord),
      removed: this.stmt.removed.all(since).map((r) => r.id),
    }))();
  }
}
