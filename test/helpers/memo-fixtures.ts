import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { memoKey } from '../../main/memo/key.js';

/** A fresh folder for one memo.db; `cleanup` removes it. */
export function memoTempDir(): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-memo-'));
  return { dir, file: join(dir, 'memo.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The memo key of test input number `i` of a writer `who`. */
export function testKey(who: string, i: number): Buffer {
  return memoKey({ digest: 'sha256:test', method: 'run', input: { json: { who, i }, buffers: [] } });
}

/** A deterministic value of `size` bytes for (who, i), so any reader can tell a right answer from a wrong one. */
export function testValue(who: string, i: number, size: number): Buffer {
  const seed = createHash('sha256').update(`${who}:${i}`).digest();
  const out = Buffer.allocUnsafe(size);
  for (let off = 0; off < size; off += seed.length) seed.copy(out, off, 0, Math.min(seed.length, size - off));
  return out;
}

/** Inspect a memo.db file directly: integrity, per-row checksums, and whether the totals row agrees with the rows. */
export function inspectMemoFile(file: string): { quickCheck: string; rows: number; badChecksums: number; totalsMatch: boolean } {
  const db = new Database(file, { readonly: true });
  try {
    const quickCheck = db.pragma('quick_check', { simple: true }) as string;
    let rows = 0;
    let badChecksums = 0;
    for (const row of db.prepare<[], { value: Buffer; checksum: Buffer; size: number }>('SELECT value, checksum, size FROM entries').iterate()) {
      rows += 1;
      const sum = createHash('sha256').update(row.value).digest().subarray(0, 8);
      if (!sum.equals(row.checksum) || row.size !== row.value.length) badChecksums += 1;
    }
    const totals = db.prepare<[], { entries: number; bytes: number }>('SELECT entries, bytes FROM totals').get();
    const actual = db.prepare<[], { entries: number; bytes: number | null }>('SELECT count(*) AS entries, sum(size) AS bytes FROM entries').get();
    const totalsMatch = totals?.entries === actual?.entries && totals?.bytes === (actual?.bytes ?? 0);
    return { quickCheck, rows, badChecksums, totalsMatch };
  } finally {
    db.close();
  }
}
