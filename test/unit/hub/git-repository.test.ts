// Publishing from git, the parts before the build: which repository addresses git may fetch (no
// remote helpers, no options, no credentials recorded), refs, a shallow fetch of a real local
// repository at a branch, a tag or a commit, and the refusals: no dlhub.json at the root, a link
// pointing out of the tree. The provenance written into dlhub.json reads back.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRef, cloneRepository, linksOutside, parseRepository, provenanceIdentifiers, readProvenance, recordProvenance } from '../../../main/hub/git-repository.js';
import { PathError, RepositoryError, UsageError } from '../../../main/errors.js';
import { tempDir } from '../../helpers/home.js';

const work = tempDir('dlhub-git-repo-');
afterAll(() => work.remove());

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

/** A repository with `files` committed on main; answers its folder. */
function repo(name: string, files: Record<string, string>): string {
  const dir = join(work.path, name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

const DLHUB_JSON = JSON.stringify({ datacite: { titles: [{ title: 't' }], creators: [], relatedIdentifiers: [{ relatedIdentifier: 'https://doi.org/10.1/x', relatedIdentifierType: 'URL', relationType: 'IsDerivedFrom' }] }, dlhub: { name: 'x' }, servable: {} });

describe('repository addresses', () => {
  it('takes https, ssh, git, file URLs, user@host:path and local paths; records https without credentials', () => {
    expect(parseRepository('https://user:secret@example.org/o/r.git')).toEqual({ kind: 'url', url: 'https://user:secret@example.org/o/r.git', recorded: 'https://example.org/o/r.git' });
    expect(parseRepository('ssh://git@example.org/o/r')).toMatchObject({ kind: 'url', recorded: 'ssh://example.org/o/r' });
    expect(parseRepository('git@example.org:o/r.git')).toEqual({ kind: 'url', url: 'git@example.org:o/r.git', recorded: 'git@example.org:o/r.git' });
    expect(parseRepository('file:///tmp/some%20repo')).toEqual({ kind: 'path', path: '/tmp/some repo' });
    expect(parseRepository('../here')).toEqual({ kind: 'path', path: '../here' });
  });

  it('refuses remote helpers, other schemes, options and control characters', () => {
    for (const bad of ['ext::sh -c touch% /tmp/pwned', 'fd::3', '-uhack', '--upload-pack=touch /tmp/x', 'ftp://example.org/r', 'https://example.org/r\n', '']) {
      expect(() => parseRepository(bad), bad).toThrow(UsageError);
    }
  });

  it('never answers a git URL that git would read as an option or a remote helper (fuzz)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      let where;
      try {
        where = parseRepository(s);
      } catch (err) {
        return err instanceof UsageError;
      }
      if (where.kind === 'path') return !s.includes('\0');
      const scheme = /^([a-z]+):\/\//i.exec(where.url);
      return !where.url.startsWith('-') && !/^[A-Za-z][A-Za-z0-9+.-]*::/.test(where.url) && (scheme === null || new URL(where.recorded).password === '');
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.webUrl({ authoritySettings: { withUserInfo: true } }), (u) => {
      const where = parseRepository(u);
      return where.kind === 'url' && new URL(where.recorded).password === '' && new URL(where.recorded).username === '';
    }), { numRuns: 500 });
  });

  it('refs: branches, tags and commits; never an option or ".."', () => {
    expect(checkRef('main')).toBe('main');
    expect(checkRef('v1.2')).toBe('v1.2');
    expect(checkRef('feature/x')).toBe('feature/x');
    expect(checkRef(undefined)).toBeUndefined();
    for (const bad of ['-b', '--upload-pack=x', 'a..b', 'a b', 'x\0']) expect(() => checkRef(bad), bad).toThrow(UsageError);
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        const r = checkRef(s);
        return r === undefined || (!r.startsWith('-') && !r.includes('..'));
      } catch (err) {
        return err instanceof UsageError;
      }
    }), { numRuns: 2000 });
  });
});

describe('cloning', () => {
  const staging = join(work.path, 'staging');

  it('fetches the HEAD, a branch, a tag or a commit shallowly, without .git, and answers the commit', async () => {
    const dir = repo('good', { 'dlhub.json': DLHUB_JSON, 'model.py': 'v = 1\n' });
    const first = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'tag', 'v1');
    writeFileSync(join(dir, 'model.py'), 'v = 2\n');
    git(dir, 'commit', '-q', '-am', 'second');
    const second = git(dir, 'rev-parse', 'HEAD');
    const url = pathToFileURL(dir).href;
    for (const [ref, commit, text] of [[undefined, second, 'v = 2\n'], ['main', second, 'v = 2\n'], ['v1', first, 'v = 1\n'], [first, first, 'v = 1\n']] as const) {
      const c = await cloneRepository(staging, url, url, ref);
      expect(c.commit, String(ref)).toBe(commit);
      expect(readFileSync(join(c.dir, 'model.py'), 'utf8')).toBe(text);
      expect(existsSync(join(c.dir, '.git'))).toBe(false);
      await c.remove();
      expect(existsSync(c.dir)).toBe(false);
    }
    expect(readdirSync(staging)).toEqual([]);
  });

  it('refuses a repository without dlhub.json at its root, naming the commit, and leaves nothing', async () => {
    const dir = repo('no-metadata', { 'sub/dlhub.json': DLHUB_JSON, 'README.md': 'hi\n' });
    const url = pathToFileURL(dir).href;
    const err = await cloneRepository(staging, url, url, undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepositoryError);
    expect((err as RepositoryError).code).toBe('REPOSITORY_INVALID');
    expect((err as RepositoryError).message).toContain('no dlhub.json at its root');
    expect((err as RepositoryError).message).toContain(git(dir, 'rev-parse', 'HEAD').slice(0, 12));
    expect(readdirSync(staging)).toEqual([]);
  });

  it('refuses links that point out of the repository (absolute or through ..); links inside are fine', async () => {
    const dir = repo('links', { 'dlhub.json': DLHUB_JSON, 'data/a.txt': 'a\n' });
    symlinkSync('data/a.txt', join(dir, 'inside'));
    symlinkSync('/etc/passwd', join(dir, 'data', 'abs'));
    symlinkSync('../../secret', join(dir, 'data', 'up'));
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'links');
    expect(await linksOutside(dir)).toEqual([join('data', 'abs'), join('data', 'up')]);
    const url = pathToFileURL(dir).href;
    const err = await cloneRepository(staging, url, url, undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathError);
    expect((err as PathError).message).toMatch(/links pointing outside the repository: data\/abs, data\/up/);
    expect(readdirSync(staging)).toEqual([]);
  });

  it('a repository that is not there fails with git\'s reason and no credentials in it', async () => {
    const err = await cloneRepository(staging, 'file:///nonexistent/repo', 'file:///nonexistent/repo', undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepositoryError);
    expect((err as RepositoryError).message).toMatch(/git fetch failed/);
    const bad = await cloneRepository(staging, pathToFileURL(repo('tagless', { 'dlhub.json': DLHUB_JSON })).href, 'x', 'no-such-branch').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RepositoryError);
    expect(readdirSync(staging)).toEqual([]);
  });
});

describe('provenance', () => {
  it('is written after the author\'s related identifiers and reads back', async () => {
    const dir = join(work.path, 'prov');
    mkdirSync(dir);
    writeFileSync(join(dir, 'dlhub.json'), DLHUB_JSON);
    const sha = 'a'.repeat(40);
    await recordProvenance(dir, 'https://example.org/o/r.git', sha);
    const md = JSON.parse(readFileSync(join(dir, 'dlhub.json'), 'utf8'));
    expect(md.datacite.relatedIdentifiers).toEqual([JSON.parse(DLHUB_JSON).datacite.relatedIdentifiers[0], ...provenanceIdentifiers('https://example.org/o/r.git', sha)]);
    expect(md.datacite.relatedIdentifiers[2].relatedIdentifier).toBe(`swh:1:rev:${sha}`);
    expect(readProvenance(md)).toEqual({ repository: 'https://example.org/o/r.git', commit: sha });
    expect(readProvenance({ datacite: {} })).toBeUndefined();
  });
});
