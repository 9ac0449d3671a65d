/* eslint-disable @typescript-eslint/no-explicit-any -- answers are read as loose JSON; the assertions check their shapes */
// The registry behind the hub's auth, for real: `dlhub-hub serve` (the built command) starts
// Debian's docker-registry with token auth, dockerd pushes and pulls through it with the hub's
// accounts, and a private image cannot be pulled by another user or anonymously while a member of
// a group it is shared with can. The hub is stopped by its PID and takes the registry with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { requireDocker } from '../helpers/docker.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';
import { isProcessAlive as alive } from '../../main/storage/process-alive.js';

const BIN = join(import.meta.dirname, '../../bin/dlhub-hub.js');
const dir = tempDir('dlhub-hub-registry-');
const env = { ...process.env, DLHUB_HUB_HOME: join(dir.path, 'hub') };

function admin(...args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}


let docker: Docker;
let hub: ChildProcess;
let url: string;
let registry: string;
let tag: string;
let digest: string;

/** Push or pull through dockerd; an error in the progress stream (a refusal) rejects. */
async function transfer(stream: NodeJS.ReadableStream): Promise<Array<{ aux?: { Digest?: string } }>> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string; aux?: { Digest?: string } }>) => {
      const failed = events.find((e) => e.error);
      if (err) reject(err);
      else if (failed) reject(new Error(failed.error));
      else resolve(events);
    });
  });
}

const auth = (user: string): { username: string; password: string; serveraddress: string } => ({ username: user, password: `${user}-pw`, serveraddress: registry });

async function pull(ref: string, user?: string): Promise<void> {
  // Nothing of it may be here before (dockerd would answer from its own store without asking).
  for (const r of [ref, tag]) await docker.getImage(r).remove({ force: true }).catch(() => undefined);
  await expect(docker.getImage(ref).inspect()).rejects.toThrow();
  const stream = await docker.pull(ref, user ? { authconfig: auth(user) } : {});
  await transfer(stream);
}

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; result: any }> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = (await res.json()) as { result?: unknown };
  return { status: res.status, result: json.result };
}

async function login(user: string): Promise<string> {
  const res = await fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password: `${user}-pw` }) });
  return ((await res.json()) as { result: { token: string } }).result.token;
}

beforeAll(async () => {
  docker = await requireDocker();
  for (const u of ['alice', 'bob', 'carol']) admin('users', 'add', u, '--password', `${u}-pw`);
  admin('groups', 'add', 'lab', '--owner', 'alice');
  admin('groups', 'join', 'lab', 'bob');
  hub = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  hub.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  hub.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const line = await waitFor(`dlhub-hub serve to announce itself (stderr: ${err})`, () => /^dlhub-hub listening on (\S+) registry (\S+)$/m.exec(out) ?? undefined, { timeoutMs: 60_000 });
  url = line[1] as string;
  registry = line[2] as string;
  expect(registry).toMatch(/^127\.0\.0\.1:\d+$/);

  // A one-file image made here (nothing can be pulled from the internet).
  const files = join(dir.path, 'image');
  mkdirSync(files);
  writeFileSync(join(files, 'model.txt'), 'weights');
  execFileSync('tar', ['-C', files, '-cf', join(dir.path, 'image.tar'), 'model.txt']);
  tag = `${registry}/alice/tiny:1`;
  execFileSync('docker', ['import', join(dir.path, 'image.tar'), tag], { stdio: 'ignore' });
}, 120_000);

afterAll(async () => {
  const registryPid = Number(execFileSync('pgrep', ['-f', `docker-registry serve ${join(env.DLHUB_HUB_HOME, 'registry')}`], { encoding: 'utf8' }).trim().split('\n')[0] ?? 0).valueOf();
  if (hub?.pid) {
    process.kill(hub.pid, 'SIGTERM');
    await waitFor('the hub to exit', () => hub.exitCode !== null || hub.signalCode !== null, { timeoutMs: 20_000 });
  }
  if (registryPid) expect(alive(registryPid)).toBe(false);
  for (const ref of [tag, digest ? `${registry}/alice/tiny@${digest}` : undefined]) if (ref) await docker?.getImage(ref).remove({ force: true }).catch(() => undefined);
  dir.remove();
}, 60_000);

describe('the registry behind the hub', () => {
  it('names its registry through the API', async () => {
    expect((await api('GET', '/v1/registry', await login('bob'))).result).toEqual({ address: registry });
  });

  it('lets the owner push into their own name, and nobody else', async () => {
    await expect(transfer(await docker.getImage(tag).push({ authconfig: auth('bob') }))).rejects.toThrow(/denied|unauthorized|authentication required/i);
    const events = await transfer(await docker.getImage(tag).push({ authconfig: auth('alice') }));
    digest = events.find((e) => e.aux?.Digest)?.aux?.Digest ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(transfer(await docker.getImage(tag).push({ authconfig: { ...auth('alice'), password: 'wrong' } }))).rejects.toThrow();
  });

  it('keeps a private image private: another user and anonymous cannot pull it, the owner can', async () => {
    const alice = await login('alice');
    const published = await api('POST', '/v1/servables', alice, { metadata: { dlhub: { name: 'tiny' } }, image: { repository: 'alice/tiny', digest }, visibility: 'private' });
    expect(published.result).toMatchObject({ owner: 'alice', name: 'tiny', created: true });
    const ref = `${registry}/alice/tiny@${digest}`;
    await expect(pull(ref)).rejects.toThrow(/denied|unauthorized|authentication required/i);
    await expect(pull(ref, 'bob')).rejects.toThrow(/denied|unauthorized|authentication required/i);
    await pull(ref, 'alice');
    expect((await docker.getImage(ref).inspect()).Id).toBeTruthy();
  });

  it('grants only what the caller may in the token itself', async () => {
    const basic = `Basic ${Buffer.from('bob:bob-pw').toString('base64')}`;
    const res = await fetch(`${url}/v1/registry/token?service=dlhub-registry&scope=repository:alice/tiny:pull,push&scope=repository:bob/own:pull,push`, { headers: { authorization: basic } });
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBeGreaterThan(0);
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1] as string, 'base64url').toString()) as { sub: string; access: unknown };
    expect(claims.sub).toBe('bob');
    expect(claims.access).toEqual([{ type: 'repository', name: 'alice/tiny', actions: [] }, { type: 'repository', name: 'bob/own', actions: ['pull', 'push'] }]);
    const wrong = await fetch(`${url}/v1/registry/token?service=dlhub-registry&scope=repository:alice/tiny:pull`, { headers: { authorization: `Basic ${Buffer.from('bob:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
  });

  it('lets a member of a group it is shared with pull it, and still nobody else', async () => {
    const alice = await login('alice');
    expect((await api('POST', '/v1/servables/alice/tiny/share', alice, { group: 'lab' })).status).toBe(200);
    const ref = `${registry}/alice/tiny@${digest}`;
    await pull(ref, 'bob');
    expect((await docker.getImage(ref).inspect()).RepoDigests).toContain(ref);
    await expect(pull(ref, 'carol')).rejects.toThrow(/denied|unauthorized|authentication required/i);
    await expect(pull(ref)).rejects.toThrow(/denied|unauthorized|authentication required/i);
    const res = await fetch(`${url}/v1/registry/token?service=dlhub-registry&scope=repository:alice/tiny:pull`, { headers: { authorization: `Basic ${Buffer.from('carol:carol-pw').toString('base64')}` } });
    const claims = JSON.parse(Buffer.from(((await res.json()) as { token: string }).token.split('.')[1] as string, 'base64url').toString()) as { access: unknown };
    expect(claims.access).toEqual([{ type: 'repository', name: 'alice/tiny', actions: [] }]);
  });

  it('lets anyone pull once the name is public', async () => {
    const alice = await login('alice');
    expect((await api('PUT', '/v1/servables/alice/tiny/visibility', alice, { visibility: 'public' })).status).toBe(200);
    await pull(`${registry}/alice/tiny@${digest}`);
    await pull(`${registry}/alice/tiny@${digest}`, 'carol');
  });
});
