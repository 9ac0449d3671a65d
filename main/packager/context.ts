import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import { BuildError, PathError } from '../errors.js';
import { SHIM_TYPES } from '../servable/metadata.js';
import type { ServableMetadata } from '../servable/metadata.js';
import type { HomePaths } from '../storage/home.js';
import { joinName } from '../storage/path-safety.js';
import { checkImageRef, checkName, renderDockerfile } from './dockerfile.js';
import { collectFiles, declaredFiles } from './files.js';
import { probeSubstitutions, type Substitution } from './installed.js';
import { buildNeedsNetwork, isHttpUrl, pipRequirements, pipSettings, wheelFolderFiles, type PipSettings } from './pip.js';
import { RUNNER_FILES, runnerResourcesDir } from './resources.js';

/** A prepared build context: the folder to send to the engine and the tag its content earns. */
export interface BuildContext {
  /** $DLHUB_HOME/servables/<name>/context */
  dir: string;
  /** sha256 hex over the base image name and every file of the context. */
  contentKey: string;
  /** dlhub/<name>:<first 16 hex of contentKey> */
  tag: string;
  /** Relative paths (POSIX) of every file in the context, sorted. */
  files: string[];
  name: string;
  version: string | undefined;
  baseImage: string;
  /** Pinned packages built with the base image's version instead (--accept-installed); empty otherwise. */
  substitutions: Substitution[];
  /** The build may reach the network (pip with an index or a links page); otherwise it runs with none. */
  network?: boolean | undefined;
}

/** Options of prepareContext. */
export interface ContextOptions {
  home: HomePaths;
  baseImage: string;
  /** Folder with dlhub_runner.py and ensure_deps.py; default resources/runner. */
  runnerDir?: string | undefined;
  /**
   * `dlhub build --accept-installed`: a pinned package the base image has in another version is
   * built with that version, and the substitution is recorded (image label, build.json, describe).
   * Needs `docker` to ask the base image.
   */
  acceptInstalled?: boolean | undefined;
  docker?: Dockerode | undefined;
  /** The pip setting (DLHUB_PIP, DLHUB_PIP_INDEX_URL, DLHUB_PIP_FIND_LINKS); read from the environment when not given. */
  pip?: PipSettings | undefined;
}

/** The repository part of a servable's image tag: Docker wants lower case and single separators. */
export function imageRepository(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `dlhub/${cleaned || 'servable'}`;
}

async function hashFiles(dir: string, files: readonly string[], baseImage: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`base-image\0${baseImage}\0`);
  for (const rel of files) {
    const abs = join(dir, ...rel.split('/'));
    // Path and size frame each file so no two different contexts feed the hash the same bytes.
    hash.update(`${rel}\0${(await stat(abs)).size}\0`);
    for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

async function put(dir: string, rel: string, data: string | { from: string }): Promise<void> {
  const target = join(dir, ...rel.split('/'));
  await mkdir(dirname(target), { recursive: true });
  if (typeof data === 'string') {
    await writeFile(target, data);
    return;
  }
  // O_NOFOLLOW and the fstat close the gap between path-safety's check and the copy: a file
  // swapped for a link or a fifo in between is refused, not followed.
  const handle = await open(data.from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) {
      throw new PathError('PATH_UNSAFE', `Refusing path ${JSON.stringify(data.from)}: it changed into something other than a regular file while the build read it.`, {
        hint: 'Leave the servable folder unchanged while `dlhub build` runs, then build again.', details: { path: data.from },
      });
    }
    await pipeline(handle.createReadStream({ autoClose: false }), createWriteStream(target));
  } finally {
    await handle.close();
  }
}

/** Move a finished context into place; the old one (if any) is removed only after the swap. */
async function swapInto(tmp: string, finalDir: string): Promise<void> {
  const old = `${tmp}.old`;
  try {
    await rename(finalDir, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rename(tmp, finalDir);
  await rm(old, { recursive: true, force: true });
}

/**
 * Write $DLHUB_HOME/servables/<name>/context/ (Dockerfile, servable/, runner/, requirements.json)
 * from a servable folder. The context is assembled in a temporary folder and renamed into place,
 * so a crash never leaves half a context.
 */
export async function prepareContext(sourceDir: string, metadata: ServableMetadata, opts: ContextOptions): Promise<BuildContext> {
  const name = checkName(metadata.dlhub.name);
  if (!Object.hasOwn(SHIM_TYPES, metadata.servable.shim)) {
    // Anything build accepts the runner must load: an unknown shim would build and then fail every run.
    throw new BuildError('BUILD_FAILED', `servable.shim ${JSON.stringify(metadata.servable.shim)} is not one the runner can load.`, {
      hint: `Use one of: ${Object.keys(SHIM_TYPES).join(', ')}.`, details: { shim: metadata.servable.shim },
    });
  }
  const version = metadata.dlhub.version;
  const baseImage = checkImageRef(opts.baseImage);
  const sources = await collectFiles(sourceDir, declaredFiles(metadata));
  const runnerDir = opts.runnerDir ?? runnerResourcesDir();
  const pip = opts.pip ?? pipSettings();
  // A local wheel folder travels in the context, so pip installs from it with no network at all.
  const wheels = pip.enabled && pip.findLinks !== undefined && !isHttpUrl(pip.findLinks) ? wheelFolderFiles(pip.findLinks) : undefined;

  const servableRoot = joinName(opts.home.servables, name);
  await mkdir(servableRoot, { recursive: true });
  const tmp = await mkdtemp(join(servableRoot, '.context-'));
  try {
    const files: string[] = [];
    for (const f of sources) {
      await put(tmp, `servable/${f.rel}`, { from: f.abs });
      files.push(`servable/${f.rel}`);
    }
    await put(tmp, 'servable/dlhub.json', `${JSON.stringify(metadata, null, 2)}\n`);
    files.push('servable/dlhub.json');
    // The whole runner folder goes in, so the runner may grow into several modules.
    const runnerFiles = await collectFiles(runnerDir, []);
    for (const required of RUNNER_FILES) {
      if (!runnerFiles.some((f) => f.rel === required)) {
        throw new BuildError('BUILD_FAILED', `The runner folder ${runnerDir} has no ${required}.`, {
          hint: 'Reinstall DLHub Desktop, or set DLHUB_RUNNER_DIR to a folder holding dlhub_runner.py and ensure_deps.py.',
        });
      }
    }
    for (const f of runnerFiles) {
      await put(tmp, `runner/${f.rel}`, { from: f.abs });
      files.push(`runner/${f.rel}`);
    }
    // Older SDKs wrote dependencies under servable; dlhub's entry wins where both name a package.
    const python = { ...metadata.servable.dependencies?.python, ...metadata.dlhub.dependencies?.python };
    const substitutions = opts.acceptInstalled && opts.docker ? await probeSubstitutions(opts.docker, baseImage, runnerDir, python) : [];
    for (const s of substitutions) python[s.package] = `==${s.installed}`;
    for (const w of wheels?.files ?? []) {
      await put(tmp, `wheels/${w}`, { from: join(wheels?.dir ?? '', w) });
      files.push(`wheels/${w}`);
    }
    // Without the setting requirements.json has no pip entry, and ensure_deps.py never runs pip.
    const requirements = pip.enabled ? { python, pip: pipRequirements(pip, wheels !== undefined) } : { python };
    await put(tmp, 'requirements.json', `${JSON.stringify(requirements, null, 2)}\n`);
    files.push('requirements.json');

    // The key covers the Dockerfile as rendered without its own content-key label (which is a
    // function of the key), so every instruction and label that shapes the image is hashed.
    const dockerfileOpts = { baseImage, name, version, metadata, substitutions, wheels: wheels !== undefined };
    await put(tmp, 'Dockerfile', renderDockerfile(dockerfileOpts));
    files.push('Dockerfile');
    files.sort();
    const contentKey = await hashFiles(tmp, files, baseImage);
    await put(tmp, 'Dockerfile', renderDockerfile({ ...dockerfileOpts, contentKey }));

    const dir = join(servableRoot, 'context');
    await swapInto(tmp, dir);
    return { dir, contentKey, tag: `${imageRepository(name)}:${contentKey.slice(0, 16)}`, files, name, version, baseImage, substitutions, network: buildNeedsNetwork(pip) };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
