import { rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import { pack } from 'tar-fs';
import { BuildError, errorMessage } from '../errors.js';
import type { BuildContext } from './context.js';

/** One step of an image build, parsed from the engine's "Step N/M : ..." lines. */
export interface BuildProgress {
  step: number;
  totalSteps: number;
  message: string;
}

/** Options of buildImage. */
export interface BuildOptions {
  docker: Dockerode;
  onProgress?: ((p: BuildProgress) => void) | undefined;
  /** Build even when an image with the content tag exists. */
  force?: boolean | undefined;
  /** A second tag for the image (one DLHub home's own), recorded in build.json and answered as `tag`. */
  alias?: string | undefined;
}

/** What buildImage did. */
export interface BuildResult {
  tag: string;
  imageId: string;
  rebuilt: boolean;
  seconds: number;
}

/** Written to $DLHUB_HOME/servables/<name>/build.json after each build. */
export interface BuildRecord {
  name: string;
  version: string | undefined;
  tag: string;
  imageId: string;
  contentKey: string;
  baseImage: string;
  builtAt: string;
  /** Pinned packages built with the base image's version instead (--accept-installed). */
  substitutions?: { package: string; wanted: string; installed: string }[];
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

const BASE_IMAGE_HINT =
  'Set DLHUB_BASE_IMAGE to an image this engine has (see `docker images`), or build one from Debian packages with `bash resources/base-image/build.sh` and use the tag it prints.';

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
}

/** Image id of `ref`, or undefined when the engine does not have it. */
async function imageId(docker: Dockerode, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

function follow(docker: Dockerode, stream: NodeJS.ReadableStream, onEvent: (e: BuildEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()), onEvent);
  });
}

/** Make sure the base image is present, pulling it when it is not; fails naming DLHUB_BASE_IMAGE. */
async function ensureBaseImage(docker: Dockerode, base: string): Promise<void> {
  if ((await imageId(docker, base)) !== undefined) return;
  let failure: string | undefined;
  try {
    await follow(docker, await docker.pull(base), (e) => {
      failure ??= e.errorDetail?.message ?? e.error;
    });
  } catch (err) {
    failure ??= errorMessage(err);
  }
  if (failure !== undefined || (await imageId(docker, base)) === undefined) {
    throw new BuildError('BUILD_FAILED', `Base image "${base}" is not on this machine and could not be pulled: ${failure ?? 'the pull produced no image'}.`, {
      hint: BASE_IMAGE_HINT,
      details: { baseImage: base },
    });
  }
}

async function writeRecord(ctx: BuildContext, record: BuildRecord): Promise<void> {
  const file = join(dirname(ctx.dir), 'build.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/**
 * Build the context's image through the engine, reporting "Step N/M" progress. An image that
 * already carries the content tag is reused unless `force` is set. Records build.json either way.
 */
export async function buildImage(ctx: BuildContext, opts: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const { docker } = opts;
  let id = opts.force ? undefined : await imageId(docker, ctx.tag);
  const rebuilt = id === undefined;
  if (id === undefined) {
    await ensureBaseImage(docker, ctx.baseImage);
    const lines: string[] = [];
    let failure: string | undefined;
    // No network unless the pip setting needs one: a build on a machine with no network is the same build everywhere, and nothing reaches out unasked.
    const stream = await docker.buildImage(pack(ctx.dir) as unknown as NodeJS.ReadableStream, { t: ctx.tag, rm: true, forcerm: true, pull: false, ...(ctx.network === true ? {} : { networkmode: 'none' }) });
    await follow(docker, stream, (e) => {
      for (const line of (e.stream ?? e.status ?? '').split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line.trimEnd());
        if (lines.length > 40) lines.shift();
        const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line.trim());
        if (step) opts.onProgress?.({ step: Number(step[1]), totalSteps: Number(step[2]), message: step[3] ?? '' });
      }
      if (e.error !== undefined || e.errorDetail !== undefined) failure ??= e.errorDetail?.message ?? e.error;
    }).catch((err: unknown) => {
      failure ??= errorMessage(err);
    });
    id = failure === undefined ? await imageId(docker, ctx.tag) : undefined;
    if (id === undefined) {
      const tail = lines.slice(-15).join('\n');
      // ensure_deps.py names the version the base image has; --accept-installed builds with it.
      // eslint-disable-next-line no-control-regex
      const plain = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, '').trim());
      // ensure_deps.py says in one line what pip could not find or reach (package, version, where it looked).
      const pip = plain.filter((l) => l.startsWith('dlhub: pip '));
      const pinned = pip.length > 0 ? pip : plain.filter((l) => /^dlhub: .*(?:but the base image has it version|the base image has)/.test(l));
      throw new BuildError('BUILD_FAILED', `Building image ${ctx.tag} failed: ${failure ?? 'the engine produced no image'}\n${pinned.length > 0 ? `${pinned.join('\n')}\n` : ''}--- last build output ---\n${tail}`, {
        hint: pip.length > 0
          ? 'Put the wheel of that version in the DLHUB_PIP_FIND_LINKS folder, point DLHUB_PIP_INDEX_URL at an index that has it, or change the pin in dlhub.json; without DLHUB_PIP, `dlhub build --accept-installed` uses the version the base image has.'
          : pinned.length > 0
            ? 'A pinned version cannot be installed here (pip is off: DLHUB_PIP unset). Build with `dlhub build --accept-installed` to use the version the base image has (recorded in the image labels and `dlhub describe`), change the pin in dlhub.json, or set DLHUB_PIP=1 with DLHUB_PIP_INDEX_URL or DLHUB_PIP_FIND_LINKS where pip can fetch it.'
            : 'Read the build output above; a missing Python package means the base image must provide it (DLHUB_BASE_IMAGE) or pip must install it (DLHUB_PIP=1).',
        details: { tag: ctx.tag, log: lines.slice(-15), ...(pip.length > 0 ? { pip } : {}) },
      });
    }
  }
  const tag = opts.alias ?? ctx.tag;
  if (opts.alias !== undefined) {
    const at = opts.alias.lastIndexOf(':');
    await docker.getImage(id).tag({ repo: opts.alias.slice(0, at), tag: opts.alias.slice(at + 1) });
  }
  await writeRecord(ctx, {
    name: ctx.name, version: ctx.version, tag, imageId: id, contentKey: ctx.contentKey, baseImage: ctx.baseImage, builtAt: new Date().toISOString(),
    ...(ctx.substitutions.length > 0 ? { substitutions: ctx.substitutions } : {}),
  });
  return { tag, imageId: id, rebuilt, seconds: (performance.now() - started) / 1000 };
}
