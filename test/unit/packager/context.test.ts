import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PathError } from '../../../main/errors.js';
import { prepareContext } from '../../../main/packager/context.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { homePaths, type HomePaths } from '../../../main/storage/home.js';

let tmp: string;
let home: HomePaths;
let src: string;
let runnerDir: string;

function metadata(extra: { files?: Record<string, string | string[]>; deps?: Record<string, string> } = {}): ServableMetadata {
  return {
    datacite: { titles: [{ title: 'Demo' }], creators: [{ creatorName: 'Tester' }] },
    dlhub: { name: 'demo', version: '1.0', ...(extra.files ? { files: extra.files } : {}), ...(extra.deps ? { dependencies: { python: extra.deps } } : {}) },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { method_details: { module: 'app', method_name: 'run' } } } },
  };
}

const prepare = (md: ServableMetadata, baseImage = 'python:3.11-slim') => prepareContext(src, md, { home, baseImage, runnerDir });

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlhub-ctx-'));
  home = homePaths(join(tmp, 'home'));
  src = join(tmp, 'src');
  runnerDir = join(tmp, 'runner');
  mkdirSync(src);
  mkdirSync(runnerDir);
  writeFileSync(join(runnerDir, 'dlhub_runner.py'), 'print("runner")\n');
  mkdirSync(join(runnerDir, 'dlhub_runner'));
  writeFileSync(join(runnerDir, 'dlhub_runner', 'main.py'), 'def main(argv):\n    return 0\n');
  writeFileSync(join(runnerDir, 'ensure_deps.py'), 'print("deps")\n');
  writeFileSync(join(src, 'app.py'), 'def run(x):\n    return x\n');
  writeFileSync(join(src, 'dlhub.json'), '{}');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('prepareContext', () => {
  it('copies every ordinary file when the metadata declares none, skipping dotfiles and caches', async () => {
    mkdirSync(join(src, '__pycache__'));
    writeFileSync(join(src, '__pycache__', 'app.cpython-311.pyc'), 'x');
    mkdirSync(join(src, 'node_modules'));
    writeFileSync(join(src, 'node_modules', 'x.js'), 'x');
    writeFileSync(join(src, '.secret'), 'token');
    mkdirSync(join(src, 'data'));
    writeFileSync(join(src, 'data', 'table.csv'), '1,2\n');
    const ctx = await prepare(metadata({ deps: { numpy: '>=1.20' } }));
    expect(ctx.dir).toBe(join(home.servables, 'demo', 'context'));
    expect(ctx.files).toEqual([
      'Dockerfile', 'requirements.json', 'runner/dlhub_runner.py', 'runner/dlhub_runner/main.py', 'runner/ensure_deps.py',
      'servable/app.py', 'servable/data/table.csv', 'servable/dlhub.json',
    ]);
    expect(readFileSync(join(ctx.dir, 'servable', 'app.py'), 'utf8')).toContain('def run');
    expect(JSON.parse(readFileSync(join(ctx.dir, 'servable', 'dlhub.json'), 'utf8')).dlhub.name).toBe('demo');
    expect(JSON.parse(readFileSync(join(ctx.dir, 'requirements.json'), 'utf8'))).toEqual({ python: { numpy: '>=1.20' } });
    expect(readFileSync(join(ctx.dir, 'Dockerfile'), 'utf8')).toContain(`org.dlhub.content-key="${ctx.contentKey}"`);
    expect(ctx.tag).toBe(`dlhub/demo:${ctx.contentKey.slice(0, 16)}`);
    // Nothing but the context and no leftover temporary folder.
    expect(readdirSync(join(home.servables, 'demo'))).toEqual(['context']);
  });

  it('copies only the declared files', async () => {
    writeFileSync(join(src, 'model.pkl'), 'pickle');
    writeFileSync(join(src, 'notes.txt'), 'not part of it');
    const ctx = await prepare(metadata({ files: { model: 'model.pkl', other: ['./app.py'] } }));
    expect(ctx.files.filter((f) => f.startsWith('servable/'))).toEqual(['servable/app.py', 'servable/dlhub.json', 'servable/model.pkl']);
  });

  it('gives the same key for the same content and a new key when a file, the base image or the metadata changes', async () => {
    const first = await prepare(metadata());
    const again = await prepare(metadata());
    expect(again.contentKey).toBe(first.contentKey);
    writeFileSync(join(src, 'app.py'), 'def run(x):\n    return x + 1\n');
    const edited = await prepare(metadata());
    expect(edited.contentKey).not.toBe(first.contentKey);
    expect(edited.tag).not.toBe(first.tag);
    expect((await prepare(metadata(), 'python:3.12-slim')).contentKey).not.toBe(edited.contentKey);
    expect((await prepare(metadata({ deps: { numpy: '' } }))).contentKey).not.toBe(edited.contentKey);
    expect(readFileSync(join(edited.dir, 'servable', 'app.py'), 'utf8')).toContain('x + 1');
  });

  it('refuses a declared path with ".." and names it', async () => {
    writeFileSync(join(tmp, 'outside.txt'), 'secret');
    const err = await prepare(metadata({ files: { other: ['../outside.txt'] } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathError);
    expect((err as PathError).code).toBe('PATH_UNSAFE');
    expect((err as PathError).message).toContain('../outside.txt');
    expect(existsSync(join(home.servables, 'demo', 'context'))).toBe(false);
  });

  it('refuses an absolute path and a declared file that does not exist', async () => {
    await expect(prepare(metadata({ files: { model: '/etc/passwd' } }))).rejects.toThrow(/\/etc\/passwd.*absolute/);
    await expect(prepare(metadata({ files: { model: 'missing.pkl' } }))).rejects.toThrow(/missing\.pkl.*does not exist/);
  });

  // A link anywhere in a declared path put the host's /etc/shadow into the image.
  it('never copies through a symlinked folder at the start or middle of a declared path', async () => {
    mkdirSync(join(tmp, 'etc'));
    writeFileSync(join(tmp, 'etc', 'shadow'), 'root:secret');
    symlinkSync(join(tmp, 'etc'), join(src, 'etcdir'));
    mkdirSync(join(src, 'lib'));
    symlinkSync(join(tmp, 'etc'), join(src, 'lib', 'inner'));
    for (const other of ['etcdir/shadow', 'etcdir', 'lib/inner/shadow', 'lib']) {
      const err = await prepare(metadata({ files: { other: ['app.py', other] } })).catch((e: unknown) => e);
      expect(err, other).toBeInstanceOf(PathError);
      expect((err as PathError).message).toMatch(/symbolic link/);
    }
    // With no files declared the whole folder is walked: the link is refused there too.
    await expect(prepare(metadata())).rejects.toThrow(/"etcdir" is a symbolic link/);
    expect(existsSync(join(home.servables, 'demo', 'context'))).toBe(false);
  });

  it('refuses every symlink, even one to a file inside the folder, and a fifo', async () => {
    const ctx = await prepare(metadata());
    symlinkSync(join(src, 'app.py'), join(src, 'alias.py'));
    const err = await prepare(metadata()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathError);
    expect((err as PathError).message).toMatch(/alias\.py.*symbolic link/);
    // The earlier context is left as it was.
    expect(existsSync(join(ctx.dir, 'servable', 'alias.py'))).toBe(false);
    expect(readdirSync(join(home.servables, 'demo'))).toEqual(['context']);
    rmSync(join(src, 'alias.py'));
    execFileSync('mkfifo', [join(src, 'pipe')]);
    await expect(prepare(metadata({ files: { other: ['app.py', 'pipe'] } }))).rejects.toThrow(/named pipe/);
  });

  it('refuses a name that cannot become a folder and an image name', async () => {
    const md = metadata();
    md.dlhub.name = '../escape';
    await expect(prepare(md)).rejects.toThrow(/Servable name/);
  });
});

describe('one rule for names and versions', () => {
  it('a name build accepts, like "a..", is one the registry finds; schema, packager and registry agree', async () => {
    const { validateMetadata } = await import('../../../main/servable/validate.js');
    const { getLocal, writePrepared } = await import('../../../main/servable/registry.js');
    const md = metadata();
    md.dlhub.name = 'a..';
    validateMetadata(md);
    const ctx = await prepare(md);
    writePrepared(home, { name: 'a..', version: '1.0', contentKey: ctx.contentKey, tag: ctx.tag, sourceDir: src, preparedAt: new Date().toISOString() });
    expect(getLocal(home, 'a..').name).toBe('a..');
    expect(ctx.dir).toBe(join(home.servables, 'a..', 'context'));
  });

  it('versions: what the schema accepts (up to 128 characters) the packager accepts, and one longer is refused by both', async () => {
    const { validateMetadata } = await import('../../../main/servable/validate.js');
    const md = metadata();
    md.dlhub.version = `1.${'0'.repeat(126)}`;
    validateMetadata(md);
    await prepare(md);
    md.dlhub.version = `1.${'0'.repeat(127)}`;
    expect(() => validateMetadata(md)).toThrow(/dlhub\.version/);
    await expect(prepare(md)).rejects.toThrow(/version rule/);
  });

  it('schemas/dlhub.json states the same rule as servable/names.ts', async () => {
    const names = await import('../../../main/servable/names.js');
    const schema = JSON.parse(readFileSync(join(process.cwd(), 'schemas', 'dlhub.json'), 'utf8')) as { properties: Record<string, { pattern: string; maxLength: number }> };
    expect(schema.properties['name']).toMatchObject({ pattern: names.NAME_PATTERN, maxLength: names.NAME_MAX_LENGTH });
    expect(schema.properties['version']).toMatchObject({ pattern: names.VERSION_PATTERN, maxLength: names.VERSION_MAX_LENGTH });
  });

  it('names: uppercase, a leading dot, a slash or 65 characters are refused by schema, packager and registry alike', async () => {
    const { validateMetadata } = await import('../../../main/servable/validate.js');
    const { getLocal } = await import('../../../main/servable/registry.js');
    for (const bad of ['Iris', '.hidden', '..', 'a/b', 'a'.repeat(65)]) {
      const md = metadata();
      md.dlhub.name = bad;
      expect(() => validateMetadata(md), bad).toThrow(/dlhub\.name/);
      await expect(prepare(md), bad).rejects.toThrow(/name/);
      expect(() => getLocal(home, bad), bad).toThrow(/is not a servable name/);
    }
  });
});
