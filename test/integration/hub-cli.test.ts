/* eslint-disable @typescript-eslint/no-explicit-any -- answers are read as loose JSON; the assertions check their shapes */
// The administrator's `dlhub-hub` commands (the built program) and `serve` on PostgreSQL: accounts
// and groups made by commands are the ones the API signs in, a client's printed credentials work,
// mistakes exit non-zero with a message and a hint, and a hub on Debian's PostgreSQL answers the
// same API (a private cluster started by this test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

const BIN = join(import.meta.dirname, '../../bin/dlhub-hub.js');
const dir = tempDir('dlhub-hub-cli-');
let pg: TestPostgres | undefined;

function hubCmd(args: string[], opts: { input?: string; db?: string } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, ...(opts.db ? ['--db', opts.db] : [])], { env: { ...process.env, DLHUB_HUB_HOME: dir.path }, input: opts.input ?? '', encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Start `dlhub-hub serve` without a registry; answers its URL and a stop that waits for the exit. */
async function serve(db?: string): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--no-registry', ...(db ? ['--db', db] : [])], { env: { ...process.env, DLHUB_HUB_HOME: dir.path }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const m = await waitFor('the hub to announce itself', () => /^dlhub-hub listening on (\S+) registry none$/m.exec(out) ?? undefined, { timeoutMs: 30_000 });
  return {
    url: m[1] as string,
    stop: async () => {
      child.kill('SIGTERM');
      return waitFor('the hub to exit', () => (child.exitCode !== null ? child.exitCode : undefined), { timeoutMs: 10_000 });
    },
  };
}

async function signIn(url: string, body: Record<string, string>): Promise<{ status: number; result?: { token: string; user: string } }> {
  const res = await fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, ...((await res.json()) as { result?: { token: string; user: string } }) };
}

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);

afterAll(() => {
  pg?.stop();
  dir.remove();
});

describe('dlhub-hub admin commands', () => {
  let client: { id: string; secret: string };

  it('adds users with a password given as an option or on standard input, and a client with printed credentials', () => {
    expect(hubCmd(['users', 'add', 'alice', '--password', 'alice-pw'])).toMatchObject({ code: 0, stdout: 'added user alice\n' });
    expect(hubCmd(['users', 'add', 'bob'], { input: 'bob-pw\n' })).toMatchObject({ code: 0 });
    const r = hubCmd(['users', 'add', 'robot', '--client']);
    expect(r.code).toBe(0);
    client = { id: /clientId (\S+)/.exec(r.stdout)?.[1] ?? '', secret: /clientSecret (\S+)/.exec(r.stdout)?.[1] ?? '' };
    expect(client.id).toMatch(/^dlhc_/);
  });

  it('refuses a taken user, a bad name and an empty password, saying why', () => {
    const taken = hubCmd(['users', 'add', 'alice', '--password', 'x']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('already exists');
    for (const name of ['../x', 'Alice', 'a b']) expect(hubCmd(['users', 'add', name, '--password', 'x']).stderr).toMatch(/not a hub name/);
    expect(hubCmd(['users', 'add', 'empty'], { input: '\n' }).stderr).toContain('The password is empty');
  });

  it('manages groups: add with an owner, join, leave; unknown users and groups are named', () => {
    expect(hubCmd(['groups', 'add', 'lab', '--owner', 'alice']).code).toBe(0);
    expect(hubCmd(['groups', 'join', 'lab', 'bob']).stdout).toBe('bob joined lab\n');
    expect(hubCmd(['groups', 'leave', 'lab', 'bob']).stdout).toBe('bob left lab\n');
    expect(hubCmd(['groups', 'leave', 'lab', 'bob']).stderr).toContain('bob is not in lab');
    expect(hubCmd(['groups', 'join', 'lab', 'nobody']).stderr).toContain('No user "nobody"');
    expect(hubCmd(['groups', 'join', 'nope', 'bob']).stderr).toContain('No group "nope"');
    expect(hubCmd(['groups', 'add', 'lab2', '--owner', 'ghost']).code).not.toBe(0);
    hubCmd(['groups', 'join', 'lab', 'bob']);
  });

  it('serves what the commands made: passwords and client credentials sign in, groups show in whoami; SIGTERM stops it', async () => {
    const hub = await serve();
    try {
      const bob = await signIn(hub.url, { user: 'bob', password: 'bob-pw' });
      expect(bob.result?.user).toBe('bob');
      const who = await fetch(`${hub.url}/v1/whoami`, { headers: { authorization: `Bearer ${bob.result?.token}` } });
      expect(((await who.json()) as { result: unknown }).result).toEqual({ user: 'bob', groups: ['lab'] });
      expect((await signIn(hub.url, { clientId: client.id, clientSecret: client.secret })).result?.user).toBe('robot');
      expect((await signIn(hub.url, { user: 'alice', password: 'nope' })).status).toBe(401);
    } finally {
      expect(await hub.stop()).toBe(0);
    }
  });
});

describe('dlhub-hub on PostgreSQL', () => {
  it('keeps accounts, publishes and feeds changes through --db postgres://', async () => {
    const db = pg!.database('hub_cli');
    expect(hubCmd(['users', 'add', 'alice', '--password', 'alice-pw'], { db }).code).toBe(0);
    expect(hubCmd(['users', 'add', 'bob', '--password', 'bob-pw'], { db }).code).toBe(0);
    const hub = await serve(db);
    try {
      const alice = (await signIn(hub.url, { user: 'alice', password: 'alice-pw' })).result!.token;
      const bob = (await signIn(hub.url, { user: 'bob', password: 'bob-pw' })).result!.token;
      const post = async (token: string, path: string, body: unknown, method = 'POST'): Promise<{ status: number; result?: any }> => {
        const res = await fetch(`${hub.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: res.status, ...((await res.json()) as { result?: unknown }) };
      };
      const body = { metadata: { dlhub: { name: 'pgmodel' } }, image: { repository: 'alice/pgmodel', digest: `sha256:${'e'.repeat(64)}` }, visibility: 'public', idempotencyKey: 'k' };
      expect((await post(alice, '/v1/servables', body)).result).toEqual({ owner: 'alice', name: 'pgmodel', version: '1', created: true });
      expect((await post(alice, '/v1/servables', body)).result.created).toBe(false);
      const feed = await fetch(`${hub.url}/v1/changes?since=0`, { headers: { authorization: `Bearer ${bob}` } });
      const page = ((await feed.json()) as { result: { changes: Array<{ name: string; record?: unknown }>; more: boolean } }).result;
      expect(page.changes.map((c) => c.name)).toEqual(['pgmodel']);
      expect(page.more).toBe(false);
      expect((await post(alice, '/v1/servables/alice/pgmodel/visibility', { visibility: 'private' }, 'PUT')).status).toBe(200);
      const after = await fetch(`${hub.url}/v1/changes?since=${(page.changes[0] as unknown as { cursor: string }).cursor}`, { headers: { authorization: `Bearer ${bob}` } });
      expect(((await after.json()) as { result: { changes: unknown[] } }).result.changes).toEqual([{ cursor: expect.any(String), owner: 'alice', name: 'pgmodel', version: '1', deleted: true }]);
    } finally {
      await hub.stop();
    }
  });
});
