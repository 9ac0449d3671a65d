import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { dirname } from 'node:path';
import { StorageError } from '../errors.js';
import { diskFullError, isDiskFull } from '../storage/disk-full.js';
import type { CatalogStore, RowInput, WriteResult } from './store.js';
import type { WriterReply, WriterRequest } from './store-writer.js';

/** Writes import batches to the catalog store, in order; each write resolves when its batch is committed. */
export interface BatchWriter {
  write(rows: RowInput[]): Promise<WriteResult>;
  close(): Promise<void>;
  /** Stop at once (the import was cancelled or the service is stopping): a batch being written is rolled back by SQLite. */
  abort(): Promise<void>;
}

/** Bytes a batch of rows takes as text: what a write that ran out of space needed, at least. */
function batchBytes(rows: RowInput[]): number {
  let n = 0;
  for (const r of rows) n += r.json.length;
  return n;
}

/** Some words for whatever a worker threw: a cloned error can arrive without a message, or not as an Error at all. */
function describe(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { message?: unknown; code?: unknown; name?: unknown };
  if (typeof e.message === 'string' && e.message !== '') return e.message;
  if (typeof e.code === 'string') return e.code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  return typeof err === 'string' && err !== '' ? err : 'it failed without a message';
}

/** A failed batch write as the caller should see it: a full disk names the folder and the space needed. */
function writeFailed(dbFile: string, rows: RowInput[], err: { code?: unknown; message?: unknown }): StorageError {
  if (isDiskFull(err)) return diskFullError('the catalog (state.db)', dirname(dbFile), batchBytes(rows) * 2, err, 'CATALOG_ERROR');
  return new StorageError('CATALOG_ERROR', `Writing to the catalog failed: ${describe(err)}`, {
    hint: 'The batches before this one are stored; run the import again to finish.',
  });
}

// The writer thread runs the compiled module; when the catalog itself runs from TypeScript sources (unit tests),
// there is none beside it and batches are written in this thread instead.
const WORKER_FILE = fileURLToPath(new URL('./store-writer.js', import.meta.url));

/** A writer for one import: a worker thread on its own connection to `dbFile` when available, else `store` in this thread. */
export function openBatchWriter(dbFile: string, store: CatalogStore): BatchWriter {
  if (!existsSync(WORKER_FILE)) {
    const write = (rows: RowInput[]): Promise<WriteResult> => {
      try {
        return Promise.resolve(store.putRows(rows));
      } catch (err) {
        return Promise.reject(writeFailed(dbFile, rows, err as { code?: unknown; message?: unknown }));
      }
    };
    return { write, close: () => Promise.resolve(), abort: () => Promise.resolve() };
  }
  const worker = new Worker(WORKER_FILE, { workerData: { file: dbFile } });
  const waiting: { resolve: (r: WriterReply) => void; reject: (e: Error) => void }[] = [];
  const fail = (err: Error): void => {
    for (const w of waiting.splice(0)) w.reject(err);
  };
  worker.on('message', (reply: WriterReply) => waiting.shift()?.resolve(reply));
  // What a worker throws arrives cloned, sometimes without a message: errorMessage always says something.
  // A full disk at the closing checkpoint needs about the write-ahead log's size: its pages are copied into state.db.
  worker.on('error', (err) => fail(isDiskFull(err) ? diskFullError('the catalog (state.db)', dirname(dbFile), statSync(`${dbFile}-wal`, { throwIfNoEntry: false })?.size, err, 'CATALOG_ERROR')
    : new StorageError('CATALOG_ERROR', `The catalog writer stopped: ${describe(err)}`, { cause: err })));
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
      if (!reply.ok) throw writeFailed(dbFile, rows, reply);
      return { generation: reply.generation, ids: reply.ids, latest: new Map(reply.latest) };
    },
    async close() {
      await send({ kind: 'close' });
      await worker.terminate();
    },
    async abort() {
      await worker.terminate();
      fail(new StorageError('CATALOG_ERROR', 'The catalog import was stopped.'));
    },
  };
}
