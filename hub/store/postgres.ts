// The hub's PostgreSQL database (`--db postgres://…`), for a hub that serves an institution: a pool
// of connections through `pg`, one connection per transaction.
import pg from 'pg';
import { StorageError } from '../../main/errors.js';
import type { Row, Sql } from './sql.js';

function unreachable(url: string, err: unknown): StorageError {
  const safe = url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return new StorageError('STORAGE_ERROR', `Cannot use the PostgreSQL database ${safe}: ${(err as Error).message}`, { hint: 'Check the --db address, that PostgreSQL runs there, and the user\'s password.', cause: err });
}

/** Connect to PostgreSQL at `url` (checked with one query before answering). */
export async function openPostgres(url: string): Promise<Sql> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection that the server drops must not take the process down.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw unreachable(url, err);
  }
  const over = (client: pg.Pool | pg.PoolClient): Sql => ({
    kind: 'postgres',
    serialKey: 'BIGSERIAL PRIMARY KEY',
    query: async (text, params = []) => (await client.query(text, params as unknown[])).rows as Row[],
    writeLock: async () => {
      await client.query('SELECT pg_advisory_xact_lock(7351)');
    },
    tx: async (fn) => {
      if (client !== pool) return fn(over(client));
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        const out = await fn(over(conn));
        await conn.query('COMMIT');
        return out;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },
    close: () => pool.end(),
  });
  return over(pool);
}
