/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- answers are read as loose JSON; the assertions check their shapes */
// Who sees what, as the desktop finds out through sync: a member who leaves a group (or is taken out
// of it by the administrator) gets tombstones for what only the group let them see, and the hub
// refuses them those names in search, describe, pull and registry tokens; joining brings the names
// back. A name turned public reaches everyone's next sync, turned private again leaves it. A revoked
// or an expired token can do nothing at all: sync, search, describe, pull, registry tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { startHub, type RunningHub } from '../../hub/server.js';
import { hashPassword } from '../../hub/secrets.js';

const HUB_BIN = join(import.meta.dirname, '../../bin/dlhub-hub.js');
const NOOP = JSON.parse(readFileSync(join(import.meta.dirname, '../../examples/noop/dlhub.json'), 'utf8'));
const dir = tempDir('dlhub-hub-feed-');
const hubHome = join(dir.path, 'hub');
const homes = { bob: join(dir.path, 'bob'), carol: join(dir.path, 'carol') };
type Who = keyof typeof homes;

let hub: RunningHub;
let clock = Date.now();
const tokens: Record<string, string> = {};

async function call(method: string, path: string, token?: string, body?: unknown, auth?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: { ...(auth ? { authorization: auth } : token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function login(user: string, ttlSeconds?: number): Promise<string> {
  const a = await call('POST', '/v1/auth/token', undefined, { user, password: `${user}-pw`, ...(ttlSeconds ? { ttlSeconds } : {}) });
  expect(a.status).toBe(200);
  return a.body.result.token as string;
}

/** alice publishes NAME (a copy of the noop example's metadata) with a made-up image digest. */
async function publish(name: string, visibility: unknown): Promise<void> {
  const metadata = structuredClone(NOOP);
  metadata.dlhub.name = name;
  metadata.datacite.titles = [{ title: `${name} model` }];
  const a = await call('POST', '/v1/servables', tokens['alice'], { metadata, image: { repository: `alice/${name}`, digest: `sha256:${'ab'.repeat(32)}` }, visibility });
  expect(a.status).toBe(200);
}

function admin(...args: string[]): string {
  return execFileSync(process.execPath, [HUB_BIN, ...args], { env: { ...process.env, DLHUB_HUB_HOME: hubHome }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function dlhub(who: Who, args: string[], env: Record<string, string> = {}) {
  return runCli([...args, '--json'], { DLHUB_HOME: homes[who], ...env });
}

function ok(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return json(r);
}

function refused(r: { code: number; stdout: string; stderr: string }, code: string): void {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(json<any>(r).error.code).toBe(code);
}

async function found(who: Who, words: string): Promise<string[]> {
  return ok(await dlhub(who, ['search', words])).hits.map((h: any) => h.servable).sort();
}

/** The pull actions a registry token grants `token` on alice/NAME. */
async function pullGrant(token: string, name: string): Promise<string[]> {
  const a = await call('GET', `/v1/registry/token?service=dlhub-registry&scope=repository:alice/${name}:pull`, token);
  expect(a.status).toBe(200);
  const payload = JSON.parse(Buffer.from((a.body.token as string).split('.')[1] as string, 'base64url').toString('utf8'));
  return payload.access.flatMap((x: any) => x.actions);
}

beforeAll(async () => {
  // A registry address nobody listens on: the hub signs registry tokens, and nothing here pulls.
  hub = await startHub({ home: hubHome, port: 0, registry: '127.0.0.1:9', ratePerMinute: 0, now: () => clock });
  for (const u of ['alice', 'bob', 'carol']) await hub.store.addUser({ name: u, passwordHash: await hashPassword(`${u}-pw`), clientId: null, secretHash: null }, clock);
  await hub.store.addGroup('lab', 'alice', clock);
  await hub.store.join('lab', 'bob');
  tokens['alice'] = await login('alice');
  tokens['bob'] = await login('bob');
  for (const who of ['bob', 'carol'] as const) ok(await dlhub(who, ['login', '--hub', hub.url, '--user', who, '--password', `${who}-pw`]));
}, 120_000);

afterAll(async () => {
  await hub.stop();
  dir.remove();
});

describe('leaving and joining a group', () => {
  it('tombstones what only the group showed at the next sync, and the hub refuses it everywhere; joining brings it back', async () => {
    await publish('lab-only', { groups: ['lab'] });
    await publish('everyone', 'public');
    await publish('secret', 'private');
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 2, removed: 0 });
    expect(await found('bob', 'model')).toEqual(['alice/everyone', 'alice/lab-only']);
    expect(ok(await dlhub('bob', ['describe', 'alice/lab-only']))).toMatchObject({ name: 'alice/lab-only', source: 'catalog' });
    expect(await pullGrant(tokens['bob'] as string, 'lab-only')).toEqual(['pull']);

    // The administrator takes bob out of the group while the hub runs.
    expect(admin('groups', 'leave', 'lab', 'bob')).toContain('bob left lab');
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 0, removed: 1 });
    expect(await found('bob', 'model')).toEqual(['alice/everyone']);
    refused(await dlhub('bob', ['describe', 'alice/lab-only']), 'SERVABLE_NOT_FOUND');
    refused(await dlhub('bob', ['pull', 'alice/lab-only']), 'NOT_FOUND');
    expect((await call('GET', '/v1/servables/alice/lab-only', tokens['bob'])).status).toBe(404);
    expect((await call('GET', '/v1/servables?q=model', tokens['bob'])).body.result.servables.map((s: any) => s.name)).toEqual(['everyone']);
    expect(await pullGrant(tokens['bob'] as string, 'lab-only')).toEqual([]);
    // A second sync has nothing more to say, and carol (never in the group) was told nothing.
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 0, removed: 0 });
    expect(ok(await dlhub('carol', ['sync']))).toMatchObject({ upserted: 1, removed: 0 });

    // Joining again: the next sync brings the group's names, though bob's cursor is past their publish.
    expect(admin('groups', 'join', 'lab', 'bob')).toContain('bob joined lab');
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 1, removed: 0 });
    expect(await found('bob', 'model')).toEqual(['alice/everyone', 'alice/lab-only']);
    expect(await pullGrant(tokens['bob'] as string, 'lab-only')).toEqual(['pull']);
  });

  it('sends no tombstone for a name the member still sees another way', async () => {
    await hub.store.addGroup('lab2', 'alice', clock);
    await hub.store.join('lab2', 'bob');
    await publish('two-groups', { groups: ['lab', 'lab2'] });
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 1, removed: 0 });
    admin('groups', 'leave', 'lab', 'bob');
    const after = ok(await dlhub('bob', ['sync']));
    expect(after.removed).toBe(1);
    expect(await found('bob', 'model')).toEqual(['alice/everyone', 'alice/two-groups']);
    admin('groups', 'join', 'lab', 'bob');
    ok(await dlhub('bob', ['sync']));
  });
});

describe('visibility changes', () => {
  it('reach every sync: private to public brings the record to all, public to private takes it away again', async () => {
    for (const who of ['bob', 'carol'] as const) ok(await dlhub(who, ['sync']));
    expect(await found('carol', 'secret')).toEqual([]);
    expect((await call('PUT', '/v1/servables/alice/secret/visibility', tokens['alice'], { visibility: 'public' })).status).toBe(200);
    for (const who of ['bob', 'carol'] as const) {
      expect(ok(await dlhub(who, ['sync']))).toMatchObject({ upserted: 1, removed: 0 });
      expect(await found(who, 'secret')).toEqual(['alice/secret']);
    }
    expect((await call('PUT', '/v1/servables/alice/secret/visibility', tokens['alice'], { visibility: 'private' })).status).toBe(200);
    for (const who of ['bob', 'carol'] as const) {
      expect(ok(await dlhub(who, ['sync']))).toMatchObject({ upserted: 0, removed: 1 });
      expect(await found(who, 'secret')).toEqual([]);
      refused(await dlhub(who, ['pull', 'alice/secret']), 'NOT_FOUND');
    }
    // Public to a group: those outside it lose it, members keep it.
    await call('PUT', '/v1/servables/alice/everyone/visibility', tokens['alice'], { visibility: { groups: ['lab'] } });
    expect(ok(await dlhub('carol', ['sync']))).toMatchObject({ removed: 1 });
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 1, removed: 0 });
    expect(await found('carol', 'model')).toEqual([]);
    expect(await found('bob', 'everyone')).toEqual(['alice/everyone']);
  });
});

describe('tokens that no longer count', () => {
  async function expectPowerless(token: string): Promise<void> {
    for (const path of ['/v1/changes?since=0', '/v1/servables?q=model', '/v1/servables/alice/lab-only', '/v1/servables/alice/two-groups/versions/1', '/v1/registry/token?service=dlhub-registry&scope=repository:alice/lab-only:pull', '/v1/whoami']) {
      const a = await call('GET', path, token);
      expect(a.status, path).toBe(401);
      expect(a.body.error.code, path).toBe('UNAUTHORIZED');
    }
    // The registry's own flow (Basic, the hub token as the password) is refused too.
    const basic = await call('GET', '/v1/registry/token?service=dlhub-registry&scope=repository:alice/lab-only:pull', undefined, undefined, `Basic ${Buffer.from(`bob:${token}`).toString('base64')}`);
    expect(basic.status).toBe(401);
    // The desktop with that token: sync and pull answer UNAUTHORIZED, not an anonymous view.
    const env = { DLHUB_TOKEN: token, DLHUB_HUB_URL: hub.url };
    refused(await dlhub('bob', ['sync'], env), 'UNAUTHORIZED');
    refused(await dlhub('bob', ['pull', 'alice/lab-only'], env), 'UNAUTHORIZED');
    refused(await dlhub('bob', ['whoami'], env), 'UNAUTHORIZED');
  }

  it('a revoked token can do nothing', async () => {
    const token = await login('bob');
    expect(await pullGrant(token, 'lab-only')).toEqual(['pull']);
    expect((await call('DELETE', '/v1/auth/token', token)).body.result).toEqual({ revoked: true });
    await expectPowerless(token);
  });

  it('an expired token can do nothing', async () => {
    const token = await login('bob', 60);
    expect(ok(await dlhub('bob', ['sync'], { DLHUB_TOKEN: token, DLHUB_HUB_URL: hub.url }))).toMatchObject({ hub: hub.url });
    clock += 61_000;
    await expectPowerless(token);
    // bob's own, longer-lived sign-in still works.
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ hub: hub.url });
  });
});
