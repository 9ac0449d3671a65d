import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { openBatchWriter } from '../../../main/catalog/bulk-writer.js';
import { CatalogStore, rowInputOf } from '../../../main/catalog/store.js';
import type { RowInput } from '../../../main/catalog/store.js';
import { openStateDb } from '../../../main/storage/state-db.js';
import { tempHome, testRecords } from '../../helpers/catalog-fixtures.js';

// The writer thread runs compiled code, so this test drives the built module (npm test builds first) to exercise the real thread.
const BUILT = fileURLToPath(new URL('../../../dist/main/catalog/bulk-writer.js', import.meta.url));
type BulkWriterModule = { openBatchWriter: typeof openBatchWriter };

let home: ReturnType<typeof tempHome>;
beforeEach(() => (home = tempHome()));
afterEach(() => home.cleanup());

describe('bulk import writer thread', () => {
  it('commits batches in order on its own connection, each visible to the importing process', async () => {
    expect(existsSync(BUILT), 'run `npm run build` first: the writer thread runs dist/').toBe(true);
    const { openBatchWriter } = (await import(BUILT)) as BulkWriterModule;
    const db = openStateDb(home.paths.stateDb);
    const store = new CatalogStore(db);
    const rows = testRecords(90).map((metadata) => rowInputOf({ metadata, local: false }));
    const writer = openBatchWriter(home.paths.stateDb, store);
    try {
      const results = await Promise.all([writer.write(rows.slice(0, 30)), writer.write(rows.slice(30, 60)), writer.write(rows.slice(60))]);
      expect(results.map((r) => r.generation)).toEqual([1, 2, 3]);
      expect(results.flatMap((r) => r.ids)).toHaveLength(rows.length);
      expect(store.generation()).toBe(3);
      const r0 = rows[0] as RowInput;
      expect(store.get(r0.servable, r0.version)?.metadata).toEqual(JSON.parse(r0.json));
    } finally {
      await writer.close();
      db.close();
    }
  });

  it('fails a batch the database refuses with a typed error, keeping the batches before it', async () => {
    const { openBatchWriter } = (await import(BUILT)) as BulkWriterModule;
    const db = openStateDb(home.paths.stateDb);
    const store = new CatalogStore(db);
    const rows = testRecords(20).map((metadata) => rowInputOf({ metadata, local: false }));
    const writer = openBatchWriter(home.paths.stateDb, store);
    try {
      await writer.write(rows.slice(0, 10));
      // metadata is NOT NULL in the schema: the whole batch is rolled back.
      const bad = rows.slice(10).map((r, i) => (i === 3 ? { ...r, json: null as unknown as string } : r));
      await expect(writer.write(bad)).rejects.toMatchObject({ code: 'CATALOG_ERROR', message: expect.stringMatching(/NOT NULL/) as unknown });
      expect(store.count()).toBe(10);
      // The thread is still usable after a refused batch.
      await writer.write(rows.slice(10, 12));
      expect(store.count()).toBe(12);
    } finally {
      await writer.close();
      db.close();
    }
  });
});
