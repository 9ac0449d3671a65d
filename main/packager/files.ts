import { resolveUnder, walkFiles } from '../storage/path-safety.js';

/** One servable file: its path inside servable/ (POSIX separators) and where it is read from. */
export interface SourceFile {
  rel: string;
  abs: string;
}

// Never part of a servable when the metadata does not list its files.
const SKIPPED_NAMES = new Set(['__pycache__', 'node_modules']);
const skip = (name: string): boolean => name.startsWith('.') || SKIPPED_NAMES.has(name);

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

/**
 * The files a servable consists of: those the metadata declares (a declared folder brings its
 * files), or, when it declares none, every regular file in the folder except dotfiles,
 * __pycache__ and node_modules. dlhub.json itself is left out: the packager writes the validated
 * copy. Every path goes through storage/path-safety: a symlink at any depth, `..`, an absolute
 * path or a special file is refused with PATH_UNSAFE.
 */
export async function collectFiles(sourceDir: string, declared: readonly string[]): Promise<SourceFile[]> {
  const out = new Map<string, SourceFile>();
  if (declared.length === 0) {
    for (const f of await walkFiles(sourceDir, '.', { skip })) out.set(f.rel, { rel: f.rel, abs: f.abs });
  } else {
    for (const path of declared) {
      const found = await resolveUnder(sourceDir, path);
      const files = found.kind === 'dir' ? await walkFiles(sourceDir, found.rel, { skip }) : [found];
      for (const f of files) out.set(f.rel, { rel: f.rel, abs: f.abs });
    }
  }
  out.delete('dlhub.json');
  return [...out.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
