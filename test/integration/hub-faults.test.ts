/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- answers are read as loose JSON; the assertions check their shapes */
// Faults between the desktop, the hub and its registry, made for real: the built `dlhub-hub serve`
// in front of Debian's docker-registry (token auth), the real dockerd, and a TCP proxy on each path
// that can go down, cut a response part-way, flip a byte, or hold an answer while the hub is killed.
// Publishing: with the registry down the work waits in the outbox and the retry lands it; with the
// hub killed (SIGKILL) after it recorded the publish but before its answer arrived, or in the middle
// of the image push, the retry lands it once. Pulling: a transfer cut part-way fails with a typed
// error and leaves nothing half-made (no servable folder, nothing under pulling/, no image or tag),
// and the next pull finishes; a layer cut once is resumed by the engine; an image changed in transit
// is refused and nothing of it kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { requireDocker } from '../helpers/docker.js';
import { json, runCli } from '../helpers/cli.js';
import { hubWorld } from '../helpers/hub-world.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type ManagedRegistry } from '../../hub/registry.js';
import { ensureSigningKey } from '../../hub/registry-token.js';

const CLI_BIN = join(import.meta.dirname, '../../bin/dlhub.js');
const NOOP = join(import.meta.dirname, '../../examples/noop');
/** A name no other suite uses: its images are this suite's to remove. */
const NAME = 'fault-probe';
let registryProxy: FaultProxy;
let hubProxy: FaultProxy;
let registry: ManagedRegistry | undefined;
// The hub names the registry proxy as its registry.
const world = hubWorld('dlhub-hub-faults-', ['alice', 'bob'], { env: { DLHUB_HUB_RATE_LIMIT: '0' }, serveArgs: () => ['--registry', registryProxy.address] });
const { dir, hubHome, homes } = world;
type Who = keyof typeof homes;

const startHub = (): Promise<void> => world.start();
/** Kill the hub as a crash would (SIGKILL), and wait until it is gone. */
const killHub = (): Promise<void> => world.stop('SIGKILL');

function dlhub(who: Who, args: string[]) {
  return runCli([...args, '--json'], { DLHUB_HOME: homes[who] });
}

function ok(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return json(r);
}

/** The probe servable at `version`: the noop example plus a file of random bytes, so its layers are its own. */
async function build(version: string): Promise<void> {
  const src = join(dir.path, `src-${version}`);
  cpSync(NOOP, src, { recursive: true });
  writeFileSync(join(src, 'weights.bin'), randomBytes(256 * 1024));
  const file = join(src, 'dlhub.json');
  const md = JSON.parse(readFileSync(file, 'utf8'));
  md.dlhub.name = NAME;
  md.dlhub.version = version;
  md.dlhub.files.other.push('weights.bin');
  writeFileSync(file, JSON.stringify(md, null, 2));
  ok(await dlhub('alice', ['build', src]));
}

/** The hub's versions of alice's probe, and how many publish changes each has (one each: nothing published twice). */
function hubVersions(): { versions: string[]; publishes: Record<string, number> } {
  const db = new Database(join(hubHome, 'hub.db'), { readonly: true });
  try {
    const versions = (db.prepare('SELECT version FROM hub_versions WHERE owner = ? AND name = ? AND deleted = 0 ORDER BY seq').all('alice', NAME) as { version: string }[]).map((r) => r.version);
    const rows = db.prepare("SELECT version, count(*) AS n FROM hub_changes WHERE owner = ? AND name = ? AND kind = 'publish' GROUP BY version").all('alice', NAME) as { version: string; n: number }[];
    return { versions, publishes: Object.fromEntries(rows.map((r) => [r.version, r.n])) };
  } finally {
    db.close();
  }
}

/** Every image reference in the engine that names the probe (tags, and registry names with digests). */
function probeImages(): string[] {
  const out = execFileSync('docker', ['images', '--digests', '--format', '{{.Repository}}:{{.Tag}}@{{.Digest}}'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(NAME));
}

function imageExists(id: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', id], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Remove the probe's images from the engine, so the next pull has to transfer them. */
function removeProbeImages(): void {
  for (const ref of probeImages()) {
    const [nameTag, digest] = ref.split('@');
    const target = nameTag?.endsWith(':<none>') ? `${nameTag.slice(0, -':<none>'.length)}@${digest ?? ''}` : (nameTag as string);
    execFileSync('docker', ['rmi', '-f', target], { stdio: 'ignore' });
  }
}

/** What a failed pull must not leave in bob's home: a servable, a folder under pulling/, or a local record. */
async function expectNothingOfThePull(): Promise<void> {
  expect(existsSync(join(homes.bob, 'servables', NAME))).toBe(false);
  const pulling = join(homes.bob, 'pulling');
  expect(existsSync(pulling) ? readdirSync(pulling) : []).toEqual([]);
  expect(ok(await dlhub('bob', ['ls']))).toEqual([]);
  const hits = ok(await dlhub('bob', ['search', NAME, '--all-versions'])).hits as any[];
  expect(hits.length).toBeGreaterThan(0);
  expect(hits.filter((h) => h.local)).toEqual([]);
  expect(probeImages()).toEqual([]);
}

const blob = (r: { method: string; path: string }): boolean => r.method === 'GET' && r.path.startsWith(`/v2/alice/${NAME}/blobs/sha256:`);

beforeAll(async () => {
  await requireDocker();
  removeProbeImages();
  await world.setUp();
  const hubPort = world.port;
  // The registry trusts the hub's signing key, as the managed one does; the hub names the proxy as its registry.
  registry = await startRegistry(join(dir.path, 'registry'), `http://127.0.0.1:${hubPort}`, ensureSigningKey(hubHome).cert);
  registryProxy = await startFaultProxy(() => registry!.address);
  hubProxy = await startFaultProxy(() => `127.0.0.1:${hubPort}`);
  await startHub();
  for (const who of ['alice', 'bob'] as const) ok(await dlhub(who, ['login', '--hub', `http://${hubProxy.address}`, '--user', who, '--password', `${who}-pw`]));
  await build('1.0.0');
}, 600_000);

afterAll(async () => {
  await killHub();
  await hubProxy?.close();
  await registryProxy?.close();
  await registry?.stop();
  for (const who of ['alice', 'bob'] as const) await runCli(['rm', NAME], { DLHUB_HOME: homes[who] }).catch(() => undefined);
  removeProbeImages();
  dir.remove();
}, 120_000);

describe('publishing through faults', () => {
  it('keeps the publish in the outbox while the registry is down, and the retry lands it', async () => {
    await registryProxy.pause();
    const queued = ok(await dlhub('alice', ['publish', NAME, '--visibility', 'group:lab']));
    expect(queued).toMatchObject({ status: 'queued', name: NAME });
    expect(queued.reason).toMatch(/registry/);
    expect(ok(await dlhub('alice', ['outbox'])).items.map((i: any) => [i.kind, i.status])).toEqual([['publish', 'queued']]);
    // Still down: the drain tries, keeps it, and says why.
    const tried = ok(await dlhub('alice', ['outbox', '--drain']));
    expect(tried).toMatchObject({ sent: 0, failed: 0 });
    expect(tried.items[0]).toMatchObject({ status: 'queued', attempts: 2 });
    expect(hubVersions().versions).toEqual([]);

    await registryProxy.resume();
    const drained = ok(await dlhub('alice', ['outbox', '--drain']));
    expect(drained).toMatchObject({ sent: 1, failed: 0 });
    expect(drained.items[0]).toMatchObject({ status: 'done', result: { status: 'published', version: '1.0.0' } });
    expect(hubVersions()).toEqual({ versions: ['1.0.0'], publishes: { '1.0.0': 1 } });
  }, 600_000);

  it('lands a publish once when the hub is killed after recording it but before its answer arrived', async () => {
    await build('1.1.0');
    hubProxy.rule = { match: (r) => r.method === 'POST' && r.path === '/v1/servables', action: 'drop', times: 1, onResponse: () => killHub() };
    const queued = ok(await dlhub('alice', ['publish', NAME]));
    hubProxy.rule = undefined;
    expect(hubProxy.hits.map((r) => r.path)).toEqual(['/v1/servables']);
    expect(queued).toMatchObject({ status: 'queued', name: NAME });
    // The hub had recorded it: the outbox's retry is answered with that version, not a second one.
    expect(hubVersions()).toEqual({ versions: ['1.0.0', '1.1.0'], publishes: { '1.0.0': 1, '1.1.0': 1 } });

    await startHub();
    const drained = ok(await dlhub('alice', ['outbox', '--drain']));
    expect(drained).toMatchObject({ sent: 1, failed: 0 });
    expect(drained.items[0]).toMatchObject({ status: 'done', result: { version: '1.1.0' } });
    expect(ok(await dlhub('alice', ['outbox', '--drain']))).toMatchObject({ sent: 0 });
    expect(hubVersions()).toEqual({ versions: ['1.0.0', '1.1.0'], publishes: { '1.0.0': 1, '1.1.0': 1 } });
  }, 600_000);

  it('lands a publish once when the hub is killed in the middle of the image push', async () => {
    await build('1.2.0');
    let killed: Promise<void> | undefined;
    registryProxy.onRequest = (r) => {
      if (r.path.startsWith(`/v2/alice/${NAME}/blobs/uploads/`)) killed ??= killHub();
    };
    const queued = ok(await dlhub('alice', ['publish', NAME]));
    registryProxy.onRequest = undefined;
    expect(killed).toBeDefined();
    await killed;
    expect(queued).toMatchObject({ status: 'queued', name: NAME });
    expect(queued.reason).toMatch(/cannot be reached/);
    expect(hubVersions().versions).toEqual(['1.0.0', '1.1.0']);

    await startHub();
    const drained = ok(await dlhub('alice', ['outbox', '--drain']));
    expect(drained).toMatchObject({ sent: 1, failed: 0 });
    expect(drained.items[0]).toMatchObject({ status: 'done', result: { status: 'published', version: '1.2.0' } });
    expect(hubVersions()).toEqual({ versions: ['1.0.0', '1.1.0', '1.2.0'], publishes: { '1.0.0': 1, '1.1.0': 1, '1.2.0': 1 } });
    expect(ok(await dlhub('alice', ['outbox'])).items.map((i: any) => i.status)).toEqual(['done', 'done', 'done']);
  }, 600_000);
});

describe('pulling through faults', () => {
  let imageId = '';

  beforeAll(async () => {
    imageId = ok(await dlhub('alice', ['describe', NAME])).image.imageId as string;
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The engine is shared: with alice's copy gone, bob's pull has to fetch the probe's own layers and config.
    ok(await dlhub('alice', ['rm', NAME]));
    removeProbeImages();
    expect(imageExists(imageId)).toBe(false);
    expect(ok(await dlhub('bob', ['sync']))).toMatchObject({ upserted: 3 });
  }, 300_000);

  it('fails with a typed error when the transfer is cut part-way, leaves nothing half-made, and the next pull finishes', async () => {
    registryProxy.hits.length = 0;
    registryProxy.rule = { match: blob, action: 'cut', bodyBytes: 100 };
    const cut = await dlhub('bob', ['pull', `alice/${NAME}`]);
    registryProxy.rule = undefined;
    expect(cut.code).not.toBe(0);
    expect(registryProxy.hits.length).toBeGreaterThan(0);
    const error = json<any>(cut).error;
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).toMatch(/pull/);
    expect(error.hint).toMatch(/dlhub pull/);
    await expectNothingOfThePull();
    expect(imageExists(imageId)).toBe(false);

    const pulled = ok(await dlhub('bob', ['pull', `alice/${NAME}`]));
    expect(pulled).toMatchObject({ owner: 'alice', name: NAME, version: '1.2.0', imageId, unchanged: false });
    expect(ok(await dlhub('bob', ['ls'])).map((s: any) => s.name)).toEqual([NAME]);
    expect(ok(await dlhub('bob', ['run', NAME, '--input', '{"x": 1}'])).output).toBe('hello world');
  }, 600_000);

  it('finishes a pull whose layer transfer was cut once: the engine takes it up again', async () => {
    ok(await dlhub('bob', ['rm', NAME]));
    removeProbeImages();
    expect(imageExists(imageId)).toBe(false);
    registryProxy.hits.length = 0;
    // Each layer's first transfer is cut (the config, fetched whole and not retried, is left alone).
    const cutOnce = new Set<string>();
    registryProxy.rule = { match: (r) => blob(r) && !r.path.endsWith(imageId) && !cutOnce.has(r.path) && cutOnce.add(r.path) !== undefined, action: 'cut', bodyBytes: 100 };
    const pulled = ok(await dlhub('bob', ['pull', `alice/${NAME}`]));
    registryProxy.rule = undefined;
    expect(registryProxy.hits.length).toBeGreaterThan(0);
    for (const hit of registryProxy.hits) expect(registryProxy.seen.filter((r) => r.path === hit.path).length).toBeGreaterThan(1);
    expect(pulled).toMatchObject({ version: '1.2.0', imageId, unchanged: false });
    expect(ok(await dlhub('bob', ['run', NAME, '--input', '{"x": 1}'])).output).toBe('hello world');
  }, 600_000);

  it('refuses an image changed in transit, and keeps nothing of it', async () => {
    ok(await dlhub('bob', ['rm', NAME]));
    removeProbeImages();
    expect(imageExists(imageId)).toBe(false);
    registryProxy.hits.length = 0;
    registryProxy.rule = { match: blob, action: 'tamper', bodyBytes: 10 };
    const tampered = await dlhub('bob', ['pull', `alice/${NAME}`]);
    registryProxy.rule = undefined;
    expect(tampered.code).not.toBe(0);
    expect(registryProxy.hits.length).toBeGreaterThan(0);
    const error = json<any>(tampered).error;
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toMatch(/digest/);
    await expectNothingOfThePull();
    expect(imageExists(imageId)).toBe(false);
  }, 600_000);

  it('leaves nothing when the pull itself is killed mid-transfer, and the next pull finishes', async () => {
    expect(imageExists(imageId)).toBe(false);
    registryProxy.hits.length = 0;
    const pull: { child?: ChildProcess; exited?: Promise<void> } = {};
    // The image's config is on its way when `dlhub pull` dies (kill -9); the engine is left to notice.
    registryProxy.rule = {
      match: (r) => blob(r) && r.path.endsWith(imageId), action: 'pass', times: 1,
      onResponse: async () => {
        pull.child?.kill('SIGKILL');
        await pull.exited;
      },
    };
    const child = spawn(process.execPath, [CLI_BIN, 'pull', `alice/${NAME}`, '--json'], { env: { ...process.env, DLHUB_HOME: homes.bob, DLHUB_NO_SERVICE: '1' }, stdio: 'ignore' });
    pull.child = child;
    pull.exited = new Promise<void>((r) => child.once('exit', () => r()));
    await pull.exited;
    registryProxy.rule = undefined;
    expect(registryProxy.hits).toHaveLength(1);
    // Whatever the engine was still doing for the dead pull has had time to end or finish.
    await new Promise((r) => setTimeout(r, 5000));
    await expectNothingOfThePull();

    const pulled = ok(await dlhub('bob', ['pull', `alice/${NAME}`]));
    expect(pulled).toMatchObject({ version: '1.2.0', imageId, unchanged: false });
    expect(probeImages().every((ref) => ref.startsWith(`dlhub/${NAME}:`))).toBe(true);
    expect(ok(await dlhub('bob', ['run', NAME, '--input', '{"x": 1}'])).output).toBe('hello world');
  }, 600_000);
});
