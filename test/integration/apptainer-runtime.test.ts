// The Apptainer runtime against a stand-in `apptainer` command (test/helpers/apptainer): Apptainer
// cannot be installed on these machines, so the stand-in honours the runtime's real command lines by
// running the image's exported root file system under Debian's bubblewrap.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApptainerRuntime, apptainerRecord, findApptainer, type ApptainerWorkerSpec } from '../../main/runtime/apptainer.js';
import type { LocalServable } from '../../main/servable/registry.js';
import type { Worker } from '../../main/runtime/runtime.js';
import type { HomePaths } from '../../main/storage/home.js';
import { buildProbeServable, requireDocker } from '../helpers/docker.js';
import { call, describeRuntime, PROBE_APP } from './runtime-suite.js';

const STANDIN = fileURLToPath(new URL('../helpers/apptainer', import.meta.url));
const name = `it-apptainer-${process.pid}`;

let tmp: string;
let home: HomePaths;
let image: string;
let removeProbe: (() => void) | undefined;
let runtime: ApptainerRuntime;
let sif: string;
let log: string;
const started: Worker[] = [];

function spec(extra: Partial<ApptainerWorkerSpec> = {}): ApptainerWorkerSpec {
  return { runtime: 'apptainer', name, servableDir: '/unused', runnerDir: '/unused', image: sif, ...extra };
}

/** Processes still running from this suite's image (the stand-in's bubblewrap and the runner inside). */
function runners(): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(tmp) && !l.includes(' ps '));
}

function commandLines(): string[][] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]) : [];
}

beforeAll(async () => {
  process.env['DLHUB_APPTAINER'] = STANDIN;
  const docker = await requireDocker();
  ({ tmp, home, image, remove: removeProbe } = await buildProbeServable(docker, { prefix: 'dlhub-apt-', name, title: 'Probe', app: PROBE_APP }));
  log = join(tmp, 'apptainer-commands.jsonl');
  process.env['APPTAINER_STANDIN_LOG'] = log;
  runtime = new ApptainerRuntime({ runDir: home.run, logDir: home.logs });
  const imageId = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', image], { encoding: 'utf8' }).trim();
  // The record's spec names the SIF (in this home) and builds it from the Docker engine's image on first start.
  const record = apptainerRecord({ home: home.root, runDir: home.run, logDir: home.logs, defaults: { memoryBytes: 0, pidsLimit: 0 } });
  const servable = { name, image: { tag: image, imageId }, metadata: { dlhub: { name } } } as unknown as LocalServable;
  const first = await record.workerSpec(servable, { memoryBytes: 0, pidsLimit: 0 });
  expect(first.source).toBe(`docker-daemon://${image}`);
  sif = first.image;
  const w = await runtime.start(first);
  expect(await call(w, { op: 'add', x: 1 })).toBe(2);
  await w.stop();
  expect(existsSync(sif)).toBe(true);
}, 240_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()));
});

afterAll(() => {
  delete process.env['DLHUB_APPTAINER'];
  delete process.env['APPTAINER_STANDIN_LOG'];
  removeProbe?.();
});

describeRuntime('apptainer', () => ({
  name,
  start: (opts) => runtime.start(spec(opts)),
  startWithoutRunner: () => {
    // A sandbox folder with no runner (and no Python) in it.
    const empty = join(tmp, 'empty-sandbox');
    mkdirSync(join(empty, 'usr'), { recursive: true });
    return runtime.start(spec({ image: empty }));
  },
  runDir: home.run,
  leftovers: runners,
  kill: () => {
    const pids = runners().map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
    if (pids.length > 0) execFileSync('kill', ['-KILL', ...pids]);
  },
}));

describe('Apptainer runtime (bubblewrap stand-in)', () => {
  it('finds the command DLHUB_APPTAINER names and reports its version', async () => {
    const found = await findApptainer(true);
    expect(found).toEqual({ path: STANDIN, version: expect.stringContaining('apptainer version') as unknown });
    const record = apptainerRecord({ home: home.root, runDir: home.run, logDir: home.logs, defaults: { memoryBytes: 0, pidsLimit: 0 } });
    expect((await record.probe()).available).toBe(true);
    process.env['DLHUB_APPTAINER'] = join(tmp, 'no-such-apptainer');
    try {
      const missing = await findApptainer(true);
      expect('reason' in missing && missing.reason).toMatch(/No Apptainer or Singularity command answered/);
    } finally {
      process.env['DLHUB_APPTAINER'] = STANDIN;
      await findApptainer(true);
    }
  });

  it('converted the image once and runs each worker isolated: --containall --cleanenv --no-home, no network', async () => {
    const builds = commandLines().filter((c) => c[0] === 'build');
    expect(builds).toHaveLength(1);
    expect(builds[0]?.[3]).toBe(`docker-daemon://${image}`);
    const worker = await runtime.start(spec());
    started.push(worker);
    for (let i = 0; i < 100; i += 1) expect(await call(worker, { op: 'add', x: i })).toBe(i + 1);
    const exec = commandLines().filter((c) => c[0] === 'exec').pop() ?? [];
    expect(exec.slice(0, 4)).toEqual(['exec', '--containall', '--cleanenv', '--no-home']);
    expect(exec).not.toContain('--nv');
    expect(String(await call(worker, { op: 'net' }))).toMatch(/^blocked: /);
    expect(String(await call(worker, { op: 'write' }))).toMatch(/^refused: .*Read-only file system/);
  });

  it('passes none of the caller\'s environment and not its home', async () => {
    process.env['SECRET_TOKEN'] = 'x';
    process.env['OUTSIDE_HOME'] = tmp;
    try {
      const worker = await runtime.start(spec());
      started.push(worker);
      expect(await call(worker, { op: 'env' })).toEqual([]);
      expect(await call(worker, { op: 'home' })).toBe(false);
    } finally {
      delete process.env['SECRET_TOKEN'];
      delete process.env['OUTSIDE_HOME'];
    }
  });

  it('asks for the GPUs with --nv when the worker gets one', async () => {
    const worker = await runtime.start(spec({ gpu: true }));
    started.push(worker);
    expect(await call(worker, { op: 'add', x: 2 })).toBe(3);
    expect(commandLines().filter((c) => c[0] === 'exec').pop()).toContain('--nv');
  });

  it('builds the SIF from an image archive where no Docker engine answers', async () => {
    const archive = join(tmp, 'image.tar');
    execFileSync('docker', ['save', image, '-o', archive]);
    const fromArchive = join(tmp, 'from-archive.sif');
    const worker = await runtime.start(spec({ image: fromArchive, source: `docker-archive://${archive}` }));
    started.push(worker);
    expect(await call(worker, { op: 'add', x: 41 })).toBe(42);
    rmSync(archive);
  }, 180_000);
});

describe('dlhub rm and the SIF file', () => {
  it('removing the servable removes the SIF made from its image, and a half-written build a dead process left; a live build stays', async () => {
    const record = apptainerRecord({ home: home.root, runDir: home.run, logDir: home.logs, defaults: { memoryBytes: 0, pidsLimit: 0 } });
    const imageId = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', image], { encoding: 'utf8' }).trim();
    const servable = { name, image: { tag: image, imageId }, metadata: { dlhub: { name } } } as unknown as LocalServable;
    expect(existsSync(sif)).toBe(true);
    const dead = `${sif}.tmp-999999999-abcdef.sif`;
    const live = `${sif}.tmp-${process.pid}-abcdef.sif`;
    writeFileSync(dead, 'half');
    writeFileSync(live, 'half');
    expect(await record.removeFiles?.(servable)).toEqual({ removed: true });
    expect(existsSync(sif)).toBe(false);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live);
    // Gone already: nothing to remove, and no error.
    expect(await record.removeFiles?.(servable)).toEqual({ removed: false });
  }, 60_000);
});
