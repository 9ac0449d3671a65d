import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoCache } from '../../../main/memo/memo-cache.js';
import { spawnMemoChild } from '../../helpers/memo-child.js';
import { inspectMemoFile, memoTempDir, testKey, testValue } from '../../helpers/memo-fixtures.js';

// spawnMemoChild checks the compiled dist/ is present and current, failing each test (never skipping) when it is not.
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
let tmp: ReturnType<typeof memoTempDir>;

beforeEach(() => {
  tmp = memoTempDir();
});
afterEach(() => tmp.cleanup());

describe('memo.db under process kills and concurrent processes', () => {
  it('survives SIGKILL in the middle of big writes and evictions: file intact, every checksum right, cache usable', async () => {
    const rounds = 6;
    for (let r = 0; r < rounds; r++) {
      // A small budget next to 64-512 KB values makes most puts evict too, so kills land inside both kinds of transaction.
      const child = spawnMemoChild({ file: tmp.file, budgetBytes: 8 * 1024 * 1024, who: `crash${r}`, minSize: 64 * 1024, maxSize: 512 * 1024 });
      await child.ready;
      await sleep(40 + r * 30);
      child.kill();
      const exit = await child.exit;
      expect(exit.signal, `round ${r} child ended on its own: ${exit.stderr}`).toBe('SIGKILL');
      expect(exit.stderr).toBe('');
    }
    const state = inspectMemoFile(tmp.file);
    expect(state.quickCheck).toBe('ok');
    expect(state.rows).toBeGreaterThan(0);
    expect(state.badChecksums).toBe(0);
    expect(state.totalsMatch).toBe(true);

    const cache = MemoCache.open(tmp.file, { budgetBytes: 8 * 1024 * 1024 });
    try {
      expect(cache.stats().bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
      cache.put(testKey('after', 1), { servable: 's', method: 'run', value: testValue('after', 1, 100_000) });
      expect(cache.get(testKey('after', 1))?.equals(testValue('after', 1, 100_000))).toBe(true);
    } finally {
      cache.close();
    }
  });

  it('two processes writing and reading one memo.db at once see only right answers, and lose nothing', async () => {
    const count = 1500;
    const base = { file: tmp.file, budgetBytes: 256 * 1024 * 1024, count, minSize: 512, maxSize: 2048 };
    // Create the schema first so the two children do not race to migrate an empty file.
    MemoCache.open(tmp.file).close();
    const a = spawnMemoChild({ ...base, who: 'A', peers: ['B'] });
    const b = spawnMemoChild({ ...base, who: 'B', peers: ['A'] });
    const [ea, eb] = await Promise.all([a.exit, b.exit]);
    expect(ea.stderr).toBe('');
    expect(eb.stderr).toBe('');
    expect([ea.code, eb.code]).toEqual([0, 0]);
    const ra = JSON.parse(ea.stdout.split('\n').filter(Boolean).pop()!) as { hits: number; peerHits: number };
    const rb = JSON.parse(eb.stdout.split('\n').filter(Boolean).pop()!) as { hits: number; peerHits: number };
    // Each read its own entries back every time, and saw some of the other's while both were running.
    expect(ra.hits - ra.peerHits).toBe(count);
    expect(rb.hits - rb.peerHits).toBe(count);
    expect(ra.peerHits + rb.peerHits).toBeGreaterThan(0);

    const cache = MemoCache.open(tmp.file);
    try {
      const sizeOf = (i: number) => 512 + ((i * 7919) % (2048 - 512 + 1));
      for (const who of ['A', 'B']) {
        for (let i = 0; i < count; i++) expect(cache.get(testKey(who, i))?.equals(testValue(who, i, sizeOf(i))), `${who} ${i}`).toBe(true);
      }
      const stats = cache.stats();
      expect(stats.entries).toBe(2 * count);
      expect(stats.hits).toBe(ra.hits + rb.hits + 2 * count);
      expect(stats.servables.map((s) => [s.name, s.entries])).toEqual(
        expect.arrayContaining([['servable-A', count], ['servable-B', count]]),
      );
    } finally {
      cache.close();
    }
    expect(inspectMemoFile(tmp.file)).toMatchObject({ quickCheck: 'ok', badChecksums: 0, totalsMatch: true });
  });
});
