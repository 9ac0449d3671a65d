import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PathError } from '../../../main/errors.js';
import { joinName, resolveUnder, resolveUnderSync, splitRelative, walkFiles } from '../../../main/storage/path-safety.js';

let tmp: string;
let root: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlhub-path-'));
  root = join(tmp, 'servable');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'model.pkl'), 'm');
  writeFileSync(join(root, 'sub', 'deeper', 'data.csv'), 'd');
  mkdirSync(join(tmp, 'outside'));
  writeFileSync(join(tmp, 'outside', 'shadow'), 'secret');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

async function refusal(rel: string): Promise<PathError> {
  const err = await resolveUnder(root, rel).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PathError);
  expect((err as PathError).code).toBe('PATH_UNSAFE');
  expect((err as PathError).message).toContain(JSON.stringify(rel));
  // The synchronous twin gives the same answer.
  expect(() => resolveUnderSync(root, rel)).toThrow(PathError);
  return err as PathError;
}

describe('resolveUnder', () => {
  it('resolves plain files and folders at any depth', async () => {
    expect(await resolveUnder(root, 'model.pkl')).toMatchObject({ rel: 'model.pkl', kind: 'file' });
    expect(await resolveUnder(root, './sub//deeper/data.csv')).toMatchObject({ rel: 'sub/deeper/data.csv', kind: 'file', abs: join(root, 'sub', 'deeper', 'data.csv') });
    expect(await resolveUnder(root, 'sub')).toMatchObject({ kind: 'dir' });
    expect(await resolveUnder(root, 'sub/new.txt', { allowMissing: true })).toMatchObject({ kind: 'missing' });
  });

  it('refuses a symlink at the last component (the /etc/shadow case)', async () => {
    symlinkSync(join(tmp, 'outside', 'shadow'), join(root, 'shadow'));
    expect((await refusal('shadow')).message).toMatch(/"shadow" is a symbolic link/);
  });

  it('refuses a symlinked folder in the middle of a path', async () => {
    symlinkSync(join(tmp, 'outside'), join(root, 'sub', 'etcdir'));
    expect((await refusal('sub/etcdir/shadow')).details).toMatchObject({ component: 'sub/etcdir' });
  });

  it('refuses a symlinked folder as the first component, and the folder itself', async () => {
    symlinkSync(join(tmp, 'outside'), join(root, 'etcdir'));
    expect((await refusal('etcdir/shadow')).message).toMatch(/"etcdir" is a symbolic link/);
    await refusal('etcdir');
  });

  it('refuses even a link to a file inside the folder (links are never followed)', async () => {
    symlinkSync(join(root, 'model.pkl'), join(root, 'alias.pkl'));
    await refusal('alias.pkl');
  });

  it('refuses a fifo', async () => {
    execFileSync('mkfifo', [join(root, 'pipe')]);
    expect((await refusal('pipe')).message).toMatch(/named pipe/);
  });

  it('refuses "..", absolute paths, NUL and a missing file, naming why', async () => {
    expect((await refusal('../outside/shadow')).message).toMatch(/"\.\."/);
    expect((await refusal('sub/../../outside/shadow')).message).toMatch(/"\.\."/);
    expect((await refusal('/etc/passwd')).message).toMatch(/absolute/);
    expect((await refusal('C:\\Windows')).message).toMatch(/absolute/);
    expect((await refusal('model.pkl\0.txt')).message).toMatch(/NUL/);
    expect((await refusal('nope.pkl')).message).toMatch(/does not exist/);
    expect((await refusal('model.pkl/x')).message).toMatch(/is a file, not a folder/);
  });

  it('never yields a path outside the root, whatever the input (fuzz)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', '..', '.', '/', '\\', 'sub', '\0', 'C:', ''), { maxLength: 8 }), (parts) => {
      const rel = parts.join('');
      try {
        const segs = splitRelative(rel);
        expect(segs.every((s) => s !== '..' && s !== '' && !s.includes('/') && !s.includes('\\'))).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(PathError);
      }
    }), { numRuns: 300 });
  });
});

describe('walkFiles', () => {
  it('lists regular files, skipping what it is told to', async () => {
    writeFileSync(join(root, '.hidden'), 'h');
    const files = await walkFiles(root, '.', { skip: (n) => n.startsWith('.') });
    expect(files.map((f) => f.rel)).toEqual(['model.pkl', 'sub/deeper/data.csv']);
    expect((await walkFiles(root, 'sub')).map((f) => f.rel)).toEqual(['sub/deeper/data.csv']);
  });

  it('refuses a symlinked folder met during the walk instead of copying what it points to', async () => {
    symlinkSync(join(tmp, 'outside'), join(root, 'sub', 'etcdir'));
    const err = await walkFiles(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathError);
    expect((err as PathError).message).toContain('sub/etcdir');
  });
});

describe('joinName', () => {
  it('joins one plain name and refuses anything that could leave the folder', () => {
    expect(joinName('/home/x', 'a..')).toBe(join('/home/x', 'a..'));
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', '\0']) expect(() => joinName('/home/x', bad)).toThrow(PathError);
  });
});
