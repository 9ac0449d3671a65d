// The world the hub suites run in: the built `dlhub-hub` (its own home and, unless told otherwise, its
// managed docker-registry behind token auth) on a loopback port, a few users with passwords
// (`<user>-pw`) each with their own DLHUB_HOME, and the group `lab` that alice owns and bob is in.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { tempDir } from './home.js';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

const HUB_BIN = resolve(import.meta.dirname, '../../bin/dlhub-hub.js');

/** A suite's hub, its users and their homes; see the module comment. */
export interface HubWorld<U extends string> {
  /** The suite's temporary folder: the hub's home, the users' homes, and whatever else the suite makes. */
  dir: { path: string; remove: () => void };
  /** The hub's DLHUB_HUB_HOME. */
  hubHome: string;
  /** Each user's DLHUB_HOME. */
  homes: Record<U, string>;
  /** The hub's port (known once `setUp` has run; a restart comes back on it). */
  readonly port: number;
  /** The hub's address. */
  url: () => string;
  /** Run a `dlhub-hub` admin command against the hub's home; its output. */
  admin: (...args: string[]) => string;
  /** Add the users and the group, and pick the hub's port; the hub is not started. */
  setUp: () => Promise<void>;
  /** Start the hub on its port (with `serveArgs` too) and wait until it listens. */
  start: () => Promise<void>;
  /** Stop the hub (SIGTERM, as a shutdown; SIGKILL, as a crash) and wait until it is gone. */
  stop: (signal?: 'SIGTERM' | 'SIGKILL') => Promise<void>;
}

/** A hub world in a fresh temporary folder named with `prefix`, for `users` (alice and bob among them). */
export function hubWorld<U extends string>(prefix: string, users: readonly U[], options: { env?: Record<string, string>; serveArgs?: () => string[] } = {}): HubWorld<U> {
  const dir = tempDir(prefix);
  const hubHome = join(dir.path, 'hub');
  const hubEnv = { ...process.env, DLHUB_HUB_HOME: hubHome, ...options.env };
  const homes = Object.fromEntries(users.map((u) => [u, join(dir.path, u)])) as Record<U, string>;
  let port = 0;
  let hub: ChildProcess | undefined;
  const admin = (...args: string[]): string => execFileSync(process.execPath, [HUB_BIN, ...args], { env: hubEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    dir,
    hubHome,
    homes,
    get port() {
      return port;
    },
    url: () => `http://127.0.0.1:${port}`,
    admin,
    async setUp() {
      for (const u of users) admin('users', 'add', u, '--password', `${u}-pw`);
      admin('groups', 'add', 'lab', '--owner', 'alice');
      admin('groups', 'join', 'lab', 'bob');
      port = await freePort();
    },
    async start() {
      const child = spawn(process.execPath, [HUB_BIN, 'serve', '--port', String(port), ...(options.serveArgs?.() ?? [])], { env: hubEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(`the hub to listen (output: ${out})`, () => out.includes('listening on') || (child.exitCode !== null ? Promise.reject(new Error(`hub exited: ${out}`)) : false), { timeoutMs: 60_000 });
      hub = child;
    },
    stop(signal = 'SIGTERM') {
      const child = hub;
      hub = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      return gone;
    },
  };
}
