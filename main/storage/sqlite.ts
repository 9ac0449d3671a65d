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
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const check = (current: number): void => {
    if (current > newest) {
      throw new StorageError(code, `${file} has schema version ${current}, newer than this app knows (${newest}).`, {
        hint: 'Upgrade DLHub Desktop, or point DLHUB_HOME at another folder.',
      });
    }
  };
  const before = db.pragma('user_version', { simple: true }) as number;
  check(before);
  if (before === newest) return;
  // Two processes opening one file at once (the service and a CLI command): the write lock is taken
  // first and the version read again under it, so exactly one of them applies each step.
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    check(current);
    for (const m of [...migrations].filter((x) => x.version > current).sort((a, b) => a.version - b.version)) {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    }
  }).immediate();
}
