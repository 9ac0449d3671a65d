import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StorageError } from '../errors.js';
import type { CatalogStore, RowInput, WriteResult } from './store.js';
import type { WriterReply, WriterRequest } from './store-writer.js';

/** Writes import batches to the catalog store, in order; each write resolves when its batch is committed. */
export interface BatchWriter {
  write(rows: RowInput[]): Promise<WriteResult>;
  close(): Promise<void>;
}

// The writer thread runs the compiled module; when the catalog itself runs from TypeScript sources (unit tests),
// there is none beside it and batches are written in this thread instead.
const WORKER_FILE = fileURLToPath(new URL('./store-writer.js', import.meta.url));

/** A writer for one import: a worker thread on its own connection to `dbFile` when available, else `store` in this thread. */
export function openBatchWriter(dbFile: string, store: CatalogStore): BatchWriter {
  if (!existsSync(WORKER_FILE)) {
    return { write: (rows) => Promise.resolve(store.putRows(rows)), close: () => Promise.resolve() };
  }
  const worker = new Worker(WORKER_FILE, { workerData: { file: dbFile } });
  const waiting: { resolve: (r: WriterReply) => void; reject: (e: Error) => void }[] = [];
  const fail = (err: Error): void => {
    for (const w of waiting.splice(0)) w.reject(err);
  };
  worker.on('message', (reply: WriterReply) => waiting.shift()?.resolve(reply));
  worker.on('error', (err) => fail(new StorageError('CATALOG_ERROR', `The catalog writer stopped: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => {
    if (waiting.length > 0) fail(new StorageError('CATALOG_ERROR', `The catalog writer exited (code ${code}) with ${waiting.length} batch(es) unwritten.`));
  });
  const send = (req: WriterRequest): Promise<WriterReply> =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      worker.postMessage(req);
    });
  return {
    async write(rows) {
      const reply = await send({ kind: 'rows', rows });
      if (!reply.ok) throw new StorageError('CATALOG_ERROR', `Writing to the catalog failed: ${reply.message}`, { hint: 'The batches before this one are stored; run the import again to finish.' });
      return { generation: reply.generation, ids: reply.ids, latest: new Map(reply.latest) };
    },
    async close() {
      await send({ kind: 'close' });
      await worker.terminate();
    },
  };
}
