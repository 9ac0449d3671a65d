// A token holder of `dlhub serve --http` is not the user: paths in requests reach only $DLHUB_HOME/staging and the
// DLHUB_WORKSPACE folders, no request reads or writes a file outside them or stops the service, and `serve` itself
// starts and stops cleanly (a refused second start touches nothing of the first; a port in use exits; SIGTERM during
// a long import stops within the grace period).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRecords } from '../../bench/catalog-records.js';
import { Catalog } from '../../main/catalog/catalog.js';
import { homePaths } from '../../main/storage/home.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';

const BIN = resolve('bin/dlhub.js');
const SECRET = 'TOP-SECRET-MARKER-7f3a';

interface Serve {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

function serve(env: Record<string, string>, args: string[]): Serve {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, DLHUB_NO_SERVICE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, log: () => log, exited };
}

async function started(s: Serve): Promise<void> {
  await waitFor(`dlhub serve to start:\n${s.log()}`, () => /HTTP API on/.test(s.log()) || s.child.exitCode !== null, { timeoutMs: 30_000 });
  if (s.child.exitCode !== null) throw new Error(`dlhub serve exited:\n${s.log()}`);
}

async function stop(s: Serve): Promise<number | null> {
  if (s.child.exitCode === null) s.child.kill('SIGTERM');
  return s.exited;
}

interface Answer {
  status: number;
  text: string;
  /** The `{result}` or `{error}` envelope: the whole body, or the last line of a progress (NDJSON) answer. */
  body: { result?: unknown; error?: { code: string; message: string; hint?: string } };
}

class Api {
  constructor(readonly url: string, readonly token: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const lines = text.trim().split('\n');
    return { status: res.status, text, body: JSON.parse(lines[lines.length - 1] ?? '{}') as Answer['body'] };
  }

  /** The service still answers: health, and a real operation through the token check. */
  async answers(): Promise<void> {
    expect((await fetch(`${this.url}/health`)).status).toBe(200);
    const listed = await this.call('GET', '/v1/servables');
    expect(listed.status).toBe(200);
  }
}

function apiOf(home: string): Api {
  return new Api(readFileSync(join(home, 'run', 'api-url'), 'utf8').trim(), readFileSync(join(home, 'run', 'api-token'), 'utf8').trim());
}

/** Every file under `dir` with its contents, to show nothing outside changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = join(dir, r);
      if (e.isSymbolicLink()) out[r] = 'link';
      else if (e.isDirectory()) walk(r);
      else if (e.isFile()) out[r] = readFileSync(abs, 'utf8');
      else out[r] = 'special';
    }
  };
  walk('');
  return out;
}

describe('files over the HTTP API of a running service', () => {
  const work = tempDir('dlhub-hostile-');
  const home = join(work.path, 'home');
  const workspace = join(work.path, 'workspace');
  const outside = join(work.path, 'outside');
  const staging = join(home, 'staging');
  let service: Serve;
  let api: Api;
  let outsideBefore: Record<string, string>;

  beforeAll(async () => {
    mkdirSync(join(outside, 'model'), { recursive: true });
    mkdirSync(join(workspace, 'models'), { recursive: true });
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(outside, 'secret.txt'), `${SECRET}\n`);
    writeFileSync(join(outside, 'model', 'model.pkl'), SECRET);
    writeFileSync(join(outside, 'model', `${SECRET}.py`), 'x = 1\n');
    writeFileSync(join(outside, '.bashrc'), `# ${SECRET}\n`);
    writeFileSync(join(workspace, 'models', 'catalog.jsonl'), `${generateRecords(3, 5).map((r) => JSON.stringify(r)).join('\n')}\n`);
    // What a hostile request may try to use inside the allowed folders: links out, a fifo, a link to a device.
    symlinkSync(join(outside, 'secret.txt'), join(staging, 'link-out'));
    symlinkSync(outside, join(staging, 'dir-out'));
    symlinkSync('/dev/zero', join(staging, 'zero'));
    execFileSync('mkfifo', [join(staging, 'pipe')]);
    execFileSync('mkfifo', [join(outside, 'pipe')]);
    outsideBefore = snapshot(outside);
    service = serve({ DLHUB_HOME: home, DLHUB_WORKSPACE: workspace }, ['--http', '127.0.0.1:0']);
    await started(service);
    api = apiOf(home);
  }, 60_000);

  afterAll(async () => {
    if (service) await stop(service);
    work.remove();
  });

  const refusedOver = async (path: string, body: unknown): Promise<Answer> => {
    const a = await api.call('POST', path, body);
    expect(a.body.error?.code, a.text).toBe('PATH_UNSAFE');
    expect(a.text).not.toContain(SECRET);
    await api.answers();
    return a;
  };

  it('refuses the hostile requests of the probe with a typed answer, and answers after each', async () => {
    for (const file of ['/dev/zero', '/etc/shadow', '/etc/passwd', join(outside, 'secret.txt'), join(outside, 'pipe'), 'pipe', 'zero', 'link-out', 'dir-out/secret.txt', '../state.db', '../../../etc/passwd']) {
      await refusedOver('/v1/catalog/import', { file });
    }
    for (const file of [join(outside, '.bashrc'), join(outside, 'new.sh'), join(home, 'credentials', 'x'), join(home, 'state.db'), 'link-out', 'dir-out/new', 'pipe', '../escape.jsonl']) {
      await refusedOver('/v1/catalog/export', { file });
    }
    for (const dir of ['../../', '/', outside, join(outside, 'model'), 'dir-out', home, join(home, 'servables')]) {
      await refusedOver('/v1/servables/init', { dir });
      await refusedOver('/v1/servables/build', { dir });
    }
    expect(snapshot(outside)).toEqual(outsideBefore);
  });

  it('still reads and writes in staging and the workspace', async () => {
    const imported = await api.call('POST', '/v1/catalog/import', { file: join(workspace, 'models', 'catalog.jsonl') });
    expect(imported.body.result, imported.text).toMatchObject({ imported: 3, skipped: 0 });
    const exported = await api.call('POST', '/v1/catalog/export', { file: 'out.jsonl' });
    expect(exported.body.result, exported.text).toMatchObject({ file: join(staging, 'out.jsonl'), written: 3 });
    expect(readFileSync(join(staging, 'out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const again = await api.call('POST', '/v1/catalog/import', { file: 'out.jsonl' });
    expect(again.body.result, again.text).toMatchObject({ imported: 3 });
    // A folder in the workspace with no model: a detection error about that folder only, not INTERNAL.
    const init = await api.call('POST', '/v1/servables/init', { dir: join(workspace, 'models') });
    expect(init.body.error?.code, init.text).toBe('DETECT_FAILED');
  });

  it('over any path shape, touches nothing outside the allowed folders, never answers INTERNAL, and keeps answering', async () => {
    const part = fc.oneof(
      fc.constantFrom('..', '.', '', 'staging', 'link-out', 'dir-out', 'pipe', 'zero', 'secret.txt', 'model', 'outside', 'etc', 'shadow', 'dev', 'null', 'state.db', 'run', 'api-token', 'credentials'),
      fc.string({ unit: fc.constantFrom('a', 'é', '😀', ' ', '%2e', '\\', '~', '$', '\u202e', '\u0000'), minLength: 1, maxLength: 6 }),
      fc.integer({ min: 200, max: 5000 }).map((n) => 'x'.repeat(n)),
    );
    const prefix = fc.constantFrom('', '/', `${staging}/`, `${workspace}/`, `${outside}/`, `${home}/`, '/dev/', '/etc/', '/proc/self/', `${staging}/../`, `${workspace}/../outside/`);
    const op = fc.constantFrom(
      ['/v1/catalog/import', 'file'], ['/v1/catalog/export', 'file'], ['/v1/servables/init', 'dir'], ['/v1/servables/build', 'dir'],
    );
    await fc.assert(fc.asyncProperty(op, prefix, fc.array(part, { minLength: 0, maxLength: 5 }), async ([route, field], pre, parts) => {
      const path = `${pre}${parts.join('/')}`;
      const a = await api.call('POST', route, { [field as string]: path });
      expect(a.status, a.text).toBeLessThan(500);
      expect(a.text).not.toContain(SECRET);
      await api.answers();
    }), { numRuns: 150 });
    expect(snapshot(outside)).toEqual(outsideBefore);
    expect(existsSync(join(work.path, 'escape.jsonl'))).toBe(false);
  }, 120_000);
});

describe('dlhub serve start-up and stop', () => {
  const work = tempDir('dlhub-serve-start-');
  afterAll(() => work.remove());

  it('a second serve --http on a served home is refused and leaves the first one\'s token and address alone', async () => {
    const home = join(work.path, 'twice');
    const first = serve({ DLHUB_HOME: home }, ['--http', '127.0.0.1:0']);
    try {
      await started(first);
      const token = readFileSync(join(home, 'run', 'api-token'), 'utf8');
      const url = readFileSync(join(home, 'run', 'api-url'), 'utf8');
      const second = serve({ DLHUB_HOME: home }, ['--http', '127.0.0.1:0']);
      expect(await second.exited).not.toBe(0);
      expect(second.log()).toMatch(/already running/);
      expect(readFileSync(join(home, 'run', 'api-token'), 'utf8')).toBe(token);
      expect(readFileSync(join(home, 'run', 'api-url'), 'utf8')).toBe(url);
      await apiOf(home).answers();
    } finally {
      await stop(first);
    }
  }, 60_000);

  it('serve --http on a port in use exits non-zero with a clear message and leaves no socket behind', async () => {
    const home = join(work.path, 'busy');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const s = serve({ DLHUB_HOME: home }, ['--http', `127.0.0.1:${port}`]);
      const code = await Promise.race([s.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
      if (code === 'hung') s.child.kill('SIGKILL');
      expect(code).not.toBe('hung');
      expect(code).not.toBe(0);
      expect(s.log()).toContain(`Cannot listen on 127.0.0.1:${port}`);
      expect(existsSync(join(home, 'run', 'service.sock'))).toBe(false);
      expect(existsSync(join(home, 'run', 'api-token'))).toBe(false);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('SIGTERM during a long catalog import stops within the grace period, keeping the batches written', async () => {
    const home = join(work.path, 'import');
    mkdirSync(join(home, 'staging'), { recursive: true });
    const total = 30_000;
    writeFileSync(join(home, 'staging', 'big.jsonl'), `${generateRecords(total, 11).map((r) => JSON.stringify(r)).join('\n')}\n`);
    expect(statSync(join(home, 'staging', 'big.jsonl')).size).toBeGreaterThan(20 << 20);
    const s = serve({ DLHUB_HOME: home }, ['--http', '127.0.0.1:0', '--grace', '1']);
    await started(s);
    const api = apiOf(home);
    const importing = api.call('POST', '/v1/catalog/import', { file: 'big.jsonl' }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.child.exitCode).toBe(null);
    s.child.kill('SIGTERM');
    // The grace period is 1 s; a stopped import and the index save at close take a few seconds more on a loaded machine.
    // Before, the service went on until the whole import was done (40 s for 60,000 records).
    const code = await Promise.race([s.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 9_000))]);
    if (code === 'late') s.child.kill('SIGKILL');
    expect(code, s.log()).not.toBe('late');
    await importing;
    const catalog = Catalog.open(homePaths(home));
    try {
      expect(catalog.size).toBeLessThan(total);
    } finally {
      catalog.close();
    }
  }, 90_000);
});

describe('a full disk under $DLHUB_HOME', () => {
  const work = tempDir('dlhub-full-disk-');
  const mnt = join(work.path, 'small-disk');
  afterAll(() => {
    try {
      execFileSync('umount', [mnt]);
    } finally {
      work.remove();
    }
  });

  it('dlhub catalog import names the folder and the space needed (never "undefined" or a raw stack) and leaves no temporary file', async () => {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    const file = join(work.path, 'catalog.jsonl');
    writeFileSync(file, `${generateRecords(3000, 3).map((r) => JSON.stringify(r)).join('\n')}\n`);
    const home = join(mnt, 'home');
    const r = await runCli(['catalog', 'import', file], { DLHUB_HOME: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No space left in ${home}`);
    expect(r.stderr).toMatch(/needs about \d+/);
    expect(r.stderr).not.toMatch(/undefined|ENOSPC|\n {4}at /);
    expect(readdirSync(home).filter((n) => n.includes('.tmp'))).toEqual([]);
  }, 120_000);
});
