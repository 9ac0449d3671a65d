import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { BuildError } from '../errors.js';

/** One servable file: its path inside servable/ (POSIX separators) and where it is read from. */
export interface SourceFile {
  rel: string;
  abs: string;
}

// Never part of a servable when the metadata does not list its files.
const SKIPPED_NAMES = new Set(['__pycache__', 'node_modules']);

/** Every string under dlhub.files and servable.files ({"model": "m.pkl", "other": ["app.py"]} and the like). */
export function declaredFiles(metadata: { dlhub?: unknown; servable?: unknown }): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') found.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(visit);
  };
  for (const section of [metadata.dlhub, metadata.servable]) {
    if (section !== null && typeof section === 'object') visit((section as Record<string, unknown>)['files']);
  }
  return found;
}

function refuse(file: string, why: string, hint: string): never {
  throw new BuildError('BUILD_FAILED', `Cannot package "${file}": ${why}.`, { hint, details: { file } });
}

/** Check a declared path stays inside the servable folder and normalise it to POSIX form. */
function checkDeclared(path: string): string {
  if (path === '' || isAbsolute(path) || /^[A-Za-z]:/.test(path)) {
    refuse(path, 'file paths in dlhub.json must be relative to the servable folder', 'Write the path relative to the folder that holds dlhub.json, e.g. "model.pkl".');
  }
  const parts = path.split(/[\\/]+/);
  if (parts.includes('..')) {
    refuse(path, 'the path contains ".." and could leave the servable folder', 'Move the file into the servable folder and list it by a path without "..".');
  }
  return posix.normalize(parts.join('/'));
}

/**
 * Resolve one entry, following a symlink only when its target stays inside the folder, and
 * add it (or, for a folder, its files) to `out`.
 */
async function addEntry(root: string, realRoot: string, rel: string, out: Map<string, SourceFile>, declared: boolean, seenDirs = new Set<string>()): Promise<void> {
  const abs = join(root, ...rel.split('/'));
  let info;
  try {
    info = await lstat(abs);
  } catch {
    if (declared) refuse(rel, 'dlhub.json lists it but it does not exist', 'Create the file, or remove it from dlhub.files / servable.files.');
    return;
  }
  let real = abs;
  if (info.isSymbolicLink()) {
    try {
      real = await realpath(abs);
    } catch {
      refuse(rel, 'it is a symlink whose target does not exist', 'Replace the link with the file itself.');
    }
    const inside = relative(realRoot, real);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || inside.split(sep)[0] === '..') {
      refuse(rel, `it is a symlink to ${real}, outside the servable folder`, 'Copy the file into the servable folder instead of linking to it.');
    }
    info = await stat(real);
  }
  if (info.isFile()) {
    out.set(rel, { rel, abs: real });
  } else if (info.isDirectory()) {
    // A link to a folder above itself would otherwise be walked forever.
    const dirKey = await realpath(real);
    if (seenDirs.has(dirKey)) refuse(rel, 'it is a symlink that loops back to a folder already packaged', 'Remove the link.');
    seenDirs.add(dirKey);
    for (const entry of await readdir(real)) {
      if (entry.startsWith('.') || SKIPPED_NAMES.has(entry)) continue;
      await addEntry(root, realRoot, `${rel === '.' ? '' : `${rel}/`}${entry}`, out, false, new Set(seenDirs));
    }
  }
  // Sockets, pipes and devices are never part of a servable.
}

/**
 * The files a servable consists of: those the metadata declares, or, when it declares none,
 * every regular file in the folder except dotfiles, __pycache__ and node_modules. dlhub.json
 * itself is left out: the packager writes the validated copy.
 */
export async function collectFiles(sourceDir: string, declared: readonly string[]): Promise<SourceFile[]> {
  const realRoot = await realpath(sourceDir);
  const out = new Map<string, SourceFile>();
  if (declared.length === 0) {
    await addEntry(sourceDir, realRoot, '.', out, false);
  } else {
    for (const path of declared) await addEntry(sourceDir, realRoot, checkDeclared(path), out, true);
  }
  out.delete('dlhub.json');
  return [...out.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
