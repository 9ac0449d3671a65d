import type Database from 'better-sqlite3';
import { StorageError } from '../errors.js';
import { isDiskFull } from '../storage/disk-full.js';
import type { ServableMetadata } from '../servable/metadata.js';
import { validateMetadata } from '../servable/validate.js';
import type { HomePaths } from '../storage/home.js';
import { openStateDb } from '../storage/state-db.js';
import { IndexDamagedError, loadIndexFile, removeTornTemps, saveIndexFile } from './index-file.js';
import { QueryHelper } from './query-helper.js';
import { checkRecordDepth } from './record-depth.js';
import { recordVersion, servableKey, toCatalogDoc } from './record.js';
import { runSearch } from './search.js';
import type { SearchOptions, SearchResult } from './search.js';
import { SearchIndex } from './search-index.js';
import { CatalogStore, rowInputOf } from './store.js';
import { openBatchWriter } from './bulk-writer.js';
import type { StoredRecord, WriteResult } from './store.js';
import { readJsonl, writeJsonl } from './transfer.js';
import type { ImportProgress, ImportReport } from './transfer.js';

// Records a later open may replay from the change log instead of this process saving the index at close
// (replaying one costs ~50 µs, so this many is ~0.1 s; a save is 1-2 s at 100,000 records).
const CATCH_UP_LIMIT = 2000;

/** How the search index came to be at open: loaded as saved, loaded and caught up with newer changes, or rebuilt. */
export interface IndexStatus {
  source: 'loaded' | 'caught-up' | 'rebuilt';
  /** Why the saved index was not used, when it was rebuilt. */
  reason?: string;
  ms: number;
}

/** One catalog entry as get() returns it. */
export type CatalogEntry = StoredRecord;

/**
 * The catalog: servable records in state.db and the search index over them, kept in step. Writes go to
 * SQLite first (the truth); the index follows in memory and is saved to disk by flush(), and by close() unless the
 * next open can cheaply replay what changed since the last save.
 */
export class Catalog {
  private generation: number;
  /** How the index was obtained when the catalog opened. */
  readonly indexStatus: IndexStatus;

  private constructor(
    private readonly db: Database.Database,
    private readonly store: CatalogStore,
    private index: SearchIndex,
    private savedGeneration: number,
    private readonly indexFile: string,
    status: IndexStatus,
    generation: number,
  ) {
    this.indexStatus = status;
    this.generation = generation;
  }

  /** Open the catalog in `paths.stateDb`, loading the saved index at `paths.catalogIndex` or rebuilding it when stale or damaged. */
  static open(paths: Pick<HomePaths, 'stateDb' | 'catalogIndex'>): Catalog {
    const started = performance.now();
    const db = openStateDb(paths.stateDb);
    const store = new CatalogStore(db);
    removeTornTemps(paths.catalogIndex);
    const loaded = loadIndexFile(paths.catalogIndex);
    const current = store.generation();
    let index: SearchIndex;
    let status: IndexStatus['source'] = 'loaded';
    let reason: string | undefined;
    let generation = current;
    let savedGeneration = -1;
    let revived: SearchIndex | null = null;
    if (loaded.ok && loaded.generation <= current) {
      try {
        revived = SearchIndex.fromPayload(loaded.payload);
        generation = loaded.generation;
        savedGeneration = loaded.generation;
      } catch (err) {
        // A damaged block, or a checksummed file in a layout this build cannot read (written by another version): rebuild rather than fail.
        reason = err instanceof IndexDamagedError ? err.message : `unreadable layout: ${(err as Error).message}`;
        loaded.payload.close();
      }
    } else {
      if (loaded.ok) loaded.payload.close();
      reason = loaded.ok ? `saved at generation ${loaded.generation}, newer than the database's ${current}` : loaded.reason;
    }
    if (revived) index = revived;
    else {
      index = SearchIndex.build(rowsToDocs(store.iterate()));
      status = 'rebuilt';
    }
    const catalog = new Catalog(db, store, index, savedGeneration, paths.catalogIndex, { source: status, ms: 0 }, generation);
    if (revived && loaded.ok) catalog.release = loaded.payload.close;
    if (catalog.sync() && status === 'loaded') status = 'caught-up';
    if (catalog.indexStatus.source === 'rebuilt' && catalog.indexStatus.reason) ({ source: status, reason } = catalog.indexStatus);
    Object.assign(catalog.indexStatus, { source: status, ms: performance.now() - started, ...(reason ? { reason } : {}) });
    // Said on stderr under DLHUB_DEBUG: a saved index that never loads makes every search seconds slower, silently otherwise.
    if (process.env['DLHUB_DEBUG']) {
      const s = catalog.indexStatus;
      process.stderr.write(`dlhub: catalog index ${s.source}${s.reason ? ` (${s.reason})` : ''} in ${s.ms.toFixed(0)} ms\n`);
    }
    return catalog;
  }

  // Closes the saved index file a loaded index still reads from.
  private release: (() => void) | null = null;

  // A block of the saved index read after open failed its check: drop it and rebuild from the database (the truth),
  // so a damaged file costs one rebuild, never a wrong answer. Anything else is rethrown.
  private recover(err: unknown): void {
    if (!(err instanceof IndexDamagedError)) throw err;
    this.release?.();
    this.release = null;
    this.generation = this.store.generation();
    this.index = SearchIndex.build(rowsToDocs(this.store.iterate()));
    this.savedGeneration = -1;
    Object.assign(this.indexStatus, { source: 'rebuilt', reason: err.message });
  }

  // Before the index changes or is saved: read what is still only in the file, so a damaged block is found before a change, not halfway through one.
  private ready(): void {
    try {
      this.index.loadAll();
    } catch (err) {
      this.recover(err);
    }
  }

  /** Apply changes other processes committed since this index's generation; true when there were any. */
  private sync(): boolean {
    const current = this.store.generation();
    if (current === this.generation) return false;
    this.ready();
    if (current === this.generation) return true;
    const changes = this.store.changesSince(this.generation);
    for (const id of changes.removed) this.index.remove(id);
    for (const doc of rowsToDocs(changes.records)) this.index.put(doc);
    this.generation = changes.generation;
    return true;
  }

  // Bring the index in line with our own write of `items` (result.ids[i] is items[i]'s row); if another process wrote
  // in between, catch up from the log instead.
  private applyWrite(result: WriteResult, items: readonly { metadata: ServableMetadata; local: boolean }[]): void {
    if (result.generation !== this.generation + 1) {
      this.sync();
      return;
    }
    const docs = new Map(result.ids.map((id, i) => [id, items[i] as { metadata: ServableMetadata; local: boolean }]));
    for (const [id, item] of docs) this.index.put(toCatalogDoc(item.metadata, { id, local: item.local, latest: result.latest.get(id) ?? false }));
    for (const [id, latest] of result.latest) if (!docs.has(id)) this.index.setLatest(id, latest);
    this.generation = result.generation;
  }

  private writeMany(items: { metadata: ServableMetadata; local: boolean; json?: string }[]): number[] {
    this.ready();
    const result = this.store.putMany(items);
    this.applyWrite(result, items);
    return result.ids;
  }

  /** Validate and insert a record, replacing the same servable version if present; `local` marks a build not on the hub. */
  upsert(metadata: unknown, opts: { local?: boolean } = {}): CatalogEntry {
    checkRecordDepth(metadata);
    const md = validateMetadata(metadata);
    this.sync();
    const [id] = this.writeMany([{ metadata: md, local: opts.local ?? false }]);
    const doc = this.index.byId(id as number);
    return { id: id as number, servable: servableKey(md), version: recordVersion(md), local: opts.local ?? false, latest: doc?.latest ?? false, metadata: md };
  }

  /** Like upsert, but refuses a servable version that is already in the catalog. */
  add(metadata: unknown, opts: { local?: boolean } = {}): CatalogEntry {
    checkRecordDepth(metadata);
    const md = validateMetadata(metadata);
    const servable = servableKey(md);
    const version = recordVersion(md);
    if (this.store.get(servable, version)) {
      throw new StorageError('CATALOG_ERROR', `${servable} version ${version} is already in the catalog.`, {
        hint: 'Give the new build another dlhub.version, or replace the record with upsert.',
      });
    }
    return this.upsert(md, opts);
  }

  /** Remove one version, or all versions when `version` is omitted; returns how many records went. */
  remove(servable: string, version?: string): number {
    this.sync();
    this.ready();
    const result = this.store.remove(servable, version);
    if (result.ids.length === 0) return 0;
    if (result.generation !== this.generation + 1) this.sync();
    else {
      for (const id of result.ids) this.index.remove(id);
      for (const [id, latest] of result.latest) this.index.setLatest(id, latest);
      this.generation = result.generation;
    }
    return result.ids.length;
  }

  /**
   * Put and remove records, and run `alsoInTransaction` (the hub sync's cursor), in one transaction:
   * a page of a sync lands whole or not at all. `put` holds records already validated (the sync checks
   * each one, so a record it cannot file is left out rather than failing the page).
   */
  applyFeed(put: readonly ServableMetadata[], remove: readonly { servable: string; version: string }[], alsoInTransaction: (db: Database.Database) => void): void {
    const items = put.map((md) => {
      checkRecordDepth(md);
      return { metadata: md, local: false };
    });
    this.sync();
    this.ready();
    let written: WriteResult | undefined;
    let removed = 0;
    this.db.transaction(() => {
      if (items.length > 0) written = this.store.putMany(items);
      for (const r of remove) removed += this.store.remove(r.servable, r.version).ids.length;
      alsoInTransaction(this.db);
    })();
    // Puts alone (a first sync) update the index from the records in hand; with removals, from the change log.
    if (written && removed === 0) this.applyWrite(written, items);
    else this.sync();
  }

  // Bulk loads running now (deferCheckpoints); the first one turns automatic checkpoints off, the last one on.
  private bulkLoads = 0;

  /**
   * Run `work` (many writes in a row, such as a long hub sync) with SQLite's automatic checkpoints off on this
   * connection: every ~1,000 pages written, a commit would otherwise stop to copy the log into state.db and sync
   * the disk, which was a third of a 100,000-record sync. Each write still commits on its own; at the end one
   * checkpoint runs on a thread of its own while this one goes on.
   */
  async deferCheckpoints<T>(work: () => Promise<T>): Promise<T> {
    if (this.bulkLoads++ === 0) this.db.pragma('wal_autocheckpoint = 0');
    try {
      return await work();
    } finally {
      if (--this.bulkLoads === 0 && this.db.open) {
        // The writer thread checkpoints when it closes; until it has, this connection's next commit would start the same
        // long copy on this thread. A failure leaves the log for the next checkpoint: nothing is lost.
        const on = (): void => {
          if (this.bulkLoads === 0 && this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
        };
        openBatchWriter(this.db.name, this.store).close().then(on, on);
      }
    }
  }

  /** One version of a servable (`owner/name`), or its newest when `version` is omitted. */
  get(servable: string, version?: string): CatalogEntry | undefined {
    return this.store.get(servable, version);
  }

  /** Every version of a servable, newest first. */
  versions(servable: string): CatalogEntry[] {
    return this.store.versions(servable);
  }

  /** Search: free text by default, DLHub's field syntax with `advanced`; newest versions unless `allVersions`. */
  search(text: string, opts: SearchOptions = {}): SearchResult {
    this.sync();
    try {
      return runSearch(this.index, text, opts);
    } catch (err) {
      this.recover(err);
      return runSearch(this.index, text, opts);
    }
  }

  /** A query helper bound to this catalog (DLHub's `client.query`). */
  query(): QueryHelper {
    return new QueryHelper((text, opts) => this.search(text, opts));
  }

  /** Number of records, all versions. */
  get size(): number {
    this.sync();
    try {
      return this.index.size;
    } catch (err) {
      this.recover(err);
      return this.index.size;
    }
  }

  /** The in-memory index, for tests and the bench. */
  get searchIndex(): SearchIndex {
    this.sync();
    this.ready();
    return this.index;
  }

  /** Write the catalog as JSON Lines (newest versions, or all); returns how many records were written. */
  async export(file: string, opts: { allVersions?: boolean } = {}): Promise<number> {
    const store = this.store;
    return writeJsonl(file, (function* () {
      for (const r of store.iterate({ allVersions: opts.allVersions ?? false })) yield r.metadata;
    })());
  }

  /**
   * Import a JSON Lines file: each line validated, bad lines reported by number and skipped, the rest written in batches.
   * `signal` (the caller left) and close() (the service is stopping) stop it between lines; the batches written stay.
   */
  async import(file: string, opts: { onProgress?: (p: ImportProgress) => void; local?: boolean; signal?: AbortSignal | undefined } = {}): Promise<ImportReport> {
    const started = performance.now();
    this.sync();
    this.ready();
    const local = opts.local ?? false;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) stop.abort();
    this.importing.add(stop);
    // Batches are written by a writer thread while this one parses, validates and indexes the next; at most one is
    // in flight, and each is indexed once committed, in order. Every batch is its own transaction: a kill loses no finished batch.
    const writer = openBatchWriter(this.db.name, this.store);
    let pending: Promise<void> = Promise.resolve();
    try {
      const report = await readJsonl(file, {
        signal: stop.signal,
        validate: validateMetadata,
        write: async (batch) => {
          const items = batch.map(({ metadata, json }) => ({ metadata, local, json }));
          const written = writer.write(items.map(rowInputOf)).then((result) => this.applyWrite(result, items));
          written.catch(() => undefined); // awaited on the next batch or at the end; this only keeps it from counting as unhandled meanwhile
          await pending;
          pending = written;
        },
        batchSize: 5_000,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      await pending;
      this.flush();
      report.ms = performance.now() - started;
      return report;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.importing.delete(stop);
      // A stopped import does not wait for the writer's last batch or its checkpoint: SQLite rolls an unfinished batch back.
      if (stop.signal.aborted) await writer.abort();
      else await writer.close();
    }
  }

  // Imports in progress, stopped by close().
  private readonly importing = new Set<AbortController>();

  /** Save the index to disk if it changed since it was last saved; true when it wrote. */
  flush(): boolean {
    this.sync();
    if (this.savedGeneration === this.generation) return false;
    this.ready();
    if (this.savedGeneration === this.generation) return false;
    saveIndexFile(this.indexFile, this.index.toPayload(), this.generation);
    this.savedGeneration = this.generation;
    return true;
  }

  /**
   * Close the database, saving the index first unless the next open can catch up from the change log at once:
   * at 100,000 records a save takes a second or more, which a `dlhub build` that added one record should not pay.
   */
  close(): void {
    for (const stop of this.importing) stop.abort();
    try {
      // A process that had to catch up has already read the whole file (sync loads every block), so it saves: otherwise
      // every later fresh search would read it all again until a writer passed CATCH_UP_LIMIT.
      const caughtUp = this.indexStatus.source === 'caught-up';
      if (caughtUp || this.savedGeneration < 0 || this.store.changeCount(this.savedGeneration) > CATCH_UP_LIMIT) this.flush();
    } catch (err) {
      // The saved index is only a cache of state.db: on a full disk the next open rebuilds it, so closing does not fail
      // (an import or flush that needed it has already said so).
      if (!isDiskFull(err) && !(err instanceof StorageError && err.details?.['reason'] === 'disk full')) throw err;
      if (process.env['DLHUB_DEBUG']) process.stderr.write(`dlhub: catalog index not saved at close: ${(err as Error).message}\n`);
    } finally {
      this.release?.();
      this.release = null;
      this.db.close();
    }
  }
}

function* rowsToDocs(rows: Iterable<StoredRecord>): IterableIterator<ReturnType<typeof toCatalogDoc>> {
  for (const r of rows) yield toCatalogDoc(r.metadata, r);
}
