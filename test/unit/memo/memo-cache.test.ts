import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MEMO_BUDGET_BYTES, MemoCache, budgetFromEnv } from '../../../main/memo/memo-cache.js';
import { StorageError } from '../../../main/errors.js';
import { inspectMemoFile, memoTempDir, testKey, testValue } from '../../helpers/memo-fixtures.js';

let tmp: ReturnType<typeof memoTempDir>;
const open: MemoCache[] = [];
function openCache(budgetBytes?: number): MemoCache {
  const cache = MemoCache.open(tmp.file, budgetBytes === undefined ? {} : { budgetBytes });
  open.push(cache);
  return cache;
}
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

beforeEach(() => {
  tmp = memoTempDir();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  tmp.cleanup();
});

describe('MemoCache basics', () => {
  it('returns what was put, and undefined for an unknown key, counting hits and misses', () => {
    const cache = openCache();
    const value = testValue('a', 1, 1000);
    expect(cache.get(testKey('a', 1))).toBeUndefined();
    cache.put(testKey('a', 1), { servable: 'alice/model', method: 'run', value });
    expect(cache.get(testKey('a', 1))?.equals(value)).toBe(true);
    expect(cache.get(testKey('a', 1))?.equals(value)).toBe(true);
    const stats = cache.stats();
    expect(stats).toMatchObject({ entries: 1, bytes: 1000, hits: 2, misses: 1, budgetBytes: DEFAULT_MEMO_BUDGET_BYTES });
    expect(stats.servables).toEqual([{ name: 'alice/model', entries: 1, bytes: 1000 }]);
  });

  it('replaces a value put twice under one key without counting it twice', () => {
    const cache = openCache();
    cache.put(testKey('a', 1), { servable: 's', method: 'run', value: testValue('a', 1, 500) });
    cache.put(testKey('a', 1), { servable: 's', method: 'run', value: testValue('b', 1, 700) });
    expect(cache.get(testKey('a', 1))?.equals(testValue('b', 1, 700))).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 700 });
  });

  it('never serves a value whose checksum fails: the row is deleted and the lookup is a miss', () => {
    const cache = openCache();
    cache.put(testKey('a', 1), { servable: 's', method: 'run', value: testValue('a', 1, 1000) });
    cache.put(testKey('a', 2), { servable: 's', method: 'run', value: testValue('a', 2, 1000) });
    const raw = new Database(tmp.file);
    raw.prepare('UPDATE entries SET value = ? WHERE key = ?').run(testValue('evil', 1, 1000), testKey('a', 1));
    raw.close();
    expect(cache.get(testKey('a', 1))).toBeUndefined();
    expect(cache.get(testKey('a', 2))?.equals(testValue('a', 2, 1000))).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 1000, hits: 1, misses: 1 });
    cache.put(testKey('a', 1), { servable: 's', method: 'run', value: testValue('a', 1, 1000) });
    expect(cache.get(testKey('a', 1))?.equals(testValue('a', 1, 1000))).toBe(true);
  });

  it('clear(servable) removes only that servable; clear() removes the rest', () => {
    const cache = openCache();
    for (let i = 0; i < 3; i++) cache.put(testKey('a', i), { servable: 'alice/a', method: 'run', value: testValue('a', i, 100) });
    for (let i = 0; i < 2; i++) cache.put(testKey('b', i), { servable: 'bob/b', method: 'run', value: testValue('b', i, 100) });
    expect(cache.clear('alice/a')).toBe(3);
    expect(cache.get(testKey('a', 0))).toBeUndefined();
    expect(cache.get(testKey('b', 0))?.equals(testValue('b', 0, 100))).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 200, servables: [{ name: 'bob/b', entries: 2, bytes: 200 }] });
    expect(cache.clear('nobody/none')).toBe(0);
    expect(cache.clear()).toBe(2);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, servables: [] });
  });

  it('keeps entries and hit/miss counters across a reopen', () => {
    const first = MemoCache.open(tmp.file);
    first.put(testKey('a', 1), { servable: 's', method: 'run', value: testValue('a', 1, 1000) });
    first.get(testKey('a', 1));
    first.get(testKey('a', 2));
    first.close();
    const second = openCache();
    expect(second.get(testKey('a', 1))?.equals(testValue('a', 1, 1000))).toBe(true);
    expect(second.stats()).toMatchObject({ entries: 1, bytes: 1000, hits: 2, misses: 1 });
  });

  it('refuses a memo.db written by a newer schema, saying so and how to fix it', () => {
    MemoCache.open(tmp.file).close();
    const raw = new Database(tmp.file);
    raw.pragma('user_version = 99');
    raw.close();
    const err = thrown(() => MemoCache.open(tmp.file));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('CACHE_ERROR');
    expect((err as StorageError).message).toMatch(/schema version 99/);
    expect((err as StorageError).hint).toMatch(/Upgrade/);
  });

  it('reports a file that is not a database with a hint to delete it', () => {
    writeFileSync(tmp.file, 'this is not sqlite '.repeat(100));
    const err = thrown(() => MemoCache.open(tmp.file));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain(tmp.file);
    expect((err as StorageError).hint).toMatch(/delete it/);
  });

  it('keeps answering lookups when the file cannot be written (a full disk), and a failed put says why', () => {
    const cache = openCache();
    const value = testValue('a', 1, 100);
    cache.put(testKey('a', 1), { servable: 'alice/model', method: 'run', value });
    const db = new Database(tmp.file);
    db.exec(`CREATE TRIGGER full_insert BEFORE INSERT ON entries BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
             CREATE TRIGGER full_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;`);
    try {
      // Lookups write their touches every few hundred calls: those writes fail and wait, the lookups do not.
      for (let i = 0; i < 600; i += 1) expect(cache.get(testKey('a', 1))?.equals(value)).toBe(true);
      const err = thrown(() => cache.put(testKey('b', 2), { servable: 'alice/model', method: 'run', value }));
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).message).toContain('disk is full');
    } finally {
      db.exec('DROP TRIGGER full_insert; DROP TRIGGER full_update;');
      db.close();
    }
  });

  it('refuses use after close with a clear error, and a second close is harmless', () => {
    const cache = MemoCache.open(tmp.file);
    cache.close();
    cache.close();
    const err = thrown(() => cache.get(testKey('a', 1)));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toMatch(/closed/);
  });

  it('takes its budget from DLHUB_MEMO_BUDGET_BYTES and rejects a malformed one', () => {
    expect(budgetFromEnv({})).toBe(256 * 1024 * 1024);
    expect(budgetFromEnv({ DLHUB_MEMO_BUDGET_BYTES: '12345' })).toBe(12345);
    const err = thrown(() => budgetFromEnv({ DLHUB_MEMO_BUDGET_BYTES: '1GB' }));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toMatch(/DLHUB_MEMO_BUDGET_BYTES=1GB/);
    expect(thrown(() => MemoCache.open(tmp.file, { budgetBytes: -1 }))).toBeInstanceOf(StorageError);
  });
});

describe('MemoCache eviction', () => {
  it('evicts least recently used entries: a touched old entry survives, untouched ones go', () => {
    const cache = openCache(10_000);
    for (let i = 0; i < 9; i++) cache.put(testKey('a', i), { servable: 's', method: 'run', value: testValue('a', i, 1000) });
    expect(cache.get(testKey('a', 0))).toBeDefined();
    cache.put(testKey('a', 9), { servable: 's', method: 'run', value: testValue('a', 9, 1000) });
    expect(cache.stats()).toMatchObject({ entries: 10, bytes: 10_000 });
    cache.put(testKey('a', 10), { servable: 's', method: 'run', value: testValue('a', 10, 1000) });
    // Over budget by 1000: freed down to 90%, the two oldest untouched entries (1 and 2) go.
    expect(cache.get(testKey('a', 0))?.equals(testValue('a', 0, 1000))).toBe(true);
    expect(cache.get(testKey('a', 1))).toBeUndefined();
    expect(cache.get(testKey('a', 2))).toBeUndefined();
    expect(cache.get(testKey('a', 3))).toBeDefined();
    expect(cache.get(testKey('a', 10))).toBeDefined();
    expect(cache.stats()).toMatchObject({ entries: 9, bytes: 9000 });
  });

  it('keeps the total under budget through many puts of mixed sizes, and the file stays consistent', () => {
    const cache = openCache(50_000);
    for (let i = 0; i < 300; i++) {
      cache.put(testKey('m', i), { servable: i % 2 ? 'odd' : 'even', method: 'run', value: testValue('m', i, 200 + ((i * 997) % 4000)) });
      expect(cache.stats().bytes).toBeLessThanOrEqual(50_000);
    }
    expect(cache.get(testKey('m', 299))).toBeDefined();
    expect(cache.get(testKey('m', 0))).toBeUndefined();
    cache.flush();
    expect(inspectMemoFile(tmp.file)).toMatchObject({ quickCheck: 'ok', badChecksums: 0, totalsMatch: true });
  });

  it('does not store a value larger than the whole budget, and one the size of the budget replaces the rest', () => {
    const cache = openCache(4096);
    cache.put(testKey('a', 1), { servable: 's', method: 'run', value: testValue('a', 1, 1000) });
    cache.put(testKey('a', 2), { servable: 's', method: 'run', value: testValue('a', 2, 4097) });
    expect(cache.get(testKey('a', 2))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 1000 });
    cache.put(testKey('a', 3), { servable: 's', method: 'run', value: testValue('a', 3, 4096) });
    expect(cache.get(testKey('a', 3))?.length).toBe(4096);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 4096 });
  });
});

// Warm hits are answered from an in-memory copy; these are the ways it could go stale.
describe('MemoCache in-memory copy of hot entries', () => {
  const put = (c: MemoCache, who: string, i: number, size = 1000, servable = 's') => c.put(testKey(who, i), { servable, method: 'run', value: testValue(who, i, size) });

  it('sees another connection clear, remove a servable, replace a value or evict, on the next lookup', () => {
    const a = openCache();
    const b = openCache(6000);
    put(a, 'x', 1, 1000, 'one');
    put(a, 'x', 2, 1000, 'two');
    put(a, 'x', 3);
    for (const i of [1, 2, 3]) expect(a.get(testKey('x', i))).toBeDefined();
    b.clear('one');
    expect(a.get(testKey('x', 1))).toBeUndefined();
    expect(a.get(testKey('x', 2))).toBeDefined();
    b.put(testKey('x', 2), { servable: 'two', method: 'run', value: testValue('new', 2, 1000) });
    expect(a.get(testKey('x', 2))?.equals(testValue('new', 2, 1000))).toBe(true);
    // b's budget is 6000: filling it evicts x3, the least recently used entry in the file.
    for (let i = 10; i < 15; i++) put(b, 'y', i);
    expect(a.get(testKey('x', 3))).toBeUndefined();
    b.clear();
    expect(a.get(testKey('x', 2))).toBeUndefined();
    expect(a.get(testKey('y', 14))).toBeUndefined();
  });

  it('sees another process clear memo.db', () => {
    const a = openCache();
    put(a, 'p', 1);
    expect(a.get(testKey('p', 1))).toBeDefined();
    const script = `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(tmp.file)}); d.prepare('DELETE FROM entries').run(); d.close();`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(a.get(testKey('p', 1))).toBeUndefined();
  });

  it('follows its own clear, replace and eviction, and a caller that changes a returned value changes nothing stored', () => {
    const c = openCache(3000);
    put(c, 'o', 1);
    const got = c.get(testKey('o', 1));
    got?.fill(0);
    expect(c.get(testKey('o', 1))?.equals(testValue('o', 1, 1000))).toBe(true);
    c.put(testKey('o', 1), { servable: 's', method: 'run', value: testValue('o2', 1, 1000) });
    expect(c.get(testKey('o', 1))?.equals(testValue('o2', 1, 1000))).toBe(true);
    put(c, 'o', 2);
    put(c, 'o', 3);
    put(c, 'o', 4); // over 3000: the oldest (o1, touched before o2 was written) goes
    expect(c.get(testKey('o', 1))).toBeUndefined();
    expect(c.get(testKey('o', 4))).toBeDefined();
    c.clear();
    expect(c.get(testKey('o', 4))).toBeUndefined();
    expect(c.stats()).toMatchObject({ entries: 0 });
  });
});

describe('MemoCache.putMany', () => {
  it('stores every value of a chunk, replacing one put before, and serves each; one larger than the budget is skipped', () => {
    const cache = openCache(10_000);
    cache.put(testKey('p', 0), { servable: 's', method: 'run', value: testValue('old', 0, 100) });
    cache.putMany([
      ...Array.from({ length: 5 }, (_, i) => ({ key: testKey('p', i), entry: { servable: 's', method: 'run', value: testValue('p', i, 300) } })),
      { key: testKey('huge', 1), entry: { servable: 's', method: 'run', value: testValue('huge', 1, 20_000) } },
    ]);
    for (let i = 0; i < 5; i++) expect(cache.get(testKey('p', i))?.equals(testValue('p', i, 300))).toBe(true);
    expect(cache.get(testKey('huge', 1))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 5, bytes: 1500 });
    // Another process sees what was written.
    expect(inspectMemoFile(tmp.file)).toMatchObject({ rows: 5, badChecksums: 0, totalsMatch: true });
  });

  it('writes all of a chunk or none: a failed write stores nothing and says why', () => {
    const cache = openCache();
    const db = new Database(tmp.file);
    // The third insert fails: the first two must not stay either.
    db.exec(`CREATE TRIGGER third BEFORE INSERT ON entries WHEN (SELECT count(*) FROM entries) >= 2 BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;`);
    try {
      const err = thrown(() => cache.putMany(Array.from({ length: 3 }, (_, i) => ({ key: testKey('t', i), entry: { servable: 's', method: 'run', value: testValue('t', i, 100) } }))));
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).message).toContain('disk is full');
    } finally {
      db.exec('DROP TRIGGER third;');
      db.close();
    }
    for (let i = 0; i < 3; i++) expect(cache.get(testKey('t', i))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0 });
  });

  it('evicts least recently used entries when a chunk goes over the budget, keeping the chunk just written', () => {
    const cache = openCache(3000);
    cache.put(testKey('e', 0), { servable: 's', method: 'run', value: testValue('e', 0, 1000) });
    cache.putMany([1, 2].map((i) => ({ key: testKey('e', i), entry: { servable: 's', method: 'run', value: testValue('e', i, 1000) } })));
    cache.putMany([3].map((i) => ({ key: testKey('e', i), entry: { servable: 's', method: 'run', value: testValue('e', i, 1000) } })));
    expect(cache.get(testKey('e', 0))).toBeUndefined();
    for (const i of [2, 3]) expect(cache.get(testKey('e', i))?.equals(testValue('e', i, 1000))).toBe(true);
    expect(cache.stats().bytes).toBeLessThanOrEqual(3000);
  });
});
