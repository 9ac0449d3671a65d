// A pulled servable is assembled in a folder of its own under pulling/ and only then renamed into servables/,
// so no reader ever sees half of one; the plain pull and the pipeline pull both end this way.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { servableRoot } from '../servable/registry.js';
import type { HomePaths } from '../storage/home.js';

/** Put the finished folder `work` in place as servable `name`, replacing (set aside, then removed) one already there. */
export function renameIntoServables(paths: HomePaths, work: string, name: string): void {
  const target = servableRoot(paths, name);
  mkdirSync(paths.servables, { recursive: true });
  if (existsSync(target)) {
    const old = `${work}.old`;
    renameSync(target, old);
    renameSync(work, target);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(work, target);
}
