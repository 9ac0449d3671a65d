// `dlhub tasks --watch`: the CLI follows the running service's task changes through the stream
// operation, one JSON object a line with --json; without a service it says how to start one.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../helpers/cli.js';
import { buildEngineServables } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';

const BIN = resolve('bin/dlhub.js');

describe('dlhub tasks --watch', () => {
  const work = tempDir('dlhub-doors-cli-');
  const home = join(work.path, 'home');
  const env = { DLHUB_HOME: home, DLHUB_NO_SERVICE: '0' };

  beforeAll(async () => {
    await buildEngineServables(home, work.path, [['twice', 'double']], { hostOnly: true });
  }, 120_000);
  afterAll(() => work.remove());

  it('without a service, says to start one (exit 2)', async () => {
    const r = await runCli(['tasks', '--watch'], { DLHUB_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dlhub serve');
  });

  it('prints each change of a task submitted while it watches, until stopped', async () => {
    const serve = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let serveLog = '';
    serve.stderr.on('data', (d: Buffer) => (serveLog += d.toString()));
    serve.stdout.on('data', (d: Buffer) => (serveLog += d.toString()));
    let watch: ReturnType<typeof spawn> | undefined;
    try {
      await waitFor('the service to listen', () => /listening/.test(serveLog));
      watch = spawn(process.execPath, [BIN, 'tasks', '--watch', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const w = watch;
      let watched = '';
      let watchErr = '';
      w.stdout?.on('data', (d: Buffer) => (watched += d.toString()));
      w.stderr?.on('data', (d: Buffer) => (watchErr += d.toString()));
      await waitFor('the watch to start', () => /Watching/.test(watchErr));
      const task = json<{ id: string }>(await runCli(['submit', 'twice', '--input', '4', '--runtime', 'host', '--json'], env));
      const lines = await waitFor('the task to succeed on the watch', () => {
        const seen = watched.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; status: string });
        return seen.some((t) => t.id === task.id && t.status === 'succeeded') ? seen : undefined;
      });
      expect(lines.filter((t) => t.id === task.id).map((t) => t.status)).toContain('succeeded');
    } finally {
      watch?.kill('SIGINT');
      serve.kill('SIGTERM');
      await new Promise((r) => (serve.exitCode === null ? serve.once('close', r) : r(undefined)));
    }
  }, 60_000);
});
