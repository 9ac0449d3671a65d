/**
 * Paths named in a request (an import file, an export target, a servable folder). Over a network door
 * (HTTP, browser mode, gRPC) a token holder is not the user: they may touch only `$DLHUB_HOME/staging`
 * (where browser-mode uploads land) and the folders the user listed in DLHUB_WORKSPACE, each component
 * checked by path-safety (no `..`, no links, only regular files and folders). The CLI, the in-process
 * SDK, the 0600 Unix socket and Electron IPC keep the user's own reach.
 */
import { lstat } from 'node:fs/promises';
import { delimiter, isAbsolute, relative, resolve, sep } from 'node:path';
import { PathError } from '../errors.js';
import type { HomePaths } from './home.js';
import { resolveUnder } from './path-safety.js';

/** What the operation does with the path: read a file, write (or replace) a file, or use a folder. */
export type DoorPathUse = 'read-file' | 'write-file' | 'folder';

/** Who asks and for what. */
export interface DoorPathOptions {
  /** Set by the network doors; unset keeps the user's reach. */
  remote?: boolean | undefined;
  paths: Pick<HomePaths, 'staging'>;
  /** Folders a remote caller may use besides staging (DLHUB_WORKSPACE). */
  workspaces?: readonly string[] | undefined;
  use: DoorPathUse;
}

/** Parse DLHUB_WORKSPACE: absolute folders separated by the platform's path-list separator; relative entries are ignored. */
export function parseWorkspaces(raw: string | undefined): string[] {
  return (raw ?? '').split(delimiter).map((p) => p.trim()).filter((p) => p !== '' && isAbsolute(p)).map((p) => resolve(p));
}

function refuse(path: string, why: string, hint: string): never {
  throw new PathError('PATH_UNSAFE', `Refusing path ${JSON.stringify(path)}: ${why}.`, { hint, details: { path, reason: why } });
}

function allowedHint(roots: readonly string[]): string {
  return `Over the network only files in ${roots.join(' or ')} can be used: copy the file there (browser uploads land in the staging folder), or list a folder in DLHUB_WORKSPACE when starting the service.`;
}

/** The allowed folder that holds `abs` (the deepest, when they nest), if any. */
function rootOf(abs: string, roots: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const root of roots) {
    if (abs !== root && !abs.startsWith(root.endsWith(sep) ? root : root + sep)) continue;
    if (best === undefined || root.length > best.length) best = root;
  }
  return best;
}

/**
 * The absolute path an operation may use for `path`. Without `remote` it is the path resolved as given
 * (the user's reach). With `remote`, a relative path is taken inside the staging folder, and the path
 * must lie in staging or a workspace folder with every component a real folder (no link, no `..`) and
 * the last a regular file (read-file), a regular file or nothing yet (write-file), or a folder (folder).
 * Refusals are PathError (PATH_UNSAFE) that name only the path given and the allowed folders.
 */
export async function resolveDoorPath(path: string, opts: DoorPathOptions): Promise<string> {
  if (typeof path !== 'string' || path === '') refuse(String(path), 'the path is empty', 'Name a file or folder.');
  if (path.includes('\0')) refuse(path, 'it contains a NUL character', 'Remove the NUL character from the path.');
  if (!opts.remote) return resolve(path);
  const staging = resolve(opts.paths.staging);
  const roots = [staging, ...(opts.workspaces ?? []).map((w) => resolve(w))];
  if (path.split(/[\\/]+/).includes('..')) refuse(path, 'it contains ".."', allowedHint(roots));
  const abs = resolve(staging, path);
  const root = rootOf(abs, roots);
  if (root === undefined) refuse(path, 'it is outside the folders a network caller may use', allowedHint(roots));
  const rel = relative(root, abs);
  if (rel === '') {
    if (opts.use !== 'folder') refuse(path, 'it names an allowed folder itself, not a file in it', 'Name a file inside the folder.');
    const info = await lstat(root).catch(() => undefined);
    if (!info?.isDirectory()) refuse(path, 'the folder does not exist', 'Create the folder, or fix DLHUB_WORKSPACE.');
    return abs;
  }
  let safe;
  try {
    safe = await resolveUnder(root, rel, { allowMissing: opts.use === 'write-file' });
  } catch (err) {
    if (err instanceof PathError) throw err;
    // A name too long for the file system, or a folder this process may not read: refused, never INTERNAL.
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return refuse(path, `it cannot be looked up (${code})`, 'Use a shorter name inside the allowed folder.');
  }
  if (opts.use === 'folder' && safe.kind !== 'dir') refuse(path, 'it is a file, not a folder', 'Name the folder that holds the servable.');
  if (opts.use !== 'folder' && safe.kind === 'dir') refuse(path, 'it is a folder, not a file', 'Name a file inside the folder.');
  return safe.abs;
}
