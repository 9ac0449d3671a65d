// The registry the hub manages by default: Debian's `docker-registry` (the OCI distribution
// registry) on a free loopback port, its config and data under the hub's home, configured for token
// auth with this hub as the token service; started after the hub listens (the realm names its
// port) and stopped with it. A hub killed outright (kill -9) cannot stop its registry: the next start
// finds it by the PID file it left and stops it before starting its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ServiceError } from '../main/errors.js';
import { isProcessAlive } from '../main/storage/process-alive.js';
import { REGISTRY_ISSUER, REGISTRY_SERVICE } from './registry-token.js';

/** A running managed registry. */
export interface ManagedRegistry {
  address: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free loopback port (bound and released; the registry takes it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The registry configuration lines for token auth with the hub at `hubUrl`. */
export function registryConfig(o: { address: string; dataDir: string; hubUrl: string; certFile: string }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${o.dataDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${o.address}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    'auth:',
    '  token:',
    `    realm: ${o.hubUrl}/v1/registry/token`,
    `    service: ${REGISTRY_SERVICE}`,
    `    issuer: ${REGISTRY_ISSUER}`,
    `    rootcertbundle: ${o.certFile}`,
    '',
  ].join('\n');
}

async function answers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 401 || res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Stop the registry an earlier hub with this config left running (it was killed before it could):
 * the PID file names it and its hub, and it is stopped only if its hub is gone and the process
 * still runs this config file. A hub that still runs keeps its registry.
 */
export async function stopLeftoverRegistry(dir: string): Promise<number | undefined> {
  const pidFile = join(dir, 'registry.pid');
  let pid: number;
  let hubPid: number;
  try {
    [pid, hubPid] = readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  } catch {
    return undefined;
  }
  if (Number.isInteger(hubPid) && hubPid > 1 && isProcessAlive(hubPid)) return undefined;
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !isProcessAlive(pid)) return undefined;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // No /proc (not Linux) or the process just ended: leave it alone.
    return undefined;
  }
  if (!cmdline.split('\0').includes(join(dir, 'config.yml'))) return undefined;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  return pid;
}

/** Start `docker-registry` for the hub at `hubUrl`, its files under `home/registry`. */
export async function startRegistry(home: string, hubUrl: string, certFile: string, binary = process.env['DLHUB_HUB_REGISTRY_BIN'] ?? 'docker-registry'): Promise<ManagedRegistry> {
  const dir = join(home, 'registry');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  await stopLeftoverRegistry(dir);
  const address = `127.0.0.1:${await freePort()}`;
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, registryConfig({ address, dataDir, hubUrl, certFile }), { mode: 0o600 });
  const log = createWriteStream(join(dir, 'registry.log'), { flags: 'a' });
  let child: ChildProcess;
  let failed: Error | undefined;
  try {
    child = spawn(binary, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new ServiceError('SERVICE_UNAVAILABLE', `Cannot start ${binary}: ${(err as Error).message}`, { hint: 'Install Debian\'s docker-registry, or pass --registry HOST:PORT (or --no-registry).' });
  }
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (child.pid !== undefined) writeFileSync(join(dir, 'registry.pid'), `${child.pid} ${process.pid}\n`);
  let exited = false;
  child.once('error', (err) => {
    failed = err;
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const deadline = Date.now() + 15_000;
  while (!(await answers(address))) {
    if (failed || exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ServiceError('SERVICE_UNAVAILABLE', `${binary} did not start${failed ? `: ${failed.message}` : ''} (see ${join(dir, 'registry.log')}).`, { hint: 'Install Debian\'s docker-registry, or pass --registry HOST:PORT (or --no-registry).' });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    pid: child.pid ?? 0,
    async stop() {
      rmSync(join(dir, 'registry.pid'), { force: true });
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
      log.end();
    },
  };
}
