/**
 * The pip setting, offline: a small pure-Python wheel Debian has no package of is made here and
 * served from a wheel folder carried into the build, or from a PEP 503 simple index served on the
 * Docker bridge. With DLHUB_PIP=1 the servable imports the pinned version on Docker; a pin the
 * index lacks fails naming the package and the version; without the setting nothing reaches out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { homeWorkerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';
import { makeWheel } from '../helpers/wheel.js';

const DIST = 'dlhub-tiny-units';
const APP = `import importlib.metadata
import tiny_units


def run(x):
    return {"version": tiny_units.__version__, "metadata": importlib.metadata.version("${DIST}"), "file": tiny_units.__file__}
`;

let tmp: { dir: string; cleanup: () => void };
let home: string;
let base: Record<string, string>;
let folder: string;
let index: Server;
let indexUrl: string;
const requested: string[] = [];

function dir(name: string): string {
  return join(tmp.dir, name);
}

/** A one-method servable that imports the test wheel's module, pinned to `version`. */
function servable(name: string, version: string): string {
  const src = dir(name);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'app.py'), APP);
  writeFileSync(join(src, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: 'Tiny units' }], creators: [{ creatorName: 'Tester, Ann' }] },
    dlhub: { name, version: '1', files: { other: ['app.py'] }, dependencies: { python: { [DIST]: version } } },
    servable: {
      type: 'Python static method', shim: 'python.PythonStaticMethodServable',
      methods: { run: { input: { type: 'python object' }, output: { type: 'python object' }, method_details: { module: 'app', method_name: 'run' } } },
    },
  }, null, 2));
  return src;
}

/** A PEP 503 simple index of the wheels in `wheels`, listening on the Docker bridge's gateway address. */
async function serveIndex(wheels: string[], host: string): Promise<Server> {
  const files = new Map(wheels.map((w) => [basename(w), readFileSync(w)]));
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    requested.push(url);
    if (url === `/simple/${DIST}/`) {
      const links = [...files].map(([name, data]) => `<a href="/files/${name}#sha256=${createHash('sha256').update(data).digest('hex')}">${name}</a>`);
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body>${links.join('\n')}</body></html>`);
      return;
    }
    const file = files.get(url.replace(/^\/files\//, ''));
    if (url.startsWith('/files/') && file) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(file);
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((ok) => server.listen(0, host, ok));
  return server;
}

beforeAll(async () => {
  await requireDocker();
  tmp = tempDir('dlhub-pip-');
  home = dir('home');
  base = { DLHUB_HOME: home, DLHUB_BASE_IMAGE: testBaseImage() };
  folder = dir('wheels');
  mkdirSync(folder);
  makeWheel(folder, { name: DIST, version: '0.3.1', module: 'tiny_units', source: '__version__ = "0.3.1"\n' });
  // The index holds another version than the folder, so each test shows which one pip used.
  const served = dir('served');
  mkdirSync(served);
  const wheel = makeWheel(served, { name: DIST, version: '0.4.0', module: 'tiny_units', source: '__version__ = "0.4.0"\n' });
  const gateway = execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}'], { encoding: 'utf8' }).trim();
  index = await serveIndex([wheel], gateway);
  indexUrl = `http://${gateway}:${(index.address() as AddressInfo).port}/simple/`;
}, 900_000);

afterAll(async () => {
  index?.close();
  if (!tmp) return;
  for (const name of ['units', 'units-index']) await runCli(['rm', name], base);
  for (const id of homeWorkerContainers(home)) spawnSync('docker', ['rm', '-f', id]);
  tmp.cleanup();
});

describe('with DLHUB_PIP=1', () => {
  it('pip installs the pinned version from a wheel folder (no network), and the servable imports it on Docker', async () => {
    const env = { ...base, DLHUB_PIP: '1', DLHUB_PIP_FIND_LINKS: folder };
    const built = await runCli(['build', servable('units', '0.3.1')], env);
    expect(built.code, built.stderr).toBe(0);
    // Debian's pip comes with the framework base when the setting is on.
    expect(built.stderr).toMatch(/Framework base dlhub-framework-base:bookworm-[0-9a-f]{12} \((built now|cached)\) adds python3-pip/);
    const r = await runCli(['run', 'units', '--input', '{}', '--runtime', 'docker', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r)['output'] as Record<string, string>;
    expect(out).toMatchObject({ version: '0.3.1', metadata: '0.3.1' });
    // Installed by pip beside Debian's packages, never into them.
    expect(out['file']).toMatch(/^\/usr\/local\/lib\/python3\.\d+\/dist-packages\/tiny_units\/__init__\.py$/);
  }, 1_200_000);

  it('pip installs the pinned version from a package index (DLHUB_PIP_INDEX_URL) served on the Docker bridge', async () => {
    requested.length = 0;
    const env = { ...base, DLHUB_PIP: '1', DLHUB_PIP_INDEX_URL: indexUrl };
    const built = await runCli(['build', servable('units-index', '0.4.0')], env);
    expect(built.code, built.stderr).toBe(0);
    expect(requested).toContain(`/simple/${DIST}/`);
    const r = await runCli(['run', 'units-index', '--input', '{}', '--runtime', 'docker', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)['output']).toMatchObject({ version: '0.4.0', metadata: '0.4.0' });
  }, 600_000);

  it('a pinned version the index lacks fails the build naming the package and the version', async () => {
    const env = { ...base, DLHUB_PIP: '1', DLHUB_PIP_INDEX_URL: indexUrl };
    const r = await runCli(['build', servable('units-missing', '9.9.9'), '--json'], env);
    expect(r.code).not.toBe(0);
    const error = json<{ error: { code: string; message: string; hint: string } }>(r).error;
    expect(error.code).toBe('BUILD_FAILED');
    expect(error.message).toContain(`dlhub: pip found no ${DIST} 9.9.9 in the package index ${indexUrl} (DLHUB_PIP_INDEX_URL) (versions there: 0.4.0)`);
    expect(error.hint).toContain('DLHUB_PIP_FIND_LINKS');
  }, 600_000);
});

describe('without the setting', () => {
  it('nothing reaches out: the index is never asked, and the build says the package is missing and pip is off', async () => {
    requested.length = 0;
    const env = { ...base, DLHUB_PIP: undefined, DLHUB_PIP_INDEX_URL: indexUrl, DLHUB_PIP_FIND_LINKS: folder };
    const r = await runCli(['build', servable('units-off', '0.3.1'), '--json'], env);
    expect(r.code).not.toBe(0);
    const error = json<{ error: { message: string; hint: string } }>(r).error;
    expect(error.message).toContain(`Python package '${DIST}' 0.3.1`);
    expect(error.message).toContain('pip is off (DLHUB_PIP unset)');
    expect(error.hint).toContain('DLHUB_PIP=1');
    expect(requested).toEqual([]);
    // The same servable's context holds no wheels and no pip entry: nothing in the image could fetch.
    expect(JSON.parse(readFileSync(join(home, 'servables', 'units-off', 'context', 'requirements.json'), 'utf8'))).toEqual({ python: { [DIST]: '0.3.1' } });
  }, 600_000);
});
