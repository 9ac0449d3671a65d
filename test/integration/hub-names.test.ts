/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- answers are read as loose JSON; the assertions check their shapes */
// Hostile names, refused on both sides. The hub: names with "..", slashes or control characters in
// a publish, a path, a group, a registry scope or an admin command answer 400 (or grant nothing), and
// an image must live under the name it is published as. The desktop: the same names on its command
// line are refused, and a hub that misbehaves (a stand-in server here) cannot put such a name into
// the catalog through sync, nor send a pull to another repository, a non-digest or another name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { json, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { startHub, type RunningHub } from '../../hub/server.js';
import { hashPassword } from '../../hub/secrets.js';

const HUB_BIN = join(import.meta.dirname, '../../bin/dlhub-hub.js');
const NOOP = JSON.parse(readFileSync(join(import.meta.dirname, '../../examples/noop/dlhub.json'), 'utf8'));
const dir = tempDir('dlhub-hub-names-');
const home = join(dir.path, 'desktop');
const DIGEST = `sha256:${'ef'.repeat(32)}`;
/** Names that must never become a path, a tag or a key. */
const HOSTILE = ['..', '../x', 'x/..', 'a/b', 'a\\b', '.hidden', 'a\nb', 'a\u0000b', 'a\u001bb', 'a\u007fb', 'A', 'x'.repeat(65), 'a..b', ' a', 'a b', '%2e%2e'];

let hub: RunningHub;
let alice = '';

async function call(method: string, path: string, body?: unknown, token = alice): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

function metadata(name: string, version?: string): Record<string, unknown> {
  const md = structuredClone(NOOP);
  md.dlhub.name = name;
  if (version === undefined) delete md.dlhub.version;
  else md.dlhub.version = version;
  return md;
}

function ok(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return json(r);
}

function refusedAs(r: { code: number; stdout: string; stderr: string }, code: string): void {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(json<any>(r).error.code, r.stdout).toBe(code);
}

beforeAll(async () => {
  hub = await startHub({ home: join(dir.path, 'hub'), port: 0, registry: '127.0.0.1:9', ratePerMinute: 0 });
  await hub.store.addUser({ name: 'alice', passwordHash: await hashPassword('alice-pw'), clientId: null, secretHash: null }, Date.now());
  await hub.store.addGroup('lab', 'alice', Date.now());
  const login = await fetch(`${hub.url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'alice-pw' }) });
  alice = ((await login.json()) as any).result.token as string;
  expect((await call('POST', '/v1/servables', { metadata: metadata('fine'), image: { repository: 'alice/fine', digest: DIGEST }, visibility: 'public' })).status).toBe(200);
});

afterAll(async () => {
  await hub.stop();
  dir.remove();
});

describe('the hub refuses hostile names', () => {
  it('in a publish: the name, the version and the image\'s repository', async () => {
    for (const name of HOSTILE) {
      const a = await call('POST', '/v1/servables', { metadata: metadata(name), image: { repository: `alice/${name}`, digest: DIGEST } });
      expect(a.status, JSON.stringify(name)).toBe(400);
      expect(a.body.error.code).toBe('USAGE');
    }
    for (const version of ['..', '../1', '1/2', '1\n', '1\u0000', '.1', '1..2']) {
      expect((await call('POST', '/v1/servables', { metadata: metadata('fine', version), image: { repository: 'alice/fine', digest: DIGEST } })).status, JSON.stringify(version)).toBe(400);
    }
    for (const repository of ['alice/other', 'bob/fine', 'alice/fine/x', '../alice/fine', 'alice/fine:push repository:bob/x']) {
      const a = await call('POST', '/v1/servables', { metadata: metadata('fine', '9'), image: { repository, digest: DIGEST } });
      expect(a.status, repository).toBe(400);
      expect(a.body.error.message).toContain('alice/fine');
    }
    for (const digest of ['sha256:../..', `sha256:${'E'.repeat(64)}`, `sha512:${'e'.repeat(64)}`, `${DIGEST}\n`]) {
      expect((await call('POST', '/v1/servables', { metadata: metadata('fine', '9'), image: { repository: 'alice/fine', digest } })).status, digest).toBe(400);
    }
    // Nothing of it reached the feed.
    const feed = await call('GET', '/v1/changes?since=0');
    expect(feed.body.result.changes.map((c: any) => c.name)).toEqual(['fine']);
  });

  it('in a path, a group and a visibility', async () => {
    for (const name of HOSTILE) {
      const enc = encodeURIComponent(name);
      for (const path of [`/v1/servables/alice/${enc}`, `/v1/servables/${enc}/fine`, `/v1/servables/alice/fine/versions/${enc}`]) {
        const a = await call('GET', path);
        // A separator makes another route (404); everything else fails the name's pattern (400).
        expect([400, 404], `${path} ${a.status}`).toContain(a.status);
        expect(a.body.error).toBeDefined();
      }
      expect((await call('POST', '/v1/servables/alice/fine/share', { group: name })).status, JSON.stringify(name)).toBe(400);
      expect((await call('PUT', '/v1/servables/alice/fine/visibility', { visibility: { groups: [name] } })).status, JSON.stringify(name)).toBe(400);
    }
    expect((await call('GET', '/v1/servables/alice/fine')).body.result.visibility).toBe('public');
  });

  it('in a registry scope: nothing is granted', async () => {
    for (const repo of ['alice/../bob', 'alice/fine/../x', '../fine', 'alice/a\nb', 'alice/.hidden', 'alice/fine:push']) {
      const a = await call('GET', `/v1/registry/token?service=dlhub-registry&scope=${encodeURIComponent(`repository:${repo}:pull,push`)}`);
      expect(a.status).toBe(200);
      const claims = JSON.parse(Buffer.from((a.body.token as string).split('.')[1] as string, 'base64url').toString('utf8'));
      expect(claims.access.flatMap((x: any) => x.actions), repo).toEqual([]);
    }
  });

  it('in the administrator\'s commands', () => {
    const env = { ...process.env, DLHUB_HUB_HOME: join(dir.path, 'hub') };
    for (const name of ['..', 'a/b', 'a\u001bb', '.x']) {
      const users = spawnSync(process.execPath, [HUB_BIN, 'users', 'add', name, '--password', 'p'], { env, encoding: 'utf8' });
      expect(users.status, name).toBe(2);
      expect(users.stderr).toContain('USAGE');
      const groups = spawnSync(process.execPath, [HUB_BIN, 'groups', 'add', name, '--owner', 'alice'], { env, encoding: 'utf8' });
      expect(groups.status, name).toBe(2);
    }
  });
});

describe('the desktop refuses hostile names', () => {
  const dlhub = (args: string[], env: Record<string, string> = {}) => runCli([...args, '--json'], { DLHUB_HOME: home, ...env });

  it('on its command line', async () => {
    ok(await dlhub(['login', '--hub', hub.url, '--user', 'alice', '--password', 'alice-pw']));
    for (const ref of ['alice/../x', '../fine', 'alice/fine/x', 'alice/a\u001bb', 'alice/fine@../1']) refusedAs(await dlhub(['pull', ref]), 'USAGE');
    refusedAs(await dlhub(['publish', 'fine', '--visibility', 'group:../lab']), 'USAGE');
    refusedAs(await dlhub(['publish', 'fine', '--visibility', 'group:a/b']), 'USAGE');
    const share = await dlhub(['share', 'fine', '--group', '../lab']);
    expect(share.code).not.toBe(0);
    expect(ok(await dlhub(['outbox'])).items).toEqual([]);
  });

  describe('from a hub that misbehaves', () => {
    let fake: Server;
    let fakeUrl = '';
    const record = (owner: string, name: string, over: Record<string, unknown> = {}) => ({
      owner, name, version: '1', metadata: metadata(name), image: { repository: `${owner}/${name}`, digest: DIGEST }, visibility: 'public', createdAt: '', updatedAt: '', ...over,
    });
    const answers: Record<string, unknown> = {
      '/v1/whoami': { user: 'bob', groups: [] },
      '/v1/servables/alice/norepo': record('alice', 'norepo', { image: { repository: '../../etc', digest: DIGEST } }),
      '/v1/servables/alice/otherrepo': record('alice', 'otherrepo', { image: { repository: 'bob/private', digest: DIGEST } }),
      '/v1/servables/alice/nodigest': record('alice', 'nodigest', { image: { repository: 'alice/nodigest', digest: 'sha256:../../../x' } }),
      '/v1/servables/alice/swapped': record('alice', '..'),
    };

    beforeAll(async () => {
      const changes = [
        record('alice', '../../evil'),
        record('../x', 'fine2'),
        record('alice', 'a\u001bb'),
        record('alice', 'fine3', { version: '../1' }),
        record('alice', 'good'),
      ].map((r, i) => ({ cursor: String(i + 1), owner: r.owner, name: r.name, version: r.version, record: r }));
      fake = createServer((req, res) => {
        const path = (req.url ?? '').split('?')[0] as string;
        const result = path === '/v1/changes' ? { changes, next: String(changes.length), more: false } : answers[path];
        res.writeHead(result === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result === undefined ? { error: { code: 'NOT_FOUND', message: 'no', hint: '' } } : { result }));
      });
      await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
      const a = fake.address();
      fakeUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    });

    afterAll(async () => {
      await new Promise<void>((r) => fake.close(() => r()));
    });

    it('files only the well-named record from its feed', async () => {
      const env = { DLHUB_TOKEN: 'dlh_fake', DLHUB_HUB_URL: fakeUrl };
      const synced = ok(await dlhub(['sync'], env));
      expect(synced).toMatchObject({ upserted: 1, skipped: 4 });
      const hits = ok(await dlhub(['search', 'No-op'])).hits.map((h: any) => h.servable);
      expect(hits).toContain('alice/good');
      for (const h of hits) expect(h).toMatch(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/);
    });

    it('refuses a pull sent to another repository, a non-digest or another name, before the engine is asked', async () => {
      const env = { DLHUB_TOKEN: 'dlh_fake', DLHUB_HUB_URL: fakeUrl };
      refusedAs(await dlhub(['pull', 'alice/norepo'], env), 'INPUT_INVALID');
      refusedAs(await dlhub(['pull', 'alice/otherrepo'], env), 'INPUT_INVALID');
      refusedAs(await dlhub(['pull', 'alice/nodigest'], env), 'INPUT_INVALID');
      refusedAs(await dlhub(['pull', 'alice/swapped'], env), 'CONFLICT');
      expect(existsSync(join(home, 'servables')) ? readdirSync(join(home, 'servables')) : []).toEqual([]);
    });
  });
});
