// `dlhub serve`: the local service keeps workers warm between CLI commands, on a socket only this
// user can open; one service per home; a stop lets calls in flight finish and leaves no container;
// Ctrl-C on `dlhub run` leaves no container and no run/ folder; the HTTP API listens on loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { homeWorkerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';

const BIN = resolve('bin/dlhub.js');

interface Serve {
  child: ChildProcess;
  log: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

async function startServe(env: Record<string, string>, args: string[] = []): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!/listening/.test(log) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (args.includes('--http')) while (!/HTTP API on/.test(log) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return {
    child,
    log: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return closed;
    },
  };
}

function runDirFolders(home: string): string[] {
  const run = join(home, 'run');
  return existsSync(run) ? readdirSync(run, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) : [];
}

describe('dlhub serve', () => {
  const work = tempDir('dlhub-serve-');
  const home = join(work.dir, 'home');
  let env: Record<string, string>;
  const viaService = (): Record<string, string> => ({ ...env, DLHUB_NO_SERVICE: '0' });

  beforeAll(async () => {
    await requireDocker();
    env = { DLHUB_HOME: home, DLHUB_BASE_IMAGE: testBaseImage() };
    const dir = join(work.dir, 'sleepy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'app.py'), 'import time\n\ndef slow(x):\n    time.sleep(x)\n    return x\n');
    writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
      datacite: { titles: [{ title: 'Sleepy' }], creators: [{ creatorName: 'Test' }] },
      dlhub: { name: 'sleepy', files: { other: ['app.py'] } },
      servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: false, methods: { run: { input: { type: 'number' }, output: { type: 'number' }, method_details: { module: 'app', method_name: 'slow', autobatch: false } } } },
    }));
    for (const target of [resolve('examples/noop'), dir]) {
      const build = await runCli(['build', target, '--json'], env);
      expect(build.code, build.stderr).toBe(0);
    }
  });
  afterAll(() => work.cleanup());

  it('serves CLI commands with a warm worker and stops cleanly', async () => {
    const server = await startServe(env);
    expect(server.log()).toContain('listening');
    expect(statSync(join(home, 'run', 'service.sock')).mode & 0o777).toBe(0o600);
    try {
      const first = json<{ output: string; runtime: string }>(await runCli(['run', 'noop', '--no-cache', '--json'], viaService()));
      expect(first).toMatchObject({ output: 'hello world', runtime: 'docker' });
      // The worker outlives the command: it belongs to the service.
      expect(homeWorkerContainers(home)).toHaveLength(1);
      const second = json<{ output: string }>(await runCli(['run', 'noop', '--no-cache', '--json'], viaService()));
      expect(second.output).toBe('hello world');
      expect(homeWorkerContainers(home)).toHaveLength(1);
      const status = json<{ service: boolean; workers: unknown[] }>(await runCli(['status', '--json'], viaService()));
      expect(status.service).toBe(true);
      expect(status.workers.length).toBeGreaterThanOrEqual(1);
      // Errors cross the service with their code and hint intact.
      const missing = await runCli(['run', 'nope', '--input', '1'], viaService());
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No servable named "nope"');
      expect(missing.stderr).toContain('noop');
    } finally {
      await server.stop();
    }
    expect(homeWorkerContainers(home)).toEqual([]);
  });

  it('refuses a second service on the same home, and replaces the socket of a dead one', async () => {
    const first = await startServe(env);
    try {
      const second = await runCli(['serve'], env);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain('already running');
      // The first still serves.
      expect(json<{ name: string }[]>(await runCli(['ls', '--json'], viaService())).map((s) => s.name).sort()).toEqual(['noop', 'sleepy']);
    } finally {
      await first.stop('SIGKILL');
    }
    expect(existsSync(join(home, 'run', 'service.sock'))).toBe(true);
    const again = await startServe(env);
    try {
      expect(again.log()).toContain('listening');
      expect(json<unknown[]>(await runCli(['ls', '--json'], viaService()))).toHaveLength(2);
    } finally {
      const code = await again.stop();
      expect(code, again.log()).toBe(0);
    }
  });

  it('on SIGTERM lets a call in flight finish, then stops its workers', async () => {
    const server = await startServe(env);
    const call = runCli(['run', 'sleepy', '--input', '3', '--json'], viaService());
    const deadline = Date.now() + 30_000;
    while (homeWorkerContainers(home).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    const code = server.stop('SIGTERM');
    const r = await call;
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ output: number }>(r).output).toBe(3);
    expect(await code).toBe(0);
    expect(server.log()).toContain('stopping');
    expect(homeWorkerContainers(home)).toEqual([]);
  });

  it('Ctrl-C on `dlhub run` leaves no container and no run/ folder behind', async () => {
    const child = spawn(process.execPath, [BIN, 'run', 'sleepy', '--input', '60', '--runtime', 'docker'], { env: { ...process.env, ...env, DLHUB_NO_SERVICE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    const deadline = Date.now() + 60_000;
    while (homeWorkerContainers(home).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(homeWorkerContainers(home)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(err).toContain('interrupted');
    expect(homeWorkerContainers(home)).toEqual([]);
    expect(runDirFolders(home)).toEqual([]);
  });

  it('serves the HTTP API on loopback with a per-start token file (mode 0600, never printed)', async () => {
    const refused = await runCli(['serve', '--http', '0.0.0.0:8765'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('loopback');
    const server = await startServe(env, ['--http', '127.0.0.1:0']);
    try {
      const tokenFile = join(home, 'run', 'api-token');
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(server.log()).not.toContain(token);
      const url = readFileSync(join(home, 'run', 'api-url'), 'utf8').trim();
      expect(server.log()).toContain(url);
      const ok = await fetch(`${url}/v1/servables/noop/run`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ noCache: true }) });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { result: { output: string } }).result.output).toBe('hello world');
      expect((await fetch(`${url}/v1/status`)).status).toBe(401);
    } finally {
      await server.stop();
    }
    // A new start makes a new token; a stopped API leaves none behind.
    expect(existsSync(join(home, 'run', 'api-token'))).toBe(false);
    expect(homeWorkerContainers(home)).toEqual([]);
  });
});
