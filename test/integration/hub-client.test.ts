/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- answers are read as loose JSON; the assertions check their shapes */
// The desktop's hub verbs against the real hub: `dlhub-hub serve` (the built command, with its
// managed docker-registry and token auth) and the real dockerd. Two users on one machine, each with
// their own DLHUB_HOME, and a third who sees nothing: alice publishes privately and shares with her
// group; bob syncs, searches offline, pulls (verified by digest) and runs the servable with the hub
// stopped; carol can neither see nor pull it. Then alice publishes while the hub is down: the work
// waits in the outbox, lands once when the hub is back, and a drain killed with SIGKILL loses nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { requireDocker } from '../helpers/docker.js';
import { json, runCli } from '../helpers/cli.js';
import { hubWorld } from '../helpers/hub-world.js';
import { waitFor } from '../helpers/wait.js';

const CLI_BIN = join(import.meta.dirname, '../../bin/dlhub.js');
const NOOP = join(import.meta.dirname, '../../examples/noop');
const world = hubWorld('dlhub-hub-client-', ['alice', 'bob', 'carol']);
const { dir, homes, admin, url } = world;
type Who = keyof typeof homes;

/** Start the hub on its fixed port (a restart comes back at the same address, with the same data). */
const startHub = (): Promise<void> => world.start();
const stopHub = (): Promise<void> => world.stop();

function dlhub(who: Who, args: string[]) {
  return runCli([...args, '--json'], { DLHUB_HOME: homes[who] });
}

function ok(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return json(r);
}

/** The noop example as alice's servable, at a version. */
async function buildNoop(version: string): Promise<void> {
  const src = join(dir.path, `noop-${version}`);
  cpSync(NOOP, src, { recursive: true });
  const file = join(src, 'dlhub.json');
  const md = JSON.parse(readFileSync(file, 'utf8'));
  md.dlhub.version = version;
  writeFileSync(file, JSON.stringify(md, null, 2));
  ok(await dlhub('alice', ['build', src]));
}

/** The versions of alice/noop the hub holds, as alice sees them (her own change feed). */
async function hubVersions(): Promise<string[]> {
  const login = await fetch(`${url()}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'alice-pw' }) });
  const token = ((await login.json()) as any).result.token as string;
  const res = await fetch(`${url()}/v1/changes?since=0&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  const changes = ((await res.json()) as any).result.changes as { name: string; version: string; deleted?: boolean }[];
  // The feed lists a version again when its name's visibility changes: the set of versions is what the hub holds.
  return [...new Set(changes.filter((c) => c.name === 'noop' && !c.deleted).map((c) => c.version))].sort();
}

function outboxRows(who: Who): { id: number; status: string }[] {
  const db = new Database(join(homes[who], 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, status FROM hub_outbox ORDER BY id').all() as { id: number; status: string }[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  await requireDocker();
  await world.setUp();
  await startHub();
  await buildNoop('1.0.0');
}, 300_000);

afterAll(async () => {
  await stopHub();
  for (const who of ['bob', 'carol'] as const) await runCli(['rm', 'noop'], { DLHUB_HOME: homes[who] }).catch(() => undefined);
  await runCli(['rm', 'noop'], { DLHUB_HOME: homes.alice }).catch(() => undefined);
  dir.remove();
}, 120_000);

describe('hub client against the real hub, registry and dockerd', () => {
  it('signs in: the token lands in a 0600 file, is never printed, and whoami names the user and groups', async () => {
    for (const who of ['alice', 'bob', 'carol'] as const) {
      const r = await dlhub(who, ['login', '--hub', url(), '--user', who, '--password', `${who}-pw`]);
      const identity = ok(r);
      expect(identity).toMatchObject({ hub: url(), user: who, source: 'file' });
      const file = join(homes[who], 'credentials', 'hub.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = JSON.parse(readFileSync(file, 'utf8')).token as string;
      expect(token).toMatch(/^dlh_/);
      expect(r.stdout + r.stderr).not.toContain(token);
    }
    expect(ok(await dlhub('bob', ['whoami']))).toMatchObject({ user: 'bob', groups: ['lab'] });
  });

  it('works headless: client credentials or an existing token from the environment, with no credentials file', async () => {
    const made = admin('users', 'add', 'ci', '--client');
    const clientId = /clientId (\S+)/.exec(made)?.[1] ?? '';
    const clientSecret = /clientSecret (\S+)/.exec(made)?.[1] ?? '';
    const home = join(dir.path, 'ci');
    const asClient = await runCli(['whoami', '--json'], { DLHUB_HOME: home, DLHUB_HUB_URL: url(), DLHUB_CLIENT_ID: clientId, DLHUB_CLIENT_SECRET: clientSecret });
    expect(ok(asClient)).toMatchObject({ user: 'ci', source: 'env-client', hub: url() });
    expect(asClient.stdout + asClient.stderr).not.toContain(clientSecret);
    const token = JSON.parse(readFileSync(join(homes.bob, 'credentials', 'hub.json'), 'utf8')).token as string;
    expect(ok(await runCli(['whoami', '--json'], { DLHUB_HOME: home, DLHUB_HUB_URL: url(), DLHUB_TOKEN: token }))).toMatchObject({ user: 'bob', source: 'env-token' });
    expect(existsSync(join(home, 'credentials', 'hub.json'))).toBe(false);
  });

  it('publishes privately (again: a no-op), shares with a group; the member syncs, searches offline and pulls by digest; a stranger sees nothing', async () => {
    const published = ok(await dlhub('alice', ['publish', 'noop', '--visibility', 'private']));
    expect(published).toMatchObject({ status: 'published', owner: 'alice', name: 'noop', version: '1.0.0' });
    expect(published.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ok(await dlhub('alice', ['publish', 'noop', '--visibility', 'private']))).toMatchObject({ status: 'unchanged', version: '1.0.0', digest: published.digest });

    // Private: bob sees nothing yet.
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 0 });
    expect(ok(await dlhub('alice', ['share', 'noop', '--group', 'lab']))).toMatchObject({ status: 'shared', owner: 'alice' });

    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 1, removed: 0 });
    const found = ok(await dlhub('bob', ['search', 'noop']));
    expect(found.hits.map((h: any) => h.servable)).toEqual(['alice/noop']);

    const pulled = ok(await dlhub('bob', ['pull', 'alice/noop']));
    expect(pulled).toMatchObject({ owner: 'alice', name: 'noop', version: '1.0.0', digest: published.digest, unchanged: false });
    expect(ok(await dlhub('bob', ['ls'])).map((s: any) => s.name)).toEqual(['noop']);

    // carol is in no group: the sync brings nothing and the pull is refused as if it did not exist.
    expect(ok(await dlhub('carol', ['sync']))).toMatchObject({ upserted: 0 });
    const refused = await dlhub('carol', ['pull', 'alice/noop']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('NOT_FOUND');
    expect(ok(await dlhub('carol', ['ls']))).toEqual([]);
  }, 600_000);

  it('runs the pulled servable with the hub stopped', async () => {
    await stopHub();
    const status = ok(await dlhub('bob', ['hub']));
    expect(status).toMatchObject({ hub: url(), user: 'bob', online: false });
    expect(status.lastSync).toMatch(/^\d{4}-/);
    const run = ok(await dlhub('bob', ['run', 'noop', '--input', '{"x": 1}']));
    expect(run.output).toBe('hello world');
    // The catalog answers offline too.
    expect(ok(await dlhub('bob', ['search', 'noop'])).total).toBe(1);
  }, 180_000);

  it('queues a publish and a share while the hub is down and sends each once when it is back', async () => {
    await buildNoop('1.1.0');
    const queued = ok(await dlhub('alice', ['publish', 'noop', '--visibility', 'group:lab']));
    expect(queued).toMatchObject({ status: 'queued', name: 'noop' });
    expect(queued.reason).toContain('cannot be reached');
    expect(ok(await dlhub('alice', ['share', 'noop', '--group', 'lab']))).toMatchObject({ status: 'queued' });
    const waiting = ok(await dlhub('alice', ['outbox']));
    expect(waiting.items.map((i: any) => [i.kind, i.status])).toEqual([['share', 'queued'], ['publish', 'queued']]);

    await startHub();
    const drained = ok(await dlhub('alice', ['outbox', '--drain']));
    expect(drained).toMatchObject({ sent: 2, failed: 0 });
    expect(drained.items.map((i: any) => i.status)).toEqual(['done', 'done']);
    expect(ok(await dlhub('alice', ['outbox', '--drain']))).toMatchObject({ sent: 0 });
    expect(await hubVersions()).toEqual(['1.0.0', '1.1.0']);

    // bob's sync brings the new version; the feed moves on from the stored cursor.
    const synced = ok(await dlhub('bob', ['sync']));
    expect(synced.upserted).toBeGreaterThan(0);
    expect(ok(await dlhub('bob', ['search', 'noop', '--all-versions'])).hits.map((h: any) => h.version).sort()).toEqual(['1.0.0', '1.1.0']);
  }, 600_000);

  it('a drain killed with SIGKILL mid-send loses nothing and publishes once', async () => {
    await stopHub();
    await buildNoop('1.2.0');
    expect(ok(await dlhub('alice', ['publish', 'noop']))).toMatchObject({ status: 'queued' });
    await startHub();
    const child = spawn(process.execPath, [CLI_BIN, 'outbox', '--drain', '--json'], { env: { ...process.env, DLHUB_HOME: homes.alice, DLHUB_NO_SERVICE: '1' }, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const last = (): string | undefined => outboxRows('alice').at(-1)?.status;
    await waitFor('the drain to take the entry', () => last() === 'running' || last() === 'done', { everyMs: 5, timeoutMs: 60_000 });
    child.kill('SIGKILL');
    await exited;
    const drained = ok(await dlhub('alice', ['outbox', '--drain']));
    expect(drained.items[0]).toMatchObject({ kind: 'publish', status: 'done' });
    expect(outboxRows('alice').map((r) => r.status)).toEqual(['done', 'done', 'done']);
    expect(await hubVersions()).toEqual(['1.0.0', '1.1.0', '1.2.0']);
  }, 300_000);

  it('refuses an image that is not under the digest the hub recorded, and keeps nothing of it', async () => {
    ok(await dlhub('bob', ['rm', 'noop']));
    // The hub's record now names content its registry does not hold under that digest.
    const db = new Database(join(dir.path, 'hub', 'hub.db'));
    db.prepare("UPDATE hub_versions SET digest = ? WHERE owner = 'alice' AND name = 'noop' AND version = '1.0.0'").run(`sha256:${'1'.repeat(64)}`);
    db.close();
    const refused = await dlhub('bob', ['pull', 'alice/noop@1.0.0']);
    expect(refused.code).not.toBe(0);
    expect(ok(await dlhub('bob', ['ls']))).toEqual([]);
    expect(existsSync(join(homes.bob, 'servables', 'noop'))).toBe(false);
  }, 120_000);

  it('signs out: the token is revoked on the hub and the file is gone', async () => {
    const file = join(homes.carol, 'credentials', 'hub.json');
    const token = JSON.parse(readFileSync(file, 'utf8')).token as string;
    expect(ok(await dlhub('carol', ['logout']))).toMatchObject({ revoked: true, removed: true });
    expect(() => statSync(file)).toThrow();
    const res = await fetch(`${url()}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    const after = await dlhub('carol', ['whoami']);
    expect(after.code).not.toBe(0);
    expect(after.stdout).toContain('UNAUTHORIZED');
  });
});
