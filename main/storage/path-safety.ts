/**
 * One place decides whether a path taken from metadata, a record, an archive or the network may be
 * read or written under a folder. Rules: relative, no `..`, no NUL, and no symbolic link at ANY
 * depth (each component is lstat'ed; links are refused outright, even ones pointing inside the
 * folder, because "inside" can change between the check and the copy). Only regular files and
 * folders are accepted: fifos, sockets and devices are refused (a fifo blocks a reader forever, a
 * device can be endless).
 */
import { lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PathError } from '../errors.js';

/** What a resolved path is on disk. */
export type PathKind = 'file' | 'dir' | 'missing';

/** A path that passed the checks: POSIX form relative to the root, and where it lives. */
export interface SafePath {
  rel: string;
  abs: string;
  kind: PathKind;
}

/** Options of resolveUnder. */
export interface ResolveOptions {
  /** Accept a path whose last component does not exist yet (for writing); default false. */
  allowMissing?: boolean;
}

function refuse(path: string, why: string, hint: string, component?: string): never {
  throw new PathError('PATH_UNSAFE', `Refusing path ${JSON.stringify(path)}: ${why}.`, {
    hint,
    details: { path, reason: why, ...(component !== undefined ? { component } : {}) },
  });
}

/**
 * Split a relative path into its components after the lexical checks (no I/O): refuses the
 * empty path, absolute and drive-letter paths, NUL, and any `..`. `.` components are dropped.
 */
export function splitRelative(path: string): string[] {
  if (typeof path !== 'string' || path === '') refuse(String(path), 'the path is empty', 'Name a file relative to the folder, e.g. "model.pkl".');
  if (path.includes('\0')) refuse(path, 'it contains a NUL character', 'Remove the NUL character from the path.');
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) {
    refuse(path, 'it is absolute; paths must be relative to the folder', 'Write the path relative to the folder, e.g. "model.pkl" instead of "/home/me/model.pkl".');
  }
  const parts = path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse(path, 'it contains ".." and could leave the folder', 'Move the file into the folder and name it by a path without "..".');
  if (parts.length === 0) refuse(path, 'it names the folder itself, not a file in it', 'Name a file inside the folder.');
  return parts;
}

function kindOf(path: string, shown: string, info: Stats, last: boolean): PathKind {
  if (info.isSymbolicLink()) {
    refuse(path, `${JSON.stringify(shown)} is a symbolic link, and links are never followed`, 'Replace the link with the file or folder itself (copy it into the folder).', shown);
  }
  if (info.isDirectory()) return 'dir';
  if (info.isFile()) {
    if (!last) refuse(path, `${JSON.stringify(shown)} is a file, not a folder`, 'Fix the path so each part before the last is a folder.', shown);
    return 'file';
  }
  const what = info.isFIFO() ? 'a named pipe (fifo)' : info.isSocket() ? 'a socket' : info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : 'a special file';
  return refuse(path, `${JSON.stringify(shown)} is ${what}, not a regular file`, 'Only regular files and folders can be used; remove the special file or name a regular one.', shown);
}

function missing(path: string, shown: string): never {
  return refuse(path, `${JSON.stringify(shown)} does not exist`, 'Create the file, or fix the path.', shown);
}

/**
 * Resolve `rel` under `root` without following any symlink: every component is lstat'ed. The root
 * itself is trusted (the user named it). Throws PathError (PATH_UNSAFE) naming the path and why.
 */
export async function resolveUnder(root: string, rel: string, opts: ResolveOptions = {}): Promise<SafePath> {
  return walkParts(root, rel, opts, await lstatEach(root, splitRelative(rel)));
}

/** lstat of each prefix of `parts` under `root`, stopping at the first that does not exist. */
async function lstatEach(root: string, parts: string[]): Promise<(Stats | undefined)[]> {
  const out: (Stats | undefined)[] = [];
  let abs = root;
  for (const part of parts) {
    abs = join(abs, part);
    let info: Stats | undefined;
    try {
      info = await lstat(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    out.push(info);
    // Nothing below a missing part, a file or a link is looked at: walkParts refuses there.
    if (!info?.isDirectory()) break;
  }
  return out;
}

/** The one check of every component, shared by the async and sync resolvers (they differ only in how they lstat). */
function walkParts(root: string, rel: string, opts: ResolveOptions, infos: (Stats | undefined)[]): SafePath {
  const parts = splitRelative(rel);
  let abs = root;
  for (let i = 0; i < parts.length; i++) {
    abs = join(abs, parts[i] as string);
    const shown = parts.slice(0, i + 1).join('/');
    const last = i === parts.length - 1;
    const info = infos[i];
    if (!info) {
      if (last && opts.allowMissing) return { rel: parts.join('/'), abs, kind: 'missing' };
      return missing(rel, shown);
    }
    const kind = kindOf(rel, shown, info, last);
    if (last) return { rel: parts.join('/'), abs, kind };
  }
  /* c8 ignore next */
  return refuse(rel, 'it names no file', 'Name a file inside the folder.');
}

/** resolveUnder for synchronous callers (registry lookups, the runner's loaders in Node). */
export function resolveUnderSync(root: string, rel: string, opts: ResolveOptions = {}): SafePath {
  const parts = splitRelative(rel);
  const infos: (Stats | undefined)[] = [];
  let abs = root;
  for (const part of parts) {
    abs = join(abs, part);
    const info = lstatSync(abs, { throwIfNoEntry: false });
    infos.push(info);
    if (!info?.isDirectory()) break;
  }
  return walkParts(root, rel, opts, infos);
}

/** Options of walkFiles. */
export interface WalkOptions {
  /** Names (any depth) left out of the walk, e.g. dotfiles or __pycache__. */
  skip?: (name: string) => boolean;
  /** Largest number of files returned before the walk stops with a PathError; default 100,000. */
  maxFiles?: number;
}

/**
 * Every regular file under `root/rel` (rel '.' for the root), as POSIX paths relative to `root`,
 * sorted. Links are never followed: a symlink or special file met on the way is refused.
 */
export async function walkFiles(root: string, rel = '.', opts: WalkOptions = {}): Promise<SafePath[]> {
  const out: SafePath[] = [];
  const max = opts.maxFiles ?? 100_000;
  const start = rel === '.' || rel === '' ? { rel: '', abs: root } : await resolveUnder(root, rel);
  const visit = async (dirRel: string, dirAbs: string): Promise<void> => {
    const entries = await readdir(dirAbs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (opts.skip?.(entry.name)) continue;
      const childRel = dirRel === '' ? entry.name : `${dirRel}/${entry.name}`;
      const childAbs = join(dirAbs, entry.name);
      const kind = kindOf(childRel, childRel, await lstat(childAbs), true);
      if (kind === 'dir') await visit(childRel, childAbs);
      else {
        out.push({ rel: childRel, abs: childAbs, kind });
        if (out.length > max) refuse(rel, `the folder holds more than ${max} files`, 'List the files the servable needs in dlhub.files instead of packaging the whole folder.');
      }
    }
  };
  if ('kind' in start && start.kind === 'file') return [start];
  await visit(start.rel, start.abs);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/**
 * Join ONE name taken from a record or the network (a servable name, an archive member's base name)
 * under `root`: refuses separators, NUL and other control characters, empty, "." and "..", so the
 * result is always a direct child with a name a terminal prints as it is.
 */
export function joinName(root: string, name: string): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..') {
    refuse(String(name), 'it is not a usable file name', 'Use a name with letters, digits, ".", "_" or "-".');
  }
  if (name.includes('\0')) refuse(name, 'it contains a NUL character', 'Remove the NUL character.');
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (/[\u0001-\u001f\u007f]/.test(name)) refuse(name, 'it contains a control character', 'Use a name with letters, digits, ".", "_" or "-".');
  if (/[\\/]/.test(name)) refuse(name, 'it contains a path separator', 'Use a single name without "/" or "\\".');
  return join(root, name);
}

/** A content digest: `sha256:` and 64 lower-case hex digits, nothing else (no other algorithm, case, or trailing text). */
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** The hex part of a digest, for a file or folder name; anything but `sha256:` and 64 hex digits is refused. */
export function digestHex(digest: string): string {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) {
    refuse(String(digest), 'it is not a content digest (sha256: and 64 hex digits)', 'The record that names it is damaged: build or pull the servable again.');
  }
  return digest.slice('sha256:'.length);
}
