// A servable whose dependencies name a framework the default Debian base lacks (torch, onnx,
// pillow, ...) is built on a base image that has it: the same recipe (resources/base-image/build.sh)
// with those Debian packages added, built once and then reused by its content key.
import { spawn } from 'node:child_process';
import type Dockerode from 'dockerode';
import { BuildError } from '../errors.js';
import { assetPath } from '../servable/assets.js';
import type { ServableMetadata } from '../servable/metadata.js';
import { debianPlan, type DebianPlan } from './debian-packages.js';
import { pipSettings } from './pip.js';

/**
 * Framework bases live in their own repository, so "the newest dlhub-base image" (the default base
 * on a machine without python:3.11-slim) stays the plain one for every other servable.
 */
export const FRAMEWORK_BASE_REPOSITORY = 'dlhub-framework-base';

/** The base image a build uses and the sentence the build's output shows about it. */
export interface BaseChoice {
  image: string;
  note: string | undefined;
}

/** Options of withFrameworkBase. */
export interface FrameworkBaseOptions {
  /** The engine; without one (no Docker) the base is left as chosen. */
  docker: Dockerode | undefined;
  onProgress?: ((e: { phase: string; step: number; total: number; message: string }) => void) | undefined;
  /** DLHUB_PIP=1: pip installs the pinned versions (the image gets pip) instead of Debian's. */
  pip?: boolean | undefined;
  /** resources/base-image/build.sh; tests may point elsewhere. */
  script?: string | undefined;
}

/** Is the pip setting on (DLHUB_PIP=1)? Off by default: no network is assumed. */
export function pipEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return pipSettings(env).enabled;
}

/** The Debian suite of a dlhub-base tag ("dlhub-base:bookworm-1a2b..." -> "bookworm"), or undefined for any other image. */
export function debianSuiteOf(image: string): string | undefined {
  const m = /^dlhub-(?:framework-)?base:([a-z]+)-[0-9a-f]{12}$/.exec(image);
  return m?.[1];
}

/** The Debian packages a servable's base must add, from dlhub.dependencies and the older servable.dependencies. */
export function frameworkPlan(metadata: ServableMetadata, pip = false): DebianPlan {
  const deps = { ...metadata.servable.dependencies?.python, ...metadata.dlhub.dependencies?.python };
  const plan = debianPlan(deps);
  // With pip on, ensure_deps.py installs the pins; the image needs pip (Debian's python3-pip) for that.
  if (pip && Object.keys(deps).length > 0) plan.packages = [...new Set([...plan.packages, 'python3-pip'])].sort();
  return plan;
}

function run(script: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void): Promise<{ code: number; stdout: string; tail: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    const tail: string[] = [];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, tail }));
  });
}

// One build per tag in this process: two builds of torch servables share the first one's base.
const building = new Map<string, Promise<string>>();

async function hasImage(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

async function buildFrameworkBase(docker: Dockerode, suite: string, packages: string[], opts: FrameworkBaseOptions): Promise<{ tag: string; built: boolean }> {
  const script = opts.script ?? assetPath('resources', 'base-image', 'build.sh');
  const env = { ...process.env, DLHUB_BASE_SUITE: suite, DLHUB_BASE_PACKAGES: packages.join(' ') };
  // build.sh's own tag carries the content key (recipe, suite, packages): the framework tag reuses it.
  const printed = await run(script, ['--print-tag'], env, () => undefined);
  const debianTag = printed.stdout.trim().split('\n').pop() ?? '';
  const key = /^dlhub-base:(.+)$/.exec(debianTag)?.[1];
  if (printed.code !== 0 || key === undefined) {
    throw new BuildError('BUILD_FAILED', `resources/base-image/build.sh --print-tag answered ${JSON.stringify(debianTag)} (exit ${printed.code}).`, { hint: 'Run `bash resources/base-image/build.sh --print-tag` to see why.' });
  }
  const tag = `${FRAMEWORK_BASE_REPOSITORY}:${key}`;
  if (await hasImage(docker, tag)) return { tag, built: false };
  const pending = building.get(tag) ?? (async () => {
    let step = 0;
    const say = (message: string): void => opts.onProgress?.({ phase: 'base', step, total: step + 1, message });
    say(`Building the framework base image ${tag} with ${packages.join(', ')} from Debian packages (once; a few minutes)`);
    const res = await run(script, [], env, (line) => {
      step += 1;
      say(line.replace(/^I: /, ''));
    });
    const made = res.stdout.trim().split('\n').pop() ?? '';
    if (res.code !== 0 || made !== debianTag) {
      throw new BuildError('BUILD_FAILED', `Building the framework base image with ${packages.join(' ')} failed (exit ${res.code}):\n${res.tail.join('\n')}`, {
        hint: 'build.sh needs debootstrap, root and a Debian mirror in apt\'s sources; or set DLHUB_BASE_IMAGE to an image that has the framework.',
        details: { packages },
      });
    }
    // Moved to its own repository so the default base stays the plain one (see FRAMEWORK_BASE_REPOSITORY).
    const [repo, ver] = [FRAMEWORK_BASE_REPOSITORY, key];
    await docker.getImage(debianTag).tag({ repo, tag: ver });
    await docker.getImage(debianTag).remove({ force: false, noprune: true }).catch(() => undefined);
    return tag;
  })();
  building.set(tag, pending);
  try {
    await pending;
  } finally {
    building.delete(tag);
  }
  return { tag, built: true };
}

/**
 * The base image for a servable: the chosen one, or, when it is a Debian-built base (dlhub-base:*)
 * and the servable's dependencies name frameworks it lacks, a framework base with their Debian
 * packages added (built once, then reused by content key). Any other base (one the user named,
 * python:3.11-slim) is left as it is: it is assumed to have the frameworks or pip.
 */
export async function withFrameworkBase(chosen: BaseChoice, metadata: ServableMetadata, opts: FrameworkBaseOptions): Promise<BaseChoice> {
  const suite = debianSuiteOf(chosen.image);
  if (suite === undefined || opts.docker === undefined) return chosen;
  const pip = opts.pip ?? pipEnabled();
  const plan = frameworkPlan(metadata, pip);
  const missing = plan.unmapped.filter((u) => u.why !== undefined).map((u) => `${u.name} (${u.why ?? ''})`);
  const lacking = missing.length > 0 ? ` Not in Debian: ${missing.join(', ')}; the build fails unless the image has them (DLHUB_BASE_IMAGE) or DLHUB_PIP=1 can install them.` : '';
  if (plan.packages.length === 0) return missing.length > 0 ? { image: chosen.image, note: [chosen.note, lacking.trim()].filter(Boolean).join(' ') } : chosen;
  const { tag, built } = await buildFrameworkBase(opts.docker, suite, plan.packages, opts);
  // Short enough for one progress line: the tag, what it adds, and whether it was made now.
  const byPip = pip ? ' pip (DLHUB_PIP) installs the pinned versions the image lacks.' : '';
  const note = `Framework base ${tag} (${built ? 'built now' : 'cached'}) adds ${plan.packages.join(' ')} to ${chosen.image}.${lacking}${byPip}`;
  return { image: tag, note };
}
