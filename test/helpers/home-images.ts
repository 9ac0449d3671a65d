// What a test's DLHub homes leave in the Docker engine after their folder is deleted: each build tags
// the servable's image for its home (`dlhub/NAME:KEY-<home id>`, see main/runtime/docker/image.ts),
// and nothing but `dlhub rm` takes that tag away again. A suite's temporary folder removes the tags
// of the homes inside it, and the image with its content tag when no other home's tag is left, as
// `dlhub rm` does.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { homeId } from '../../main/runtime/docker/image.js';

// `dlhub/NAME:KEY`, the name of an image by its content (a home's own tag adds `-<home id>`).
const CONTENT_TAG = /^dlhub\/[^:]+:[0-9a-f]+$/;

// Homes sit at most this deep below a suite's folder (tmp/home, tmp/homes/alice).
const HOME_DEPTH = 2;

/** Has this home recorded an image build (servables/NAME/build.json, written by a build or a pull)? */
function builtHere(home: string): boolean {
  try {
    return readdirSync(join(home, 'servables')).some((name) => existsSync(join(home, 'servables', name, 'build.json')));
  } catch {
    return false;
  }
}

/**
 * The DLHub homes at `dir` or below it that built or pulled an image (only those can have tagged
 * one: a suite whose homes never did asks the Docker engine nothing).
 */
export function homesUnder(dir: string, depth = HOME_DEPTH): string[] {
  if (!existsSync(dir)) return [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const isHome = entries.some((e) => e.name === 'servables' && e.isDirectory()) && builtHere(dir);
  const below = depth > 0 ? entries.filter((e) => e.isDirectory() && !e.isSymbolicLink()).flatMap((e) => homesUnder(join(dir, e.name), depth - 1)) : [];
  return isHome ? [dir, ...below] : below;
}

function docker(args: string[]): string | undefined {
  try {
    return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
  } catch {
    // No docker command, no engine, or the tag is already gone: nothing of ours to remove there.
    return undefined;
  }
}

/** The image tags of these homes (`dlhub/*` tags ending in one of their ids). */
export function homeImageTags(homes: readonly string[]): string[] {
  if (homes.length === 0) return [];
  const ids = new Set(homes.map(homeId));
  const listed = docker(['images', '--filter', 'reference=dlhub/*', '--format', '{{.Repository}}:{{.Tag}}']) ?? '';
  return listed.split('\n').filter((tag) => {
    const dash = tag.lastIndexOf('-');
    return dash > tag.lastIndexOf(':') && ids.has(tag.slice(dash + 1));
  });
}

/**
 * Remove the image tags of the DLHub homes in `dir`, and each image's content tag (so the image)
 * once no home's tag is left on it. Returns the tags removed. Never throws.
 */
export function removeHomeImageTags(dir: string): string[] {
  const tags = homeImageTags(homesUnder(dir));
  for (const tag of tags) {
    docker(['rmi', tag]);
    const contentTag = tag.slice(0, tag.lastIndexOf('-'));
    const left = docker(['image', 'inspect', '--format', '{{json .RepoTags}}', contentTag]);
    if (left === undefined) continue;
    // Content tags only (two content keys can name one image): no home uses it any more. Another
    // home's tag, or a name it was pushed under, keeps it.
    const names = JSON.parse(left) as string[] | null;
    if (names?.every((t) => CONTENT_TAG.test(t))) for (const t of names) docker(['rmi', t]);
  }
  return tags;
}
