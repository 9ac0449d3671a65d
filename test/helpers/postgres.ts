// A private PostgreSQL cluster for one suite: Debian's postgresql binaries, a data folder in a temp
// dir, a free loopback port, trust auth for one user; run as the `postgres` user when the tests run
// as root (initdb refuses root), stopped by `stop()` (pg_ctl, then the PID if it lingers).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

/** A running private cluster. */
export interface TestPostgres {
  url: string;
  pid: number;
  /** A fresh empty database on the cluster, by URL. */
  database(name: string): string;
  stop(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  if (!found) throw new Error('PostgreSQL is not installed: flock /tmp/apt.lock apt-get install -y postgresql (scripts/setup.sh does it)');
  return found;
}


/** Start a cluster (takes a few seconds). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const pgUid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : undefined;
  const pgGid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) : undefined;
  if (pgUid !== undefined && pgGid !== undefined) chownSync(dir, pgUid, pgGid);
  chmodSync(dir, 0o700);
  const run = (cmd: string, args: string[]): string => (asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : execFileSync(join(bin, cmd), args)).toString();
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'hub', '--no-sync']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -F`, 'start']);
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const psql = (sql: string): void => void execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'hub', '-d', 'postgres', '-qc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    url: `postgres://hub@127.0.0.1:${port}/postgres`,
    pid,
    database(name) {
      psql(`DROP DATABASE IF EXISTS "${name}"`);
      psql(`CREATE DATABASE "${name}"`);
      return `postgres://hub@127.0.0.1:${port}/${name}`;
    },
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
