import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../errors.js';
import type { HomePaths } from '../storage/home.js';
import { joinName } from '../storage/path-safety.js';
import { isServableName, NAME_RULE } from './names.js';
import type { ServableMetadata } from './metadata.js';

/** What `dlhub build` left for one servable: its prepared files and, when Docker was there, its image. */
export interface LocalServable {
  name: string;
  version: string | undefined;
  metadata: ServableMetadata;
  /** Folder with dlhub.json and the model files, as the runner sees them. */
  servableDir: string;
  /** Folder with dlhub_runner.py. */
  runnerDir: string;
  /** Digest of everything in the build context: the memo key's digest for the host runtime. */
  contentKey: string;
  /** Set once an image was built. */
  image: { tag: string; imageId: string } | undefined;
  /** Pinned packages the image was built with in the base image's version instead (`dlhub build --accept-installed`). */
  substitutions: { package: string; wanted: string; installed: string }[];
  preparedAt: string;
  sourceDir: string;
}

/** Recorded by the build operation next to the context. */
export interface PreparedRecord {
  name: string;
  version: string | undefined;
  contentKey: string;
  tag: string;
  sourceDir: string;
  preparedAt: string;
}

interface BuildRecord {
  tag: string;
  imageId: string;
  contentKey: string;
  substitutions?: { package: string; wanted: string; installed: string }[];
}

/** Folder of one servable under DLHUB_HOME/servables. */
export function servableRoot(paths: HomePaths, name: string): string {
  return joinName(paths.servables, name);
}

/** Write the prepared record atomically so a crash never leaves a half-written one. */
export function writePrepared(paths: HomePaths, record: PreparedRecord): void {
  const file = join(servableRoot(paths, record.name), 'prepared.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2));
  renameSync(`${file}.tmp`, file);
  forgetLocalCached(paths, record.name);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Load one local servable, or undefined when it was never prepared. */
export function findLocal(paths: HomePaths, name: string): LocalServable | undefined {
  const root = servableRoot(paths, name);
  const prepared = readJson<PreparedRecord>(join(root, 'prepared.json'));
  if (!prepared) return undefined;
  const servableDir = join(root, 'context', 'servable');
  const metadata = readJson<ServableMetadata>(join(servableDir, 'dlhub.json'));
  if (!metadata) return undefined;
  const build = readJson<BuildRecord>(join(root, 'build.json'));
  // A build record from an older context does not describe the files that are prepared now.
  const current = build && build.contentKey === prepared.contentKey ? build : undefined;
  const image = current ? { tag: current.tag, imageId: current.imageId } : undefined;
  return {
    name: prepared.name,
    version: prepared.version,
    metadata,
    servableDir,
    runnerDir: join(root, 'context', 'runner'),
    contentKey: prepared.contentKey,
    image,
    substitutions: current?.substitutions ?? [],
    preparedAt: prepared.preparedAt,
    sourceDir: prepared.sourceDir,
  };
}


/** Load one local servable or fail with a message that lists what exists. */
export function getLocal(paths: HomePaths, name: string): LocalServable {
  // The same rule build applies, so whatever builds can be found; it also keeps "." and "/" out of folder names.
  if (!isServableName(name)) {
    throw new NotFoundError('SERVABLE_NOT_FOUND', `"${name}" is not a servable name.`, {
      hint: `Servable names use ${NAME_RULE}; see \`dlhub ls\`.`,
    });
  }
  const found = findLocal(paths, name);
  if (found) return found;
  const known = listLocal(paths).map((s) => s.name);
  throw new NotFoundError('SERVABLE_NOT_FOUND', `No servable named "${name}" on this machine.`, {
    hint: known.length > 0
      ? `Known servables: ${known.join(', ')}. Build a new one with \`dlhub build DIR\`.`
      : 'Build one first: `dlhub init DIR` then `dlhub build DIR`.',
  });
}

/** Every prepared servable, sorted by name. */
export function listLocal(paths: HomePaths): LocalServable[] {
  if (!existsSync(paths.servables)) return [];
  return readdirSync(paths.servables, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => findLocal(paths, d.name))
    .filter((s): s is LocalServable => s !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Delete a servable's prepared files; the caller removes its image. */
export function removeLocalFiles(paths: HomePaths, name: string): void {
  rmSync(servableRoot(paths, name), { recursive: true, force: true });
  forgetLocalCached(paths, name);
}

/**
 * How long getLocalCached trusts its last look at a servable's record files without a stat. A build or `rm` in this
 * process is seen at once (they call forgetLocalCached); one in another process (a CLI build while `dlhub serve` runs)
 * is seen within this window. Two stats cost ~20 µs, a third of a warm memo hit.
 */
const RECHECK_MS = 100;

const cache = new Map<string, { stamp: string; checkedAt: number; servable: LocalServable }>();

/** Drop this process's cached record of a servable, after writing or removing its files. */
export function forgetLocalCached(paths: HomePaths, name: string): void {
  cache.delete(`${paths.servables}\0${name}`);
}

function stampOf(paths: HomePaths, name: string): string {
  const root = servableRoot(paths, name);
  const stat = (f: string): string => {
    // throwIfNoEntry: a host-only servable has no build.json, and a thrown ENOENT costs ~30 µs a call.
    try {
      const st = statSync(join(root, f), { throwIfNoEntry: false });
      return st ? `${st.mtimeMs}:${st.size}` : '-';
    } catch {
      return '-';
    }
  };
  return `${stat('prepared.json')}|${stat('build.json')}`;
}

/**
 * getLocal for the hot path: re-reads the records only when their files changed (a build from
 * another process rewrites them), and looks at them at most every RECHECK_MS, so most warm calls
 * cost a map lookup instead of two stats or three JSON parses.
 */
export function getLocalCached(paths: HomePaths, name: string): LocalServable {
  const key = `${paths.servables}\0${name}`;
  const hit = cache.get(key);
  const now = performance.now();
  if (hit && now - hit.checkedAt < RECHECK_MS) return hit.servable;
  const stamp = stampOf(paths, name);
  if (hit && hit.stamp === stamp) {
    hit.checkedAt = now;
    return hit.servable;
  }
  const servable = getLocal(paths, name);
  cache.set(key, { stamp, checkedAt: now, servable });
  return servable;
}
