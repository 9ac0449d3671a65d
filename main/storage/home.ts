import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where everything DLHub Desktop keeps lives: `DLHUB_HOME`, default `~/.dlhub`. */
export interface HomePaths {
  root: string;
  stateDb: string;
  memoDb: string;
  credentials: string;
  servables: string;
  run: string;
  logs: string;
  catalogIndex: string;
  /** Where files meant for the network doors land (browser-mode uploads); a remote caller may read and write here. */
  staging: string;
}

/** Resolve the home layout, from an explicit root, `DLHUB_HOME`, or `~/.dlhub`. */
export function homePaths(root?: string): HomePaths {
  const base = resolve(root ?? process.env['DLHUB_HOME'] ?? join(homedir(), '.dlhub'));
  return {
    root: base,
    stateDb: join(base, 'state.db'),
    memoDb: join(base, 'memo.db'),
    credentials: join(base, 'credentials'),
    servables: join(base, 'servables'),
    // Sockets need short paths (108 bytes on Linux), so they live in a directory of their own near the root.
    run: join(base, 'run'),
    logs: join(base, 'logs'),
    catalogIndex: join(base, 'catalog-index.bin'),
    staging: join(base, 'staging'),
  };
}

/** Create the home folders that must exist; credentials are private to the user. */
export function ensureHome(paths: HomePaths): HomePaths {
  mkdirSync(paths.root, { recursive: true });
  mkdirSync(paths.servables, { recursive: true });
  mkdirSync(paths.run, { recursive: true, mode: 0o700 });
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.staging, { recursive: true, mode: 0o700 });
  mkdirSync(paths.credentials, { recursive: true, mode: 0o700 });
  return paths;
}
