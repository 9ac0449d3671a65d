import Database from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** One schema step; `version` numbers start at 1 and never change once released. */
export interface Migration {
  version: number;
  name: string;
  up: string;
}

/**
 * Open a SQLite file in WAL mode and bring it to the newest schema version.
 * A file written by a newer version of the app is refused rather than damaged.
 */
export function openDatabase(file: string, migrations: readonly Migration[], opts: { readonly?: boolean; errorCode?: ErrorCode } = {}): Database.Database {
  const code = opts.errorCode ?? 'STORAGE_ERROR';
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false });
  } catch (err) {
    throw new StorageError(code, `Cannot open database ${file}: ${(err as Error).message}`, {
      hint: 'Check that the folder exists and is writable, or set DLHUB_HOME to another folder.',
      cause: err,
    });
  }
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode keeps every committed transaction atomic across a process kill; only an OS crash may lose the last ones.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, file, migrations, code);
  return db;
}

function migrate(db: Database.Database, file: string, migrations: readonly Migration[], code: ErrorCode): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > newest) {
    throw new StorageError(code, `${file} has schema version ${current}, newer than this app knows (${newest}).`, {
      hint: 'Upgrade DLHub Desktop, or point DLHUB_HOME at another folder.',
    });
  }
  const pending = [...migrations].filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  for (const m of pending) {
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
