import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { tempDir as homeTempDir } from './home.js';

const BIN = resolve(import.meta.dirname, '../../bin/dlhub.js');

/** What one `dlhub` invocation printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built `dlhub` command (npm test builds dist/ first) with extra environment. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliResult> {
  return outcome(spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DLHUB_NO_SERVICE: '1', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** What a child process started with piped output printed, and its exit code, once it has ended. */
export function outcome(child: ChildProcessByStdio<null, Readable, Readable>): Promise<CliResult> {
  return new Promise((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** Parse a `--json` result, failing with the command's output when it is not JSON. */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** A fresh temporary folder, removed (with its homes' image tags) by the returned cleanup. */
export function tempDir(prefix = 'dlhub-test-'): { dir: string; cleanup: () => void } {
  const made = homeTempDir(prefix);
  return { dir: made.path, cleanup: made.remove };
}
