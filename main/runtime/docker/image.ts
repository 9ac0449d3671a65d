/**
 * Servable images shared between DLHub homes. An image is named by content (`dlhub/<name>:<key>`),
 * so two homes that build the same servable share it; each home adds a tag of its own
 * (`dlhub/<name>:<key>-<home id>`) and runs from that. `rm` removes only this home's tag: the image
 * goes (with its content tag) when no home's tag is left, so Docker's own tag count is the
 * reference count and one home never removes what another runs.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BuildContext } from '../../packager/context.js';
import type { DockerClient } from '../docker-client.js';
import type { ArtifactBuildOptions, ArtifactRemoval, BuiltImage } from '../runtime.js';

/** A short, stable id of a DLHub home (its absolute path hashed), for its image tags. */
export function homeId(home: string): string {
  return createHash('sha256').update(resolve(home)).digest('hex').slice(0, 10);
}

/** This home's tag for an image whose content tag is `contentTag` (`repo:key`). */
export function homeTag(contentTag: string, home: string): string {
  return `${contentTag}-${homeId(home)}`;
}

/** The repository and content key of a content tag or a home tag. */
function parseTag(tag: string): { repo: string; key: string } {
  const at = tag.lastIndexOf(':');
  return { repo: tag.slice(0, at), key: (tag.slice(at + 1).split('-')[0]) ?? '' };
}

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
}

/** The image's tags, or undefined when the engine does not have it. */
async function tagsOf(client: DockerClient, ref: string): Promise<{ id: string; tags: string[] } | undefined> {
  try {
    const info = (await client.api.getImage(ref).inspect()) as { Id: string; RepoTags?: string[] | null };
    return { id: info.Id, tags: info.RepoTags ?? [] };
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

/** This home's tag of the servable's previous build here (build.json beside its context), if it has one. */
async function previousHomeTag(home: string, ctx: BuildContext): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(join(dirname(ctx.dir), 'build.json'), 'utf8')) as { tag?: unknown };
    return typeof record.tag === 'string' && record.tag.endsWith(`-${homeId(home)}`) ? record.tag : undefined;
  } catch {
    return undefined; // never built here
  }
}

/**
 * Build (or reuse) the context's image and tag it for this home; build.json records the home's tag.
 * A rebuild of changed files lets go of the previous build's image as `rm` would, so the image of
 * every earlier version does not stay behind.
 */
export async function buildHomeImage(client: DockerClient, home: string, ctx: BuildContext, opts: ArtifactBuildOptions): Promise<BuiltImage> {
  // Loaded here: tar-fs and the build code are not needed by run, search or the service's start-up.
  const { buildImage } = await import('../../packager/build.js');
  const previous = await previousHomeTag(home, ctx);
  const built = await buildImage(ctx, {
    docker: client.api,
    force: opts.force,
    alias: homeTag(ctx.tag, home),
    onProgress: opts.onProgress && ((p) => opts.onProgress?.({ step: p.step, total: p.totalSteps, message: p.message })),
  });
  // A worker still running the old image keeps it (the engine refuses to delete it): it stays tagged, as before.
  if (previous !== undefined && previous !== built.tag) await removeHomeImage(client, home, previous).catch(() => undefined);
  return { tag: built.tag, imageId: built.imageId, rebuilt: built.rebuilt, seconds: built.seconds };
}

/**
 * Remove this home's reference to an image: its tag, then the content tag and so the image when no
 * other home's tag is left. Says why the image was kept when it was.
 */
export async function removeHomeImage(client: DockerClient, home: string, tag: string): Promise<ArtifactRemoval> {
  if (!(await client.available())) return { removed: false, kept: 'the Docker engine is not answering' };
  const before = await tagsOf(client, tag);
  if (!before) return { removed: false };
  const { repo, key } = parseTag(tag);
  const contentTag = `${repo}:${key}`;
  const mine = new Set([tag, homeTag(contentTag, home)]);
  const others = before.tags.filter((t) => !mine.has(t) && t !== contentTag);
  const otherHomes = others.filter((t) => t.startsWith(`${contentTag}-`));
  if (otherHomes.length > 0 || others.length > 0) {
    // Untag ours only: removing a name the image has several of never deletes the image.
    for (const t of mine) if (before.tags.includes(t)) await client.removeImage(t, { force: false });
    const why = otherHomes.length > 0
      ? `${otherHomes.length === 1 ? 'another DLHub home uses it' : `${otherHomes.length} other DLHub homes use it`}`
      : `it is also tagged ${others.join(', ')}`;
    return { removed: false, kept: why };
  }
  await client.removeImage(before.id, { force: true });
  return { removed: true };
}
