import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { DEBIAN_PACKAGES, debianPlan, normalizeDistribution } from '../../../main/packager/debian-packages.js';
import { debianSuiteOf, frameworkPlan, pipEnabled, withFrameworkBase } from '../../../main/packager/framework-images.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';

function metadata(python: Record<string, string | null>, older: Record<string, string | null> = {}): ServableMetadata {
  return {
    datacite: { titles: [{ title: 't' }], creators: [] },
    dlhub: { name: 'm', dependencies: { python } },
    servable: { type: 'Torch Model', shim: 'torch.TorchServable', dependencies: { python: older }, methods: { run: {} } },
  };
}

describe('the framework -> Debian package table', () => {
  it('maps the frameworks the base lacks to their Debian packages, sorted and once each, and leaves the base\'s own out', () => {
    expect(debianPlan({ Torch: '1.13', numpy: null, 'scikit-learn': '1.2', Pillow: null, scikit_image: null, onnx: '' })).toEqual({
      packages: ['python3-onnx', 'python3-pil', 'python3-skimage', 'python3-torch'],
      unmapped: [],
    });
  });

  it('names what Debian lacks (onnxruntime, tensorflow) and keeps unknown names without a reason', () => {
    const plan = debianPlan({ onnxruntime: null, tensorflow: '2.15', 'my-own-lib': null });
    expect(plan.packages).toEqual([]);
    expect(plan.unmapped).toEqual([
      { name: 'onnxruntime', why: 'Debian has no onnxruntime package' },
      { name: 'tensorflow', why: 'Debian has no TensorFlow package' },
      { name: 'my-own-lib', why: undefined },
    ]);
  });

  it('normalises distribution names as PEP 503 does', () => {
    expect(normalizeDistribution(' Scikit_Image ')).toBe('scikit-image');
    expect(normalizeDistribution('ruamel.yaml')).toBe('ruamel-yaml');
    for (const [dist, pkg] of Object.entries(DEBIAN_PACKAGES)) {
      expect(normalizeDistribution(dist)).toBe(dist);
      expect(pkg).toMatch(/^python3-[a-z0-9-]+$/);
    }
  });

  it('reads dlhub and servable dependencies; with pip on, the image also gets pip', () => {
    expect(frameworkPlan(metadata({ torch: '1.13' }, { pillow: null })).packages).toEqual(['python3-pil', 'python3-torch']);
    expect(frameworkPlan(metadata({ torch: '2.1' }), true).packages).toEqual(['python3-pip', 'python3-torch']);
    expect(pipEnabled({ DLHUB_PIP: '1' })).toBe(true);
    expect(pipEnabled({})).toBe(false);
  });

  it('knows a Debian-built base by its tag', () => {
    expect(debianSuiteOf('dlhub-base:bookworm-a741a509a3a8')).toBe('bookworm');
    expect(debianSuiteOf('dlhub-framework-base:trixie-0123456789ab')).toBe('trixie');
    expect(debianSuiteOf('python:3.11-slim')).toBeUndefined();
    expect(debianSuiteOf('dlhub-base:bookworm-a741a509a3a8; rm -rf /')).toBeUndefined();
  });
});

describe('withFrameworkBase', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A stand-in for build.sh that records its environment and "builds" by printing its tag. */
  function fakeScript(): { script: string; log: string } {
    const dir = mkdtempSync(join(tmpdir(), 'dlhub-fw-'));
    dirs.push(dir);
    const log = join(dir, 'calls');
    const script = join(dir, 'build.sh');
    writeFileSync(script, `#!/usr/bin/env bash\necho "$* [$DLHUB_BASE_SUITE] [$DLHUB_BASE_PACKAGES]" >> '${log}'\necho "I: Retrieving python3-torch" >&2\necho "dlhub-base:$DLHUB_BASE_SUITE-0123456789ab"\n`);
    chmodSync(script, 0o755);
    return { script, log };
  }

  function fakeDocker(present: Set<string>): { docker: Dockerode; tagged: string[]; removed: string[] } {
    const tagged: string[] = [];
    const removed: string[] = [];
    const docker = {
      getImage: (ref: string) => ({
        inspect: () => (present.has(ref) ? Promise.resolve({ Id: ref }) : Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 }))),
        tag: (o: { repo: string; tag: string }) => {
          tagged.push(`${ref} -> ${o.repo}:${o.tag}`);
          present.add(`${o.repo}:${o.tag}`);
          return Promise.resolve();
        },
        remove: () => {
          removed.push(ref);
          return Promise.resolve();
        },
      }),
    } as unknown as Dockerode;
    return { docker, tagged, removed };
  }

  it('builds the framework base once with build.sh and the packages, with progress, under its own repository', async () => {
    const { script, log } = fakeScript();
    const present = new Set<string>();
    const { docker, tagged, removed } = fakeDocker(present);
    const progress: string[] = [];
    const chosen = { image: 'dlhub-base:bookworm-a741a509a3a8', note: undefined };
    const first = await withFrameworkBase(chosen, metadata({ torch: '1.13' }), { docker, script, pip: false, onProgress: (e) => progress.push(`${e.phase}: ${e.message}`) });
    expect(first.image).toBe('dlhub-framework-base:bookworm-0123456789ab');
    expect(first.note).toBe('Framework base dlhub-framework-base:bookworm-0123456789ab (built now) adds python3-torch to dlhub-base:bookworm-a741a509a3a8.');
    expect(progress).toContain('base: Retrieving python3-torch');
    expect(tagged).toEqual(['dlhub-base:bookworm-0123456789ab -> dlhub-framework-base:bookworm-0123456789ab']);
    expect(removed).toEqual(['dlhub-base:bookworm-0123456789ab']);
    const again = await withFrameworkBase(chosen, metadata({ torch: '1.13' }), { docker, script, pip: false });
    expect(again.note).toContain('(cached)');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['--print-tag [bookworm] [python3-torch]', ' [bookworm] [python3-torch]', '--print-tag [bookworm] [python3-torch]']);
  });

  it('leaves any other base, a servable without frameworks, and a machine without Docker as they are', async () => {
    const { script } = fakeScript();
    const { docker } = fakeDocker(new Set());
    const named = { image: 'python:3.11-slim', note: undefined };
    expect(await withFrameworkBase(named, metadata({ torch: '1.13' }), { docker, script })).toBe(named);
    const plain = { image: 'dlhub-base:bookworm-a741a509a3a8', note: undefined };
    expect(await withFrameworkBase(plain, metadata({ numpy: null }), { docker, script })).toBe(plain);
    expect(await withFrameworkBase(plain, metadata({ torch: null }), { docker: undefined, script })).toBe(plain);
    const onnx = await withFrameworkBase(plain, metadata({ onnxruntime: null }), { docker, script, pip: false });
    expect(onnx.image).toBe(plain.image);
    expect(onnx.note).toContain('Debian has no onnxruntime package');
  });
});
