// A `dlhub serve` child process on a temporary DLHUB_HOME, and `dlhub` commands run to completion:
// what the serving and end-to-end benchmarks start before they measure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// From dist/bench/ (where `npm run bench` runs this) up to the repository, whose bin/dlhub.js loads dist/.
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), import.meta.url.includes('/dist/') ? '../..' : '..');
export const BIN = join(ROOT, 'bin', 'dlhub.js');

/** A `dlhub serve --http` child process and what a client needs to call it. */
export interface Service {
  home: string;
  url: URL;
  token: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Environment of every dlhub process this benchmark starts: the temp home, and whatever the case sets. */
export function dlhubEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DLHUB_HOME: home, ...extra };
}

/** `node bin/dlhub.js ARGS` to completion; throws with its output when it fails. */
export function dlhub(home: string, args: string[], extra: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: dlhubEnv(home, extra), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`dlhub ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}


/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Start `dlhub serve` (with `--http 127.0.0.1:0` when `http`) and wait until it answers. */
export async function startService(home: string, extra: Record<string, string> = {}, http = true): Promise<Service> {
  const runDir = join(home, 'run');
  const urlFile = join(runDir, 'api-url');
  const sock = join(runDir, 'service.sock');
  rmSync(urlFile, { force: true });
  const log = openSync(join(home, 'serve.log'), 'a');
  const args = [BIN, 'serve', ...(http ? ['--http', '127.0.0.1:0'] : [])];
  const proc = spawn(process.execPath, args, { env: dlhubEnv(home, extra), stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  while (!existsSync(http ? urlFile : sock)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`dlhub serve did not start (exit ${proc.exitCode}):\n${readFileSync(join(home, 'serve.log'), 'utf8')}`);
    }
    await sleep(20);
  }
  // The URL is written just before the token's sibling; both exist once the URL does, but give the writes a tick.
  await sleep(20);
  const url = http ? new URL(readFileSync(urlFile, 'utf8').trim()) : new URL('http://unix');
  const token = http ? readFileSync(join(runDir, 'api-token'), 'utf8').trim() : '';
  return {
    home,
    url,
    token,
    proc,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
