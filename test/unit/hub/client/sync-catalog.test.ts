// A sync's page lands in the catalog in one transaction with its cursor: records put, withdrawn ones
// removed, and a page that fails halfway leaves the catalog and the cursor as they were.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Catalog } from '../../../../main/catalog/catalog.js';
import { pageOps, readCursor } from '../../../../main/hub/sync.js';
import { ensureHome, homePaths } from '../../../../main/storage/home.js';
import { openStateDb } from '../../../../main/storage/state-db.js';
import { tempDir } from '../../../helpers/home.js';

const dirs: { remove: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

const record = (owner: string, name: string, version: string) => ({
  owner, name, version, image: { repository: `${owner}/${name}`, digest: `sha256:${'a'.repeat(64)}` }, visibility: 'public' as const, createdAt: '', updatedAt: '',
  metadata: {
    datacite: { titles: [{ title: `${name} for chemistry` }], creators: [{ creatorName: 'A' }] },
    dlhub: { name },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { input: { type: 'string' }, output: { type: 'string' }, method_details: { module: 'app', method_name: 'run' } } } },
  },
});

function open() {
  const d = tempDir('dlhub-sync-');
  dirs.push(d);
  const paths = ensureHome(homePaths(join(d.path, 'home')));
  return { paths, catalog: Catalog.open(paths) };
}

const cursorWriter = (next: string) => (db: Database.Database) =>
  db.prepare('INSERT INTO hub_sync (hub, user, cursor, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (hub, user) DO UPDATE SET cursor = excluded.cursor').run('http://hub', 'bob', next, 'now');

describe('sync into the catalog', () => {
  it('puts records, removes tombstoned ones, and moves the cursor with them', () => {
    const { paths, catalog } = open();
    const first = pageOps({ changes: [{ cursor: '1', owner: 'alice', name: 'iris', version: '1', record: record('alice', 'iris', '1') }, { cursor: '2', owner: 'alice', name: 'knn', version: '1', record: record('alice', 'knn', '1') }], next: '2', more: false });
    catalog.applyFeed(first.put, first.remove, cursorWriter('2'));
    expect(catalog.search('chemistry').hits.map((h) => h.servable).sort()).toEqual(['alice/iris', 'alice/knn']);
    const second = pageOps({ changes: [{ cursor: '3', owner: 'alice', name: 'iris', version: '1', deleted: true }], next: '3', more: false });
    catalog.applyFeed(second.put, second.remove, cursorWriter('3'));
    expect(catalog.search('chemistry').hits.map((h) => h.servable)).toEqual(['alice/knn']);
    const db = openStateDb(paths.stateDb);
    expect(readCursor(db, 'http://hub', 'bob').cursor).toBe('3');
    db.close();
    catalog.close();
  });

  it('leaves the catalog and the cursor as they were when a page fails halfway', () => {
    const { paths, catalog } = open();
    const page = pageOps({ changes: [{ cursor: '1', owner: 'alice', name: 'iris', version: '1', record: record('alice', 'iris', '1') }], next: '1', more: false });
    expect(() => catalog.applyFeed(page.put, page.remove, (db) => {
      cursorWriter('1')(db);
      throw new Error('cut off');
    })).toThrow('cut off');
    expect(catalog.search('chemistry').total).toBe(0);
    const db = openStateDb(paths.stateDb);
    expect(readCursor(db, 'http://hub', 'bob').cursor).toBe('0');
    db.close();
    catalog.close();
    // A fresh open (another process) sees the same: nothing of the page.
    const again = Catalog.open(paths);
    expect(again.search('chemistry').total).toBe(0);
    again.close();
  });
});
