import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError } from '../../main/errors.js';
import { buildImage, type BuildProgress } from '../../main/packager/build.js';
import { prepareContext } from '../../main/packager/context.js';
import type { ServableMetadata } from '../../main/servable/metadata.js';
import { homePaths, type HomePaths } from '../../main/storage/home.js';
import { requireDocker, testBaseImage } from '../helpers/docker.js';

let docker: Docker;
let baseImage: string;
let tmp: string;
let home: HomePaths;
let src: string;
const name = `it-build-${process.pid}`;
// Hostile text must reach the metadata label unchanged and must not become an instruction.
const description = 'line one\nRUN touch /pwned "quoted" $(id) ${HOME} `id` back\\slash';

function metadata(deps?: Record<string, string>): ServableMetadata {
  return {
    datacite: { titles: [{ title: 'Add one' }], creators: [{ creatorName: 'Tester' }], descriptions: [{ description, descriptionType: 'Abstract' }] },
    dlhub: { name, version: '1.2.0', ...(deps ? { dependencies: { python: deps } } : {}) },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { method_details: { module: 'app', method_name: 'run' } } } },
  };
}

function dockerImages(): string[] {
  return execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `dlhub/${name}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

beforeAll(async () => {
  docker = await requireDocker();
  baseImage = testBaseImage();
  tmp = mkdtempSync(join(tmpdir(), 'dlhub-build-'));
  home = homePaths(join(tmp, 'home'));
  src = join(tmp, 'src');
  execFileSync('mkdir', ['-p', src]);
  writeFileSync(join(src, 'app.py'), 'def run(x):\n    return x + 1\n');
});

afterAll(() => {
  if (baseImage) for (const tag of dockerImages()) execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('buildImage against the real engine', () => {
  let firstTag = '';

  it('builds an image with the content tag, labels and progress, and records build.json', async () => {
    const ctx = await prepareContext(src, metadata({ numpy: '>=1.20' }), { home, baseImage });
    const progress: BuildProgress[] = [];
    const built = await buildImage(ctx, { docker, onProgress: (p) => progress.push(p), force: true });
    firstTag = built.tag;
    expect(built.rebuilt).toBe(true);
    expect(built.tag).toBe(ctx.tag);
    expect(built.tag).toMatch(new RegExp(`^dlhub/${name}:[0-9a-f]{16}$`));
    expect(progress.length).toBeGreaterThanOrEqual(8);
    expect(progress[0]).toMatchObject({ step: 1, totalSteps: progress[0]?.totalSteps });
    expect(progress.at(-1)?.step).toBe(progress[0]?.totalSteps);

    const info = JSON.parse(execFileSync('docker', ['image', 'inspect', built.tag], { encoding: 'utf8' }))[0];
    expect(info.Id).toBe(built.imageId);
    const labels = info.Config.Labels as Record<string, string>;
    expect(labels['org.dlhub.name']).toBe(name);
    expect(labels['org.dlhub.version']).toBe('1.2.0');
    expect(labels['org.dlhub.content-key']).toBe(ctx.contentKey);
    expect(JSON.parse(labels['org.dlhub.metadata'] ?? '{}').datacite.descriptions[0].description).toBe(description);
    expect(info.Config.Env).toContain('DLHUB_SERVABLE_DIR=/opt/dlhub/servable');
    expect(info.Config.Cmd).toEqual(['python3', '/opt/dlhub/runner/dlhub_runner.py']);
    // The injected RUN never ran: the file does not exist in the image.
    const ls = execFileSync('docker', ['run', '--rm', '--network', 'none', built.tag, 'sh', '-c', 'ls /pwned 2>&1; cat /opt/dlhub/servable/app.py'], { encoding: 'utf8' });
    expect(ls).toContain('No such file');
    expect(ls).toContain('return x + 1');

    const record = JSON.parse(readFileSync(join(home.servables, name, 'build.json'), 'utf8'));
    expect(record).toMatchObject({ name, version: '1.2.0', tag: built.tag, imageId: built.imageId, contentKey: ctx.contentKey, baseImage });
  });

  it('does not rebuild an unchanged servable', async () => {
    const ctx = await prepareContext(src, metadata({ numpy: '>=1.20' }), { home, baseImage });
    const again = await buildImage(ctx, { docker });
    expect(again.tag).toBe(firstTag);
    expect(again.rebuilt).toBe(false);
    expect(again.seconds).toBeLessThan(1);
  });

  it('gives a changed file a new tag and image', async () => {
    writeFileSync(join(src, 'app.py'), 'def run(x):\n    return x + 2\n');
    const ctx = await prepareContext(src, metadata({ numpy: '>=1.20' }), { home, baseImage });
    expect(ctx.tag).not.toBe(firstTag);
    const built = await buildImage(ctx, { docker });
    expect(built.rebuilt).toBe(true);
    expect(dockerImages()).toEqual(expect.arrayContaining([firstTag, built.tag]));
  });

  it('fails clearly when the base image is missing and cannot be pulled', async () => {
    const ctx = await prepareContext(src, metadata(), { home, baseImage: 'dlhub-missing/no-such-base:1' });
    const err = await buildImage(ctx, { docker }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).code).toBe('BUILD_FAILED');
    expect((err as BuildError).message).toContain('dlhub-missing/no-such-base:1');
    expect((err as BuildError).hint).toContain('DLHUB_BASE_IMAGE');
    expect((err as BuildError).hint).toContain('resources/base-image/build.sh');
  });

  it('fails naming a Python package the base image lacks when it has no pip', async () => {
    const ctx = await prepareContext(src, metadata({ 'no-such-package-xyz': '>=1.0' }), { home, baseImage });
    const err = await buildImage(ctx, { docker }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).message).toContain("'no-such-package-xyz'");
    expect((err as BuildError).message).toContain('base image must provide it');
  });
});
