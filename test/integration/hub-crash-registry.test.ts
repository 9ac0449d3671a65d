// A hub killed outright (SIGKILL) cannot stop the docker-registry it started; the next
// `dlhub-hub serve` on the same home stops that leftover before starting its own, so crashes do not
// pile up registries on the machine. A registry whose hub still runs is left alone.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';
import { isProcessAlive } from '../../main/storage/process-alive.js';
import { stopLeftoverRegistry } from '../../hub/registry.js';

const HUB_BIN = join(import.meta.dirname, '../../bin/dlhub-hub.js');
const dir = tempDir('dlhub-hub-crash-');
const env = { ...process.env, DLHUB_HUB_HOME: dir.path };
const started: ChildProcess[] = [];
const registries: number[] = [];

/** Start `dlhub-hub serve` with its managed registry; answers the hub and its registry's PID. */
async function serve(): Promise<{ hub: ChildProcess; registryPid: number; registry: string }> {
  const hub = spawn(process.execPath, [HUB_BIN, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(hub);
  let out = '';
  let err = '';
  hub.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  hub.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(`the hub to listen (stderr: ${err})`, () => out.includes('listening on') || (hub.exitCode !== null ? Promise.reject(new Error(`hub exited: ${err}`)) : false), { timeoutMs: 60_000 });
  const [registryPid, hubPid] = readFileSync(join(dir.path, 'registry', 'registry.pid'), 'utf8').trim().split(' ').map(Number) as [number, number];
  expect(hubPid).toBe(hub.pid);
  registries.push(registryPid);
  return { hub, registryPid, registry: /registry (\S+)/.exec(out)?.[1] ?? '' };
}

/** Whether `pid` runs (a zombie, ended but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function answers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 401;
  } catch {
    return false;
  }
}

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of registries) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  dir.remove();
});

describe('a hub killed with its registry running', () => {
  it('leaves a registry that the next start stops before starting its own', async () => {
    const first = await serve();
    expect(await answers(first.registry)).toBe(true);
    // A live hub's registry is not a leftover.
    expect(await stopLeftoverRegistry(join(dir.path, 'registry'))).toBeUndefined();
    expect(running(first.registryPid)).toBe(true);

    const gone = new Promise((r) => first.hub.once('exit', r));
    first.hub.kill('SIGKILL');
    await gone;
    // The kill reached the hub only: its registry still runs, orphaned (asking it anything now would
    // end it: its next log line goes to a pipe nobody reads).
    expect(running(first.registryPid)).toBe(true);

    const second = await serve();
    expect(second.registryPid).not.toBe(first.registryPid);
    await waitFor('the leftover registry to end', () => !running(first.registryPid), { timeoutMs: 10_000 });
    expect(await answers(second.registry)).toBe(true);

    // A clean stop takes its registry with it and leaves no PID file behind.
    const stopped = new Promise((r) => second.hub.once('exit', r));
    second.hub.kill('SIGTERM');
    await stopped;
    await waitFor('the registry to end with its hub', () => !running(second.registryPid), { timeoutMs: 10_000 });
    expect(() => readFileSync(join(dir.path, 'registry', 'registry.pid'))).toThrow();
  }, 180_000);
});
