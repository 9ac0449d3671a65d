// Which database the hub keeps its data in: SQLite under the hub's home, or PostgreSQL by URL.
import { join } from 'node:path';
import { openSqlite } from './sqlite.js';
import { HubStore } from './store.js';

/** The store at `db` (a postgres:// URL), or SQLite's hub.db under `home` when `db` is unset. */
export async function openStore(home: string, db?: string): Promise<HubStore> {
  if (db && /^postgres(ql)?:\/\//.test(db)) {
    const { openPostgres } = await import('./postgres.js');
    return HubStore.open(await openPostgres(db));
  }
  return HubStore.open(openSqlite(db ?? join(home, 'hub.db')));
}
