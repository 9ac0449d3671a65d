import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { buildImage } from '../../main/packager/build.js';
import { prepareContext } from '../../main/packager/context.js';
import type { DockerWorkerSpec } from '../../main/runtime/docker.js';
import type { ServableMetadata } from '../../main/servable/metadata.js';
import { homePaths, type HomePaths } from '../../main/storage/home.js';
import { tempDir } from './home.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../resources/base-image/build.sh', import.meta.url));

/**
 * A client for the machine's Docker engine. Throws (never skips) when no engine answers, so a
 * suite that needs Docker fails loudly on a machine without one.
 */
export async function requireDocker(): Promise<Docker> {
  const docker = new Docker();
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref()),
    ]);
  } catch (err) {
    throw new Error(
      `These tests need a running Docker engine and none answered (${err instanceof Error ? err.message : String(err)}). ` +
        'Start dockerd (or Docker Desktop) and check that `docker info` works, then run the tests again.',
    );
  }
  return docker;
}

let cachedTag: string | undefined;

/** Tag of the Debian-built base image (python3, numpy, scikit-learn), built once by resources/base-image/build.sh. */
export function testBaseImage(): string {
  if (cachedTag) return cachedTag;
  const out = execFileSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  const tag = out.trim().split('\n').pop();
  if (!tag) throw new Error('resources/base-image/build.sh printed no image tag; run it by hand to see why.');
  cachedTag = tag;
  return tag;
}

/**
 * Ids of the worker containers that belong to one DLHub home (the org.dlhub.home label), running or
 * not. Tests count only their own: other suites and users share the engine.
 */
export function homeWorkerContainers(home: string): string[] {
  const out = execFileSync('docker', ['ps', '-aq', '--filter', 'label=org.dlhub.worker=1', '--filter', `label=org.dlhub.home=${resolve(home)}`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

/**
 * A fresh, unique DLHub home for one suite (its containers carry it as their label); cleanup removes
 * it with the image tags its builds made.
 */
export function suiteHome(prefix: string): { home: string; dir: string; cleanup: () => void } {
  const made = tempDir(prefix);
  return { dir: made.path, home: join(made.path, 'home'), cleanup: made.remove };
}

/** The metadata of a one-method Python servable: `run` of `app.py`, given a dict. */
export function probeMetadata(name: string, title: string): ServableMetadata {
  return {
    datacite: { titles: [{ title }], creators: [{ creatorName: 'Tester' }] },
    dlhub: { name, version: '1', files: { other: ['app.py'] } },
    servable: {
      type: 'Python static method',
      shim: 'python.PythonStaticMethodServable',
      methods: { run: { input: { type: 'dict' }, output: { type: 'python object' }, method_details: { module: 'app', method_name: 'run' } } },
    },
  };
}

/** Ids of one servable's containers (its org.dlhub.servable label), running or not. */
export function servableContainers(name: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=org.dlhub.servable=${name}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** What the Docker runtime needs to start a worker of a probe servable's image. */
export function probeSpec(name: string, image: string, extra: Partial<DockerWorkerSpec> = {}): DockerWorkerSpec {
  return { runtime: 'docker', name, servableDir: '/unused', runnerDir: '/unused', image, ...extra };
}

/**
 * Build the image of a one-method Python servable (`run` of `app.py`) in a fresh temp folder, for
 * suites that drive a runtime directly; `tmp` holds the home and the sources. `remove` deletes the
 * servable's containers, its image and the folder.
 */
export async function buildProbeServable(docker: Docker, opts: { prefix: string; name: string; title: string; app: string }): Promise<{ tmp: string; home: HomePaths; image: string; remove: () => void }> {
  const made = tempDir(opts.prefix);
  const tmp = made.path;
  const home = homePaths(join(tmp, 'home'));
  mkdirSync(home.run, { recursive: true });
  const src = join(tmp, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'app.py'), opts.app);
  const ctx = await prepareContext(src, probeMetadata(opts.name, opts.title), { home, baseImage: testBaseImage() });
  const image = (await buildImage(ctx, { docker })).tag;
  const remove = (): void => {
    for (const id of servableContainers(opts.name)) execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    execFileSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
    made.remove();
  };
  return { tmp, home, image, remove };
}
