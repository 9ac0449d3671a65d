// The hub's SQLite database (the default: nothing to set up), in WAL mode so the admin commands can
// write while `dlhub-hub serve` runs.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '../../main/errors.js';
import type { Row, Sql } from './sql.js';

/** `$1`-style placeholders as SQLite's `?`, with the parameters in the order they appear. */
function positional(text: string, params: readonly unknown[]): { text: string; params: unknown[] } {
  const ordered: unknown[] = [];
  const out = text.replace(/\$(\d+)/g, (_m, n: string) => {
    ordered.push(params[Number(n) - 1]);
    return '?';
  });
  return { text: out, params: ordered };
}

/** Open (creating) the SQLite file at `file`. */
export function openSqlite(file: string): Sql {
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
  } catch (err) {
    throw new StorageError('STORAGE_ERROR', `Cannot open the hub database ${file}: ${(err as Error).message}`, { hint: 'Check that DLHUB_HUB_HOME is a writable folder.', cause: err });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const cache = new Map<string, { stmt: Database.Statement; reader: boolean }>();
  // One connection: a transaction's statements must not interleave with another request's, so
  // calls from outside a transaction wait for the one open.
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (text: string, params: readonly unknown[] = []): Promise<Row[]> => {
    let entry = cache.get(text);
    if (!entry) {
      const stmt = db.prepare(positional(text, []).text);
      entry = { stmt, reader: stmt.reader };
      cache.set(text, entry);
    }
    const ordered = positional(text, params).params.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    if (entry.reader) return entry.stmt.all(...ordered) as Row[];
    entry.stmt.run(...ordered);
    return [];
  };

  const base = { kind: 'sqlite' as const, serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT' };
  // BEGIN IMMEDIATE already takes SQLite's one write lock.
  const inner: Sql = { ...base, query: run, writeLock: async () => undefined, tx: (fn) => fn(inner), close: async () => undefined };
  const sql: Sql = {
    ...base,
    query(text, params) {
      const next = queue.then(() => run(text, params));
      queue = next.catch(() => undefined);
      return next;
    },
    writeLock: async () => undefined,
    tx<T>(fn: (s: Sql) => Promise<T>): Promise<T> {
      const body = async (): Promise<T> => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(inner);
          db.exec('COMMIT');
          return out;
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
      };
      const next = queue.then(body);
      queue = next.catch(() => undefined);
      return next;
    },
    close: async () => {
      await queue;
      db.close();
    },
  };
  return sql;
}
