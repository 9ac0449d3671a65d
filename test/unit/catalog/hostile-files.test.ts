// Files that must not stop the service or leak: an import of /dev/zero, a named pipe, a file with no newline,
// a file that is not a catalog (its text is never echoed), an import stopped by its caller, and a full disk
// under $DLHUB_HOME (a clear error naming the folder and the space needed, and no temporary file left).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { saveIndexFile } from '../../../main/catalog/index-file.js';
import { boundedLines, readJsonl } from '../../../main/catalog/transfer.js';
import { DlhubError, LimitError, PathError, StorageError, TaskError } from '../../../main/errors.js';
import { validateMetadata } from '../../../main/servable/validate.js';
import { homePaths } from '../../../main/storage/home.js';
import { tempHome, testRecords } from '../../helpers/catalog-fixtures.js';
import { tempDir } from '../../helpers/home.js';

const work = tempDir('dlhub-hostile-files-');
afterAll(() => work.remove());

const noWrite = (): void => undefined;
const read = (file: string, extra: Partial<Parameters<typeof readJsonl>[1]> = {}): ReturnType<typeof readJsonl> =>
  readJsonl(file, { validate: validateMetadata, write: noWrite, ...extra });

async function rejection(p: Promise<unknown>): Promise<DlhubError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DlhubError);
    return err as DlhubError;
  }
  throw new Error('it did not fail');
}

describe('import readers are bounded', () => {
  it('refuses /dev/zero (a device) at once, with a typed error', async () => {
    const err = await rejection(read('/dev/zero'));
    expect(err).toBeInstanceOf(PathError);
    expect(err.message).toMatch(/device/);
  });

  it('refuses a named pipe nobody writes without blocking a thread of the file pool', async () => {
    const fifo = join(work.path, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // Node's file pool has 4 threads: with the old blocking open, the 8 imports parked all of them and the read below never finished.
    const errs = await Promise.all(Array.from({ length: 8 }, () => rejection(read(fifo))));
    for (const err of errs) expect(err.message).toMatch(/named pipe/);
    writeFileSync(join(work.path, 'after'), 'still answering');
    expect(readFileSync(join(work.path, 'after'), 'utf8')).toBe('still answering');
  });

  it('skips a line longer than the limit without holding it (a file with no newline), and goes on', async () => {
    const file = join(work.path, 'long.jsonl');
    const good = JSON.stringify(testRecords(1)[0]);
    writeFileSync(file, `${'x'.repeat(3 << 20)}\n${good}\n${'\0'.repeat(2 << 20)}`);
    const written: unknown[] = [];
    const report = await read(file, { write: (b) => void written.push(...b), limits: { maxLineBytes: 1 << 20 } });
    expect(report.imported).toBe(1);
    expect(report.errors.map((e) => [e.line, e.problems[0]?.rule])).toEqual([[1, 'length'], [3, 'length']]);
  });

  it('never echoes the text of a file that is not a catalog', async () => {
    const file = join(work.path, 'shadow');
    writeFileSync(file, 'root:$6$s3cr3tSalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n{"a": tru3}\n');
    const report = await read(file);
    expect(report.skipped).toBe(3);
    const text = JSON.stringify(report);
    for (const secret of ['root', 's3cr3t', 'daemon', 'tru3']) expect(text).not.toContain(secret);
    expect(report.errors[0]?.problems[0]?.message).toMatch(/^invalid JSON/);
  });

  it('takes at most maxRecords records and reports at most maxErrors bad lines', async () => {
    const file = join(work.path, 'many.jsonl');
    writeFileSync(file, `${'nope\n'.repeat(50)}${JSON.stringify(testRecords(1)[0])}\n`.repeat(2));
    const report = await read(file, { limits: { maxErrors: 10 } });
    expect(report.skipped).toBe(100);
    expect(report.errors).toHaveLength(10);
    const err = await rejection(read(file, { limits: { maxRecords: 60 } }));
    expect(err).toBeInstanceOf(LimitError);
    expect(err.code).toBe('LIMIT_EXCEEDED');
  });

  it('stops between lines when its signal is aborted, keeping the batches already written', async () => {
    const file = join(work.path, 'stop.jsonl');
    writeFileSync(file, `${testRecords(30).map((r) => JSON.stringify(r)).join('\n')}\n`);
    const stop = new AbortController();
    let batches = 0;
    const err = await rejection(read(file, { batchSize: 5, signal: stop.signal, write: () => { if (++batches === 2) stop.abort(); } }));
    expect(err).toBeInstanceOf(TaskError);
    expect(err.code).toBe('CANCELLED');
    expect(batches).toBe(2);
  });

  it('splits any chunking of any text into the same lines as split("\\n"), each bounded', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.string({ unit: fc.constantFrom('a', 'é', '\n', '\r', '\0', '😀', '{') , maxLength: 40 }), { maxLength: 8 }),
      fc.integer({ min: 1, max: 12 }),
      async (pieces, limit) => {
        const text = pieces.join('');
        const bytes = Buffer.from(text, 'utf8');
        // Cut the bytes at arbitrary points (inside multi-byte characters too).
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += 1 + (i % 5)) chunks.push(bytes.subarray(i, i + 1 + (i % 5)));
        const got: (string | null)[] = [];
        for await (const line of boundedLines((async function* () { yield* chunks; })(), limit)) got.push(line);
        const want = text.split('\n');
        if (want[want.length - 1] === '') want.pop();
        expect(got).toEqual(want.map((l) => {
          const body = l.endsWith('\r') ? l.slice(0, -1) : l;
          return Buffer.byteLength(l) > limit ? null : body;
        }));
      },
    ), { numRuns: 300 });
  });
});

describe('a catalog import through the catalog', () => {
  let home: ReturnType<typeof tempHome>;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => home.cleanup());

  it('stops when the catalog closes under it (the service is stopping), and the home opens again with what was written', async () => {
    const file = join(work.path, 'closing.jsonl');
    writeFileSync(file, `${testRecords(6_000).map((r) => JSON.stringify(r)).join('\n')}\n`);
    const catalog = Catalog.open(home.paths);
    let closed = false;
    const imported = catalog.import(file, { onProgress: (p) => { if (!closed && p.imported >= 5000) { closed = true; catalog.close(); } } });
    const err = await rejection(imported);
    expect(err.code).toBe('CANCELLED');
    const again = Catalog.open(home.paths);
    expect(again.size).toBeGreaterThan(0);
    expect(again.size).toBeLessThan(6_000);
    again.close();
  });

  it('honours the caller\'s signal', async () => {
    const file = join(work.path, 'signal.jsonl');
    writeFileSync(file, `${testRecords(20).map((r) => JSON.stringify(r)).join('\n')}\n`);
    const catalog = Catalog.open(home.paths);
    try {
      const err = await rejection(catalog.import(file, { signal: AbortSignal.abort() }));
      expect(err.code).toBe('CANCELLED');
      expect(catalog.size).toBe(0);
    } finally {
      catalog.close();
    }
  });
});

describe('a full disk under $DLHUB_HOME', () => {
  const mnt = join(work.path, 'small-disk');
  beforeEach(() => {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  });
  afterEach(() => {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('saving the search index names the folder and the space needed, and leaves no temporary file', () => {
    const file = join(mnt, 'catalog-index.bin');
    let err: unknown;
    try {
      saveIndexFile(file, { json: { big: true }, sections: [new Uint8Array(3 << 20)] }, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageError);
    const e = err as StorageError;
    expect(e.code).toBe('CATALOG_ERROR');
    expect(e.message).toContain(`No space left in ${mnt}`);
    expect(e.message).toMatch(/needs about 3\.0 MB/);
    expect(e.details?.['neededBytes']).toBeGreaterThan(3 << 20);
    expect(readdirSync(mnt)).toEqual([]);
  });

  it('an import into a home on a full disk fails with that error and leaves no temporary file', async () => {
    const paths = homePaths(join(mnt, 'home'));
    mkdirSync(paths.root);
    const file = join(work.path, 'big.jsonl');
    writeFileSync(file, `${testRecords(3000).map((r) => JSON.stringify(r)).join('\n')}\n`);
    const catalog = Catalog.open(paths);
    let err: DlhubError;
    try {
      err = await rejection(catalog.import(file));
    } finally {
      try {
        catalog.close();
      } catch {
        // The close may not be able to save the index either: what matters is that it said so and cleaned up.
      }
    }
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toContain(`No space left in ${paths.root}`);
    expect(err.message).not.toMatch(/undefined/);
    expect(readdirSync(paths.root).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('dlhub init on a parent folder', () => {
  it('stops its scan at the bound and says the folder is not a servable folder (no INTERNAL, no whole-disk walk)', async () => {
    const { initServable } = await import('../../../main/servable/init.js');
    const { listFiles } = await import('../../../main/servable/detect.js');
    const wide = join(work.path, 'wide');
    mkdirSync(join(wide, 'a', 'b', 'c'), { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(join(wide, 'a', `f${i}.txt`), '');
    expect(() => listFiles(wide, { maxFiles: 20 })).toThrow(/more than 20 files/);
    expect(() => listFiles(wide, { maxDepth: 1 })).toThrow(/nest more than 1 deep/);
    const err = await rejection(initServable('/'));
    expect(err.code).toBe('DETECT_FAILED');
    expect(err.message).toMatch(/does not look like a servable folder|Cannot list/);
  });
});
