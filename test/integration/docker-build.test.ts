import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError } from '../../main/errors.js';
import { buildImage, type BuildProgress } from '../../main/packager/build.js';
import { prepareContext } from '../../main/packager/context.js';
import type { ServableMetadata } from '../../main/servable/metadata.js';
import { homePaths, type HomePaths } from '../../main/storage/home.js';
import { validateForPublish } from '../../main/servable/validate.js';
import { json, runCli } from '../helpers/cli.js';
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

function dockerImages(repo = name): string[] {
  return execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `dlhub/${repo}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
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
    const images = dockerImages();
    const first = JSON.parse(readFileSync(join(home.servables, name, 'build.json'), 'utf8')) as { imageId: string };
    const again = await buildImage(ctx, { docker });
    expect(again.tag).toBe(firstTag);
    expect(again.rebuilt).toBe(false);
    expect(again.imageId).toBe(first.imageId);
    expect(dockerImages()).toEqual(images);
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

// The dlhub.json DLHub's SDK README shows for iris_svm (scikit-learn 0.19.1 pinned) builds
// and runs unchanged through Docker; offline, the pin is refused naming the version the base image
// has, and --accept-installed builds with it, recording the substitution.
describe('DLHub SDK README iris_svm through Docker (CLI)', () => {
  const CORPUS = fileURLToPath(new URL('../fixtures/dlhub/documents/iris_svm', import.meta.url));
  let env: Record<string, string>;
  let dir: string;

  beforeAll(() => {
    dir = join(tmp, 'iris_svm');
    cpSync(CORPUS, dir, { recursive: true });
    env = { DLHUB_HOME: join(tmp, 'cli-home'), DLHUB_BASE_IMAGE: baseImage };
  });

  afterAll(async () => {
    await runCli(['rm', 'iris_svm'], env);
    // Only containers of this suite's own image: the engine is shared with other suites.
    for (const tag of dockerImages('iris-svm')) {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', `ancestor=${tag}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const id of ids) execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
      execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
    }
  });

  it('without --accept-installed the build stops naming the pin and the version the base image has', async () => {
    const r = await runCli(['build', dir, '--json'], env);
    expect(r.code).not.toBe(0);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).toContain("'scikit-learn' 0.19.1");
    expect(out).toContain('version 1.2.1 installed');
    expect(out).toContain('--accept-installed');
  });

  it('--accept-installed builds with the base image\'s version, records it, and runs with the model\'s own answers', async () => {
    const built = json<{ image?: { tag: string } }>(await runCli(['build', dir, '--accept-installed', '--json'], env));
    expect(built.image?.tag).toMatch(/^dlhub\/iris-svm:/);
    const labels = JSON.parse(execFileSync('docker', ['inspect', '--format', '{{json .Config.Labels}}', built.image!.tag], { encoding: 'utf8' })) as Record<string, string>;
    expect(JSON.parse(labels['org.dlhub.substitutions']!)).toEqual([{ package: 'scikit-learn', wanted: '0.19.1', installed: '1.2.1' }]);
    // The document in the image is the user's, pin and all.
    expect(JSON.parse(labels['org.dlhub.metadata']!).servable.dependencies.python['scikit-learn']).toBe('0.19.1');

    const described = json<{ substitutions?: unknown[] }>(await runCli(['describe', 'iris_svm', '--json'], env));
    expect(described.substitutions).toEqual([{ package: 'scikit-learn', wanted: '0.19.1', installed: '1.2.1' }]);
    expect((await runCli(['describe', 'iris_svm'], env)).stdout).toMatch(/substituted\s+scikit-learn 1\.2\.1 \(dlhub\.json pins 0\.19\.1/);

    const expected = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8')) as { input: number[][]; output: number[][] };
    const ran = json<{ output: number[][]; runtime: string }>(await runCli(['run', 'iris_svm', '--input', JSON.stringify(expected.input), '--runtime', 'docker', '--no-cache', '--json'], env));
    expect(ran.runtime).toBe('docker');
    ran.output.forEach((row, i) => row.forEach((p, j) => expect(p).toBeCloseTo(expected.output[i]![j]!, 9)));
  });

  it('describe --dlhub prints only DLHub\'s published shape, valid in strict publish mode', async () => {
    const r = await runCli(['describe', 'iris_svm', '--dlhub'], env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as ServableMetadata;
    expect(validateForPublish(doc).dlhub.files?.model).toBe('model.pkl');
    expect(doc.dlhub.name).toBe('iris_svm');
  });
});
