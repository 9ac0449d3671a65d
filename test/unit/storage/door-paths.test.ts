// Paths named over a network door reach only $DLHUB_HOME/staging and DLHUB_WORKSPACE folders, with no
// `..`, no link and no special file on the way; the user's own doors (CLI, SDK, socket) keep their reach.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWorkspaces, resolveDoorPath, type DoorPathUse } from '../../../main/storage/door-paths.js';
import { PathError } from '../../../main/errors.js';
import { homePaths } from '../../../main/storage/home.js';
import { loadSettings } from '../../../main/engine/settings.js';
import { tempDir } from '../../helpers/home.js';

const work = tempDir('dlhub-door-paths-');
afterAll(() => work.remove());

const paths = homePaths(join(work.path, 'home'));
const workspace = join(work.path, 'workspace');
const outside = join(work.path, 'outside');
for (const dir of [paths.staging, workspace, outside, join(workspace, 'models')]) mkdirSync(dir, { recursive: true });
writeFileSync(join(paths.staging, 'catalog.jsonl'), '{}\n');
writeFileSync(join(workspace, 'models', 'a.jsonl'), '{}\n');
writeFileSync(join(outside, 'secret'), 'secret\n');
symlinkSync(join(outside, 'secret'), join(paths.staging, 'link-out'));
symlinkSync(outside, join(workspace, 'dir-link'));
execFileSync('mkfifo', [join(paths.staging, 'pipe')]);

const remote = (path: string, use: DoorPathUse): Promise<string> => resolveDoorPath(path, { remote: true, paths, workspaces: [workspace], use });

async function refusal(path: string, use: DoorPathUse): Promise<PathError> {
  try {
    await remote(path, use);
  } catch (err) {
    expect(err).toBeInstanceOf(PathError);
    return err as PathError;
  }
  throw new Error(`${path} (${use}) was accepted`);
}

describe('resolveDoorPath over a network door', () => {
  it('accepts files in staging (relative names are taken there) and in a workspace folder', async () => {
    expect(await remote('catalog.jsonl', 'read-file')).toBe(join(paths.staging, 'catalog.jsonl'));
    expect(await remote(join(paths.staging, 'catalog.jsonl'), 'read-file')).toBe(join(paths.staging, 'catalog.jsonl'));
    expect(await remote(join(workspace, 'models', 'a.jsonl'), 'read-file')).toBe(join(workspace, 'models', 'a.jsonl'));
    expect(await remote(join(workspace, 'models'), 'folder')).toBe(join(workspace, 'models'));
    expect(await remote('new-export.jsonl', 'write-file')).toBe(join(paths.staging, 'new-export.jsonl'));
  });

  it('refuses every path outside the allowed folders, and names only those folders', async () => {
    for (const p of ['/etc/shadow', '/dev/zero', outside, join(outside, 'secret'), paths.stateDb, join(paths.root, 'credentials', 'x'), '/']) {
      const err = await refusal(p, 'read-file');
      expect(err.code).toBe('PATH_UNSAFE');
      expect(err.hint).toContain(paths.staging);
      expect(err.message).not.toContain('secret\n');
    }
    expect((await refusal('/home/me/.bashrc', 'write-file')).message).toMatch(/outside the folders/);
    expect((await refusal(join(paths.root, 'servables'), 'folder')).code).toBe('PATH_UNSAFE');
  });

  it('refuses "..", links (to files or folders) and special files inside the allowed folders', async () => {
    expect((await refusal('../state.db', 'read-file')).message).toMatch(/"\.\."/);
    expect((await refusal(`${paths.staging}/../catalog-index.bin`, 'write-file')).message).toMatch(/"\.\."/);
    expect((await refusal('link-out', 'read-file')).message).toMatch(/symbolic link/);
    expect((await refusal('link-out', 'write-file')).message).toMatch(/symbolic link/);
    expect((await refusal(join(workspace, 'dir-link', 'secret'), 'read-file')).message).toMatch(/symbolic link/);
    expect((await refusal(join(workspace, 'dir-link', 'new'), 'write-file')).message).toMatch(/symbolic link/);
    expect((await refusal('pipe', 'read-file')).message).toMatch(/named pipe/);
    expect((await refusal('pipe', 'write-file')).message).toMatch(/named pipe/);
  });

  it('checks what the operation needs: a file to read, a folder to build, an allowed folder itself only as a folder', async () => {
    expect((await refusal('missing.jsonl', 'read-file')).message).toMatch(/does not exist/);
    expect((await refusal(join(workspace, 'models'), 'read-file')).message).toMatch(/folder, not a file/);
    expect((await refusal('catalog.jsonl', 'folder')).message).toMatch(/not a folder/);
    expect((await refusal(paths.staging, 'write-file')).message).toMatch(/allowed folder itself/);
    expect(await remote(paths.staging, 'folder')).toBe(paths.staging);
    expect((await refusal('a\0b', 'read-file')).message).toMatch(/NUL/);
    expect((await refusal('', 'read-file')).message).toMatch(/empty/);
  });

  it('allows nothing but staging when no workspace is set (the default)', async () => {
    const none = (p: string): Promise<string> => resolveDoorPath(p, { remote: true, paths, use: 'read-file' });
    await expect(none(join(workspace, 'models', 'a.jsonl'))).rejects.toBeInstanceOf(PathError);
    expect(await none('catalog.jsonl')).toBe(join(paths.staging, 'catalog.jsonl'));
  });
});

describe('resolveDoorPath for the user\'s own doors', () => {
  it('keeps the user\'s reach: any path, resolved as given', async () => {
    const local = (p: string): Promise<string> => resolveDoorPath(p, { paths, use: 'read-file' });
    expect(await local(join(outside, 'secret'))).toBe(join(outside, 'secret'));
    expect(await local('rel/file')).toBe(resolve('rel/file'));
  });
});

describe('DLHUB_WORKSPACE', () => {
  it('is a path-list of absolute folders, none by default', () => {
    expect(loadSettings({}).workspaces).toEqual([]);
    expect(loadSettings({ DLHUB_WORKSPACE: `${workspace}:relative/ignored::${outside}/` }).workspaces).toEqual([workspace, outside]);
    expect(parseWorkspaces(undefined)).toEqual([]);
  });
});
