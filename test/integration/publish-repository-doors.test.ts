// publishRepository at the doors: the user's own reach (in process) may name any local repository;
// over the HTTP API a caller may give a URL, or a local path only inside staging or a DLHUB_WORKSPACE
// folder (file:// URLs included), as every other path of the contract. A refused path never reaches git.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { createClient, type ClientOperations } from '../../main/api/doors/client.js';
import { inProcessTransport } from '../../main/api/doors/in-process.js';
import { httpTransport } from '../../main/api/doors/http-transport.js';
import { createHttpDoor, listenOnTcp, type RunningDoor } from '../../main/api/doors/http-door.js';
import { DlhubError } from '../../main/errors.js';
import { tempDir } from '../helpers/home.js';

const work = tempDir('dlhub-publish-repo-doors-');
const space = join(work.path, 'space');
let dlhub: Dlhub;
let door: RunningDoor;
let local: ClientOperations;
let http: ClientOperations;

/** A committed repository with no dlhub.json: any door that lets git at it answers REPOSITORY_INVALID. */
function emptyRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'README.md'), 'no servable here\n');
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'first']]) execFileSync('git', args, { cwd: dir, env });
  return dir;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  return err instanceof DlhubError ? err.code : `no error: ${String(err)}`;
}

beforeAll(async () => {
  dlhub = new Dlhub({ home: join(work.path, 'home'), settings: { workspaces: [space] } });
  const guard = { token: 'repo-token', hosts: new Set<string>(), origins: new Set<string>() };
  door = createHttpDoor(dlhub, { guard });
  const port = await listenOnTcp(door, '127.0.0.1', 0);
  guard.hosts.add(`127.0.0.1:${port}`);
  local = createClient(inProcessTransport(dlhub));
  http = createClient(httpTransport({ baseUrl: `http://127.0.0.1:${port}`, token: 'repo-token' }));
});

afterAll(async () => {
  await door?.stop(1000);
  await dlhub?.close();
  work.remove();
});

describe('publishRepository paths by door', () => {
  it('in process, any local repository reaches git', async () => {
    const outside = emptyRepo(join(work.path, 'outside'));
    expect(await codeOf(local.publishRepository({ repo: outside }))).toBe('REPOSITORY_INVALID');
    expect(await codeOf(local.publishRepository({ repo: pathToFileURL(outside).href }))).toBe('REPOSITORY_INVALID');
  });

  it('over HTTP, a path or file:// URL outside staging and the workspaces is PATH_UNSAFE; inside a workspace it reaches git', async () => {
    const outside = join(work.path, 'outside');
    expect(await codeOf(http.publishRepository({ repo: outside }))).toBe('PATH_UNSAFE');
    expect(await codeOf(http.publishRepository({ repo: pathToFileURL(outside).href }))).toBe('PATH_UNSAFE');
    expect(await codeOf(http.publishRepository({ repo: '/etc' }))).toBe('PATH_UNSAFE');
    expect(await codeOf(http.publishRepository({ repo: `${space}/../outside` }))).toBe('PATH_UNSAFE');
    const inside = emptyRepo(join(space, 'repo'));
    expect(await codeOf(http.publishRepository({ repo: inside }))).toBe('REPOSITORY_INVALID');
    expect(await codeOf(http.publishRepository({ repo: pathToFileURL(inside).href }))).toBe('REPOSITORY_INVALID');
    // A remote helper or an option never reaches git, at any door.
    expect(await codeOf(http.publishRepository({ repo: 'ext::sh -c id' }))).toBe('USAGE');
    expect(await codeOf(http.publishRepository({ repo: inside, ref: '--upload-pack=id' }))).toBe('USAGE');
    expect(readdirSync(dlhub.paths.staging)).toEqual([]);
  });
});
