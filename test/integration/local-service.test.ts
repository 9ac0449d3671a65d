// `dlhub serve`: the local service keeps workers warm between CLI commands, on a socket only
// this user can open, and stopping it leaves no container.
import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { requireDocker, testBaseImage } from '../helpers/docker.js';

function workers(): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', 'label=org.dlhub.worker']).toString().split('\n').filter(Boolean);
}

describe('dlhub serve', () => {
  const work = tempDir('dlhub-serve-');
  afterAll(() => work.cleanup());

  it('serves CLI commands with a warm worker and stops cleanly', async () => {
    await requireDocker();
    const env = { DLHUB_HOME: join(work.dir, 'home'), DLHUB_BASE_IMAGE: testBaseImage() };
    const build = await runCli(['build', resolve('examples/noop'), '--json'], env);
    expect(build.code, build.stderr).toBe(0);
    const before = workers().length;

    const server = spawn(process.execPath, ['bin/dlhub.js', 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const socket = join(env.DLHUB_HOME, 'run', 'service.sock');
    const deadline = Date.now() + 15_000;
    while (!log.includes('listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(log).toContain('listening');
    expect(statSync(socket).mode & 0o777).toBe(0o600);

    try {
      const viaService = { ...env, DLHUB_NO_SERVICE: '0' };
      const first = json<{ output: string; runtime: string }>(await runCli(['run', 'noop', '--no-cache', '--json'], viaService));
      expect(first).toMatchObject({ output: 'hello world', runtime: 'docker' });
      // The worker outlives the command: it belongs to the service.
      expect(workers().length).toBe(before + 1);
      const second = json<{ output: string; elapsedMs: number }>(await runCli(['run', 'noop', '--no-cache', '--json'], viaService));
      expect(second.output).toBe('hello world');
      expect(workers().length).toBe(before + 1);
      // Errors cross the service with their code and hint intact.
      const missing = await runCli(['run', 'nope', '--input', '1'], viaService);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No servable named "nope"');
      expect(missing.stderr).toContain('noop');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('close', r));
    }
    expect(workers().length).toBe(before);
  });
});
