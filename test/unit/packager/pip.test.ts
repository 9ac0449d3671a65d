import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildError } from '../../../main/errors.js';
import { prepareContext } from '../../../main/packager/context.js';
import { buildNeedsNetwork, isHttpUrl, pipRequirements, pipSettings, wheelFolderFiles } from '../../../main/packager/pip.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { homePaths } from '../../../main/storage/home.js';
import { makeWheel } from '../../helpers/wheel.js';

const RUNNER = fileURLToPath(new URL('../../../resources/runner', import.meta.url));
const PYTHON = '/usr/bin/python3';
let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlhub-pip-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function wheels(): string {
  const dir = join(tmp, 'wheels');
  mkdirSync(dir, { recursive: true });
  makeWheel(dir, { name: 'dlhub-tiny-units', version: '0.3.1', module: 'tiny_units', source: '__version__ = "0.3.1"\n' });
  return dir;
}

describe('the pip setting', () => {
  it('is off unless DLHUB_PIP says so, and reads the index and the wheel folder', () => {
    expect(pipSettings({})).toEqual({ enabled: false, indexUrl: undefined, findLinks: undefined });
    expect(pipSettings({ DLHUB_PIP: '0', DLHUB_PIP_INDEX_URL: 'http://172.17.0.1:8080/simple/' }).enabled).toBe(false);
    expect(pipSettings({ DLHUB_PIP: 'true', DLHUB_PIP_INDEX_URL: ' http://172.17.0.1:8080/simple/ ', DLHUB_PIP_FIND_LINKS: '/srv/wheels' })).toEqual({
      enabled: true, indexUrl: 'http://172.17.0.1:8080/simple/', findLinks: '/srv/wheels',
    });
  });

  it('refuses an index address that is not http(s), before any build', () => {
    for (const bad of ['file:///etc', 'ftp://x/simple', 'http://x/ --trusted-host evil', 'http://x/$(id)']) {
      expect(() => pipSettings({ DLHUB_PIP: '1', DLHUB_PIP_INDEX_URL: bad })).toThrow(BuildError);
    }
  });

  it('never reads whitespace, quotes or $ as part of an address (fuzzed)', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      const ok = isHttpUrl(s);
      if (ok) expect(s).toMatch(/^https?:\/\/[^\s"'`$\\]+$/);
      if (/[\s"'`$\\]/.test(s)) expect(ok).toBe(false);
    }));
    fc.assert(fc.property(fc.string(), fc.string(), (flag, links) => {
      const s = pipSettings({ DLHUB_PIP: flag, DLHUB_PIP_FIND_LINKS: links });
      expect(typeof s.enabled).toBe('boolean');
    }));
  });

  it('says where pip looks, and needs the network only for an index or a links page', () => {
    const off = pipSettings({});
    expect(buildNeedsNetwork(off)).toBe(false);
    const folder = pipSettings({ DLHUB_PIP: '1', DLHUB_PIP_FIND_LINKS: '/srv/wheels' });
    expect(buildNeedsNetwork(folder)).toBe(false);
    expect(pipRequirements(folder, true)).toEqual({ findLinks: '/opt/dlhub/wheels', source: 'the wheel folder /srv/wheels (DLHUB_PIP_FIND_LINKS)' });
    const index = pipSettings({ DLHUB_PIP: '1', DLHUB_PIP_INDEX_URL: 'http://172.17.0.1:8080/simple/' });
    expect(buildNeedsNetwork(index)).toBe(true);
    expect(pipRequirements(index, false)).toEqual({ indexUrl: 'http://172.17.0.1:8080/simple/', source: 'the package index http://172.17.0.1:8080/simple/ (DLHUB_PIP_INDEX_URL)' });
    expect(buildNeedsNetwork(pipSettings({ DLHUB_PIP: '1' }))).toBe(true);
    expect(pipRequirements(pipSettings({ DLHUB_PIP: '1' }), false).source).toContain('PyPI');
  });

  it('takes the wheels of a wheel folder, and names a folder that is missing or has none', () => {
    const dir = wheels();
    writeFileSync(join(dir, 'notes.txt'), 'x');
    symlinkSync(join(dir, 'notes.txt'), join(dir, 'linked-1.0-py3-none-any.whl'));
    expect(wheelFolderFiles(dir)).toEqual({ dir, files: ['dlhub_tiny_units-0.3.1-py3-none-any.whl'] });
    expect(() => wheelFolderFiles(join(tmp, 'nowhere'))).toThrow(/DLHUB_PIP_FIND_LINKS names .*nowhere/);
    mkdirSync(join(tmp, 'empty'));
    expect(() => wheelFolderFiles(join(tmp, 'empty'))).toThrow(/holds no \.whl/);
  });
});

describe('a build context with the pip setting', () => {
  function metadata(): ServableMetadata {
    return {
      datacite: { titles: [{ title: 'Units' }], creators: [{ creatorName: 'Tester' }] },
      dlhub: { name: 'units', version: '1', dependencies: { python: { 'dlhub-tiny-units': '0.3.1' } }, files: { other: ['app.py'] } },
      servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { method_details: { module: 'app', method_name: 'run' } } } },
    };
  }

  it('carries the wheel folder into the image, and without the setting holds no pip entry and no wheels', async () => {
    const src = join(tmp, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'app.py'), 'def run(x):\n    return x\n');
    const home = homePaths(join(tmp, 'home'));
    const folder = wheels();
    const on = await prepareContext(src, metadata(), { home, baseImage: 'python:3.11-slim', pip: pipSettings({ DLHUB_PIP: '1', DLHUB_PIP_FIND_LINKS: folder }) });
    expect(on.files).toContain('wheels/dlhub_tiny_units-0.3.1-py3-none-any.whl');
    expect(on.network).toBe(false);
    expect(JSON.parse(readFileSync(join(on.dir, 'requirements.json'), 'utf8'))).toEqual({
      python: { 'dlhub-tiny-units': '0.3.1' },
      pip: { findLinks: '/opt/dlhub/wheels', source: `the wheel folder ${folder} (DLHUB_PIP_FIND_LINKS)` },
    });
    const dockerfile = readFileSync(join(on.dir, 'Dockerfile'), 'utf8');
    expect(dockerfile.indexOf('COPY wheels/ /opt/dlhub/wheels/')).toBeLessThan(dockerfile.indexOf('ensure_deps.py'));

    const off = await prepareContext(src, metadata(), { home, baseImage: 'python:3.11-slim', pip: pipSettings({ DLHUB_PIP_FIND_LINKS: folder }) });
    expect(off.files.some((f) => f.startsWith('wheels/'))).toBe(false);
    expect(JSON.parse(readFileSync(join(off.dir, 'requirements.json'), 'utf8'))).toEqual({ python: { 'dlhub-tiny-units': '0.3.1' } });
    expect(readFileSync(join(off.dir, 'Dockerfile'), 'utf8')).not.toContain('wheels');
    expect(off.contentKey).not.toBe(on.contentKey);
  });
});

describe('ensure_deps.py and pip', () => {
  function ensure(requirements: unknown): { status: number | null; out: string; err: string } {
    const file = join(tmp, 'requirements.json');
    writeFileSync(file, JSON.stringify(requirements));
    const r = spawnSync(PYTHON, [join(RUNNER, 'ensure_deps.py'), file], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, out: r.stdout, err: r.stderr };
  }

  it('without the setting never runs pip, even where the interpreter has it, and says how to turn it on', () => {
    expect(spawnSync(PYTHON, ['-c', 'import pip']).status).toBe(0);
    const r = ensure({ python: { 'dlhub-tiny-units': '0.3.1' } });
    expect(r.status).toBe(1);
    expect(r.out).not.toContain('pip installs');
    expect(r.err).toContain("Python package 'dlhub-tiny-units' 0.3.1");
    expect(r.err).toContain('pip is off (DLHUB_PIP unset)');
  });

  it('hands pip the index, the links, --no-index for a folder alone, and trusts an http index the setting names', () => {
    const command = (pip: unknown): string[] => {
      const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(RUNNER)}); import ensure_deps; print(json.dumps(ensure_deps.pip_command(["a==1"], json.loads(sys.argv[1]))[1:]))`;
      return JSON.parse(spawnSync(PYTHON, ['-c', code, JSON.stringify(pip)], { encoding: 'utf8' }).stdout) as string[];
    };
    expect(command({ findLinks: '/opt/dlhub/wheels' })).toEqual(['-m', 'pip', 'install', '--no-cache-dir', '--no-index', '--find-links', '/opt/dlhub/wheels', 'a==1']);
    expect(command({ indexUrl: 'http://172.17.0.1:8080/simple/' })).toEqual(['-m', 'pip', 'install', '--no-cache-dir', '--index-url', 'http://172.17.0.1:8080/simple/', '--trusted-host', '172.17.0.1:8080', 'a==1']);
    expect(command({ indexUrl: 'https://pypi.example.org/simple/' })).toEqual(['-m', 'pip', 'install', '--no-cache-dir', '--index-url', 'https://pypi.example.org/simple/', 'a==1']);
    expect(command({})).toEqual(['-m', 'pip', 'install', '--no-cache-dir', 'a==1']);
  });

  it('a pinned version the wheel folder lacks fails naming the package, the version, where pip looked and what is there', () => {
    const dir = wheels();
    const r = ensure({ python: { 'dlhub-tiny-units': '9.9.9' }, pip: { findLinks: dir, source: `the wheel folder ${dir}` } });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain(`dlhub: pip installs dlhub-tiny-units==9.9.9 from the wheel folder ${dir}`);
    expect(r.err).toContain(`dlhub: pip found no dlhub-tiny-units 9.9.9 in the wheel folder ${dir} (versions there: 0.3.1)`);
  });
});
