// Worker thread of a bulk import: writes batches to state.db while the main thread parses, validates
// and indexes the next one. Started by bulk-writer.ts; one message a batch, answered in order.
import { parentPort, workerData } from 'node:worker_threads';
import { openStateDb } from '../storage/state-db.js';
import { CatalogStore } from './store.js';
import type { RowInput } from './store.js';

/** A batch to write, or the end of the import. */
export type WriterRequest = { kind: 'rows'; rows: RowInput[] } | { kind: 'close' };

/** The outcome of one request, in the order the requests came. */
export type WriterReply =
  | { ok: true; generation: number; ids: number[]; latest: [number, boolean][] }
  | { ok: false; code: string; message: string };

const port = parentPort;
if (port) {
  const db = openStateDb((workerData as { file: string }).file);
  // One checkpoint at the end instead of one every 1,000 pages: a bulk load would otherwise copy the WAL into the database many times.
  db.pragma('wal_autocheckpoint = 0');
  const store = new CatalogStore(db);
  port.on('message', (req: WriterRequest) => {
    if (req.kind === 'close') {
      db.pragma('wal_autocheckpoint = 1000');
      db.pragma('wal_checkpoint(PASSIVE)');
      db.close();
      port.postMessage({ ok: true, generation: 0, ids: [], latest: [] } satisfies WriterReply);
      port.close();
      return;
    }
    try {
      const r = store.putRows(req.rows);
      port.postMessage({ ok: true, generation: r.generation, ids: r.ids, latest: [...r.latest] } satisfies WriterReply);
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      port.postMessage({ ok: false, code: typeof e.code === 'string' ? e.code : 'CATALOG_ERROR', message: String(e.message ?? err) } satisfies WriterReply);
    }
  });
}
