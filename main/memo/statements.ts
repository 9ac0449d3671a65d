import type Database from 'better-sqlite3';

/** The memo cache's SQL, prepared once per connection and reused on every call. */
export interface MemoStatements {
  /** key -> [value, checksum] (raw rows: no per-row object on the hot path). */
  get: Database.Statement<[Buffer], [Buffer, Buffer]>;
  upsert: Database.Statement<[Buffer, string, string, Buffer, number, Buffer, number, number]>;
  deleteKey: Database.Statement<[Buffer]>;
  touch: Database.Statement<[number, Buffer]>;
  count: Database.Statement<[number, number]>;
  totals: Database.Statement<[], { entries: number; bytes: number; hits: number; misses: number }>;
  totalBytes: Database.Statement<[], number>;
  oldest: Database.Statement<[Buffer, number], [number, number]>;
  deleteId: Database.Statement<[number]>;
  perServable: Database.Statement<[], { name: string; entries: number; bytes: number }>;
  clearServable: Database.Statement<[string]>;
  clearAll: Database.Statement<[]>;
}

/** Prepare every statement the cache uses against an open, migrated memo.db. */
export function prepareStatements(db: Database.Database): MemoStatements {
  return {
    get: db.prepare<[Buffer], [Buffer, Buffer]>('SELECT value, checksum FROM entries WHERE key = ?').raw(),
    upsert: db.prepare(
      `INSERT INTO entries (key, servable, method, value, size, checksum, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET servable = excluded.servable, method = excluded.method, value = excluded.value,
         size = excluded.size, checksum = excluded.checksum, last_used = excluded.last_used`,
    ),
    deleteKey: db.prepare('DELETE FROM entries WHERE key = ?'),
    // max() because another process may have touched the row more recently than our deferred stamp.
    touch: db.prepare('UPDATE entries SET last_used = max(last_used, ?) WHERE key = ?'),
    count: db.prepare('UPDATE totals SET hits = hits + ?, misses = misses + ? WHERE id = 1'),
    totals: db.prepare<[], { entries: number; bytes: number; hits: number; misses: number }>('SELECT entries, bytes, hits, misses FROM totals WHERE id = 1'),
    totalBytes: db.prepare<[], number>('SELECT bytes FROM totals WHERE id = 1').pluck(),
    // The entry just written is never its own victim: it is the most recently used.
    oldest: db.prepare<[Buffer, number], [number, number]>('SELECT id, size FROM entries WHERE key <> ? ORDER BY last_used, id LIMIT ?').raw(),
    deleteId: db.prepare('DELETE FROM entries WHERE id = ?'),
    perServable: db.prepare<[], { name: string; entries: number; bytes: number }>(
      'SELECT servable AS name, count(*) AS entries, sum(size) AS bytes FROM entries GROUP BY servable ORDER BY bytes DESC, name',
    ),
    clearServable: db.prepare('DELETE FROM entries WHERE servable = ?'),
    clearAll: db.prepare('DELETE FROM entries'),
  };
}
