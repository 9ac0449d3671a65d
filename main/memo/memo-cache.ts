import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { DlhubError, StorageError } from '../errors.js';
import { openDatabase } from '../storage/sqlite.js';
import { memoMigrations } from './migrations.js';
import { prepareStatements, type MemoStatements } from './statements.js';

/** Default size budget for stored values: 256 MiB. */
export const DEFAULT_MEMO_BUDGET_BYTES = 256 * 1024 * 1024;
/** Deferred touches and counters are written after this many lookups. */
const FLUSH_EVERY = 256;
/** Beyond this many unwritten touches (the file stayed locked by another process), older ones are dropped: they only order eviction. */
const MAX_PENDING_TOUCHES = 16_384;
/** Eviction frees space down to this share of the budget, so the next puts do not each evict again. */
const EVICT_TO = 0.9;
/** The in-memory copy of hot entries: at most this many (by default), this many bytes in all, and only values up to HOT_MAX_VALUE_BYTES. */
const HOT_MAX_ENTRIES = 1024;
const HOT_MAX_BYTES = 8 * 1024 * 1024;
const HOT_MAX_VALUE_BYTES = 64 * 1024;

/** What one cached answer belongs to; the value is an opaque encoded result frame. */
export interface MemoEntry {
  servable: string;
  method: string;
  value: Buffer;
}

/** One value for {@link MemoCache.putMany}. */
export interface MemoPut {
  key: Buffer;
  entry: MemoEntry;
}

/** `dlhub cache stats` figures, counters included from every process that used the file. */
export interface MemoStats {
  entries: number;
  bytes: number;
  budgetBytes: number;
  hits: number;
  misses: number;
  servables: { name: string; entries: number; bytes: number }[];
}

/** Options for {@link MemoCache.open}. */
export interface MemoCacheOptions {
  /** Budget for stored values in bytes; default `DLHUB_MEMO_BUDGET_BYTES` or 256 MiB. */
  budgetBytes?: number;
  /** How many hot entries to keep in memory in front of SQLite; default 1024, 0 reads SQLite on every lookup. */
  hotEntries?: number;
}

/** SQLite memo cache: answers repeated inputs at once, never serves a value whose checksum fails, evicts least recently used. */
export class MemoCache {
  private readonly pendingTouches: { key: Buffer; at: number }[] = [];
  private pendingHits = 0;
  private pendingMisses = 0;
  private closed = false;
  private readonly flushTx: Database.Transaction<() => void>;
  private readonly putTx: Database.Transaction<(key: Buffer, entry: MemoEntry) => void>;
  private readonly putManyTx: Database.Transaction<(items: readonly MemoPut[]) => void>;
  /**
   * Verified values of recently used small entries, least recently used first, so a warm hit skips SQLite's
   * read and the checksum. Trusted only while PRAGMA data_version is unchanged: it moves whenever another
   * connection (another process's `cache clear`, `rm`, put, eviction or touch flush) commits to memo.db, and
   * then the whole copy is dropped. This connection's own clear, eviction and damaged-row delete drop it too.
   */
  private readonly hot = new Map<string, Buffer>();
  private hotBytes = 0;
  private readonly dataVersionSql: Database.Statement<[], number>;
  private seenDataVersion: number;
  private evicted = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly sql: MemoStatements,
    private readonly file: string,
    readonly budgetBytes: number,
    private readonly hotEntries: number,
  ) {
    this.flushTx = db.transaction(() => this.writePending());
    // IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout instead of failing to upgrade a read lock.
    this.putTx = db.transaction((key: Buffer, entry: MemoEntry) => this.writeEntry(key, entry));
    this.putManyTx = db.transaction((items: readonly MemoPut[]) => {
      for (const { key, entry } of items) this.writeEntry(key, entry);
    });
    this.dataVersionSql = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.seenDataVersion = this.dataVersionSql.get() ?? 0;
  }

  /** Open (creating if needed) a memo.db file; refuses a file written by a newer schema. */
  static open(file: string, opts: MemoCacheOptions = {}): MemoCache {
    const budget = opts.budgetBytes ?? budgetFromEnv(process.env);
    if (!Number.isSafeInteger(budget) || budget <= 0) {
      throw new StorageError('CACHE_ERROR', `Memo cache budget ${budget} is not a positive whole number of bytes.`, {
        hint: 'Pass budgetBytes as a positive integer, for example 268435456 for 256 MiB.',
      });
    }
    mkdirSync(dirname(file), { recursive: true });
    let db: Database.Database | undefined;
    try {
      db = openDatabase(file, memoMigrations, { errorCode: 'CACHE_ERROR' });
      return new MemoCache(db, prepareStatements(db), file, budget, Math.max(0, opts.hotEntries ?? HOT_MAX_ENTRIES));
    } catch (err) {
      db?.close();
      if (err instanceof DlhubError) throw err;
      throw new StorageError('CACHE_ERROR', `Cannot open the memo cache ${file}: ${(err as Error).message}`, {
        hint: `${file} holds only cached results: delete it and it is recreated empty.`,
        cause: err,
      });
    }
  }

  /** The stored value for this key, or undefined; a value that fails its checksum is deleted, never returned. */
  get(key: Buffer): Buffer | undefined {
    this.assertOpen();
    const id = key.toString('latin1');
    const version = this.guard('read', () => this.dataVersionSql.get() ?? 0);
    if (version !== this.seenDataVersion) {
      this.dropHot();
      this.seenDataVersion = version;
    }
    const held = this.hot.get(id);
    let value: Buffer | undefined;
    if (held) {
      // A copy: decoded outputs may be views of it, and a caller that changes its output must not change the cache.
      value = Buffer.from(held);
      this.hot.delete(id);
      this.hot.set(id, held);
      this.pendingTouches.push({ key, at: stamp() });
    } else {
      const row = this.guard('read', () => this.sql.get.get(key));
      if (row) {
        if (checksum(row[0]).equals(row[1])) {
          value = row[0];
          this.pendingTouches.push({ key, at: stamp() });
          this.holdHot(id, ownCopy(value));
        } else {
          this.guard('delete a damaged entry from', () => this.sql.deleteKey.run(key));
        }
      }
    }
    if (value) this.pendingHits += 1;
    else this.pendingMisses += 1;
    if (this.pendingHits + this.pendingMisses >= FLUSH_EVERY) this.tryFlush();
    return value;
  }

  /** Store a value; evicts least recently used entries when over budget. A value larger than the whole budget is not stored. */
  put(key: Buffer, entry: MemoEntry): void {
    this.assertOpen();
    if (entry.value.length > this.budgetBytes) return;
    const id = key.toString('latin1');
    this.forgetHot(id);
    this.evicted = false;
    this.guard('write', () => this.putTx.immediate(key, entry));
    // Eviction deletes by row id, so which held values went is not known here: drop them all.
    if (this.evicted) this.dropHot();
    this.holdHot(id, ownCopy(entry.value));
  }

  /**
   * Store several values in one transaction: all are written or, when the write fails, none. A batch's
   * answers come back a chunk at a time; one commit (and one WAL frame set) per chunk rather than per row
   * keeps the write-ahead log, and the memory SQLite maps for it, small. Values larger than the budget are skipped.
   */
  putMany(items: readonly MemoPut[]): void {
    this.assertOpen();
    const kept = items.filter((item) => item.entry.value.length <= this.budgetBytes);
    if (kept.length === 0) return;
    for (const { key } of kept) this.forgetHot(key.toString('latin1'));
    this.evicted = false;
    this.guard('write', () => this.putManyTx.immediate(kept));
    if (this.evicted) this.dropHot();
    // Only the last ones can stay hot anyway (the copy holds at most hotEntries): copy no more than that.
    for (const { key, entry } of kept.slice(-Math.max(1, this.hotEntries))) this.holdHot(key.toString('latin1'), ownCopy(entry.value));
  }

  /** Entries, bytes, budget, hit and miss counters, and a per-servable breakdown. */
  stats(): MemoStats {
    this.assertOpen();
    this.flush();
    return this.guard('read', () => {
      const totals = this.sql.totals.get();
      if (!totals) throw new StorageError('CACHE_ERROR', `${this.file} has no totals row.`, { hint: `Delete ${this.file}; it holds only cached results.` });
      return { ...totals, budgetBytes: this.budgetBytes, servables: this.sql.perServable.all() };
    });
  }

  /** Delete every entry, or one servable's; returns how many were removed. Counters are kept. */
  clear(servable?: string): number {
    this.assertOpen();
    this.flush();
    this.dropHot();
    const result = this.guard('clear', () => (servable === undefined ? this.sql.clearAll.run() : this.sql.clearServable.run(servable)));
    return result.changes;
  }

  /** Write deferred touches and counters now. */
  flush(): void {
    if (this.pendingTouches.length === 0 && this.pendingHits === 0 && this.pendingMisses === 0) return;
    this.guard('write', () => this.flushTx.immediate());
  }

  /** Flush and close the file; later calls are errors, a second close is not. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.dropHot();
      this.db.close();
    }
  }

  private holdHot(id: string, value: Buffer): void {
    if (value.length > HOT_MAX_VALUE_BYTES || this.hotEntries === 0) return;
    this.forgetHot(id);
    this.hot.set(id, value);
    this.hotBytes += value.length;
    for (const [oldest, held] of this.hot) {
      if (this.hot.size <= this.hotEntries && this.hotBytes <= HOT_MAX_BYTES) break;
      this.hot.delete(oldest);
      this.hotBytes -= held.length;
    }
  }

  private forgetHot(id: string): void {
    const held = this.hot.get(id);
    if (!held) return;
    this.hot.delete(id);
    this.hotBytes -= held.length;
  }

  private dropHot(): void {
    this.hot.clear();
    this.hotBytes = 0;
  }

  private writePending(): void {
    for (const t of this.pendingTouches) this.sql.touch.run(t.at, t.key);
    if (this.pendingHits || this.pendingMisses) this.sql.count.run(this.pendingHits, this.pendingMisses);
    // Cleared only once the statements ran: a failed transaction keeps them for the next try.
    this.pendingTouches.length = 0;
    this.pendingHits = 0;
    this.pendingMisses = 0;
  }

  private writeEntry(key: Buffer, entry: MemoEntry): void {
    this.writePending();
    const now = stamp();
    const size = entry.value.length;
    this.sql.upsert.run(key, entry.servable, entry.method, entry.value, size, checksum(entry.value), now, now);
    let total = this.sql.totalBytes.get() ?? 0;
    if (total <= this.budgetBytes) return;
    const target = Math.floor(this.budgetBytes * EVICT_TO);
    this.evicted = true;
    while (total > target) {
      const victims = this.sql.oldest.all(key, 256);
      if (victims.length === 0) break;
      for (const [id, victimSize] of victims) {
        this.sql.deleteId.run(id);
        total -= victimSize;
        if (total <= target) break;
      }
    }
  }

  // A lookup must not fail because the file cannot be written now (another process holds the write
  // lock, the disk is full): touches and counters wait for the next flush, touches bounded.
  private tryFlush(): void {
    try {
      this.flush();
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      if (this.pendingTouches.length > MAX_PENDING_TOUCHES) this.pendingTouches.splice(0, this.pendingTouches.length - MAX_PENDING_TOUCHES);
    }
  }

  private guard<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof DlhubError) throw err;
      throw new StorageError('CACHE_ERROR', `Cannot ${action} the memo cache ${this.file}: ${(err as Error).message}`, {
        hint: `If this persists, delete ${this.file}; it holds only cached results.`,
        cause: err,
      });
    }
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new StorageError('CACHE_ERROR', `The memo cache ${this.file} is closed.`, { hint: 'Open it again with MemoCache.open before using it.' });
    }
  }
}

// A held value gets memory of its own: a small copy in Node's shared buffer pool would keep its whole
// 8 KiB slab alive, with whatever else was written there, for as long as it is held.
function ownCopy(value: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(value.length);
  value.copy(copy);
  return copy;
}

/** First 8 bytes of sha256: enough to catch a torn or damaged value, small enough to store per row. */
export function checksum(value: Buffer): Buffer {
  return createHash('sha256').update(value).digest().subarray(0, 8);
}

/** Read `DLHUB_MEMO_BUDGET_BYTES`, or the default; a malformed value is an error rather than a silent default. */
export function budgetFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env['DLHUB_MEMO_BUDGET_BYTES'];
  if (raw === undefined || raw === '') return DEFAULT_MEMO_BUDGET_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new StorageError('CACHE_ERROR', `DLHUB_MEMO_BUDGET_BYTES=${raw} is not a positive whole number of bytes.`, {
      hint: 'Set DLHUB_MEMO_BUDGET_BYTES to a byte count such as 268435456 (256 MiB), or unset it.',
    });
  }
  return n;
}

let lastStamp = 0;
// Microseconds since the epoch, strictly increasing in this process, so entries touched in the same millisecond still order.
function stamp(): number {
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  lastStamp = Math.max(now, lastStamp + 1);
  return lastStamp;
}
