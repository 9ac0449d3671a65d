import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DlhubError } from '../../main/errors.js';
import { DockerRuntime, type DockerWorkerSpec } from '../../main/runtime/docker.js';
import type { Worker } from '../../main/runtime/runtime.js';
import type { HomePaths } from '../../main/storage/home.js';
import { buildProbeServable, probeSpec, requireDocker, servableContainers } from '../helpers/docker.js';
import { call } from './runtime-suite.js';

// What a hostile servable can do to the host from inside its container.

const name = `it-harden-${process.pid}`;
const MB = 1024 * 1024;
const LIMIT = 128 * MB;

const APP = `
import os, sys

def fill(path, megabytes):
    written = 0
    try:
        with open(path, "wb") as handle:
            for _ in range(megabytes):
                handle.write(b"x" * 1048576)
                handle.flush()
                written += 1
        return "written %d MB" % written
    except OSError as err:
        return "refused after %d MB: %s" % (written, err)

def run(request):
    op = request["op"]
    if op == "fill":
        return fill(request["path"], request["mb"])
    if op == "mounts":
        with open("/proc/mounts") as handle:
            return [line.split()[1:4] for line in handle]
    if op == "hog":
        sys.stderr.write("allocating %d MB\\n" % request["mb"])
        sys.stderr.flush()
        block = bytearray(request["mb"] * 1048576)
        for i in range(0, len(block), 4096):
            block[i] = 1
        return len(block)
    if op == "spew":
        line = b"e" * 1023 + b"\\n"
        for _ in range(request["mb"] * 1024):
            os.write(2, line)
        return "wrote %d MB to stderr" % request["mb"]
    if op == "crash":
        sys.stderr.write("about to exit with code 3\\n")
        sys.stderr.flush()
        os._exit(3)
    raise ValueError("unknown op %s" % op)
`;

let docker: Docker;
let home: HomePaths;
let image: string;
let removeProbe: (() => void) | undefined;
let runtime: DockerRuntime;
const started: Worker[] = [];

const spec = (extra: Partial<DockerWorkerSpec> = {}): DockerWorkerSpec => probeSpec(name, image, extra);
const containers = (): string[] => servableContainers(name);

/** Every file under the worker socket folders on the host, with its size. */
function hostFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(`${path} ${statSync(path).size}`);
    }
  };
  if (existsSync(home.run)) walk(home.run);
  return out;
}

beforeAll(async () => {
  docker = await requireDocker();
  ({ home, image, remove: removeProbe } = await buildProbeServable(docker, { prefix: 'dlhub-harden-', name, title: 'Hostile probe', app: APP }));
  runtime = new DockerRuntime({ docker, runDir: home.run, defaults: { memoryBytes: LIMIT, pidsLimit: 64 } });
}, 300_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()));
});

afterAll(() => removeProbe?.());

describe('a hostile servable in its container', () => {
  it('cannot write into the socket folder, so nothing reaches the host disk; the socket still works', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    const before = hostFiles();
    expect(String(await call(worker, { op: 'fill', path: '/run/dlhub/junk', mb: 5 }))).toMatch(/^refused after 0 MB: .*Read-only file system/);
    expect(hostFiles()).toEqual(before); // the socket only: no junk file on the host
    expect(hostFiles().some((f) => f.includes('junk'))).toBe(false);
    // The runner still talks over the socket in that read-only folder.
    expect(String(await call(worker, { op: 'fill', path: '/run/dlhub/runner.sock.x', mb: 1 }))).toMatch(/^refused/);
  });

  it('has a read-only root and a /tmp that is a tmpfs limited to 64 MB', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    const mounts = (await call(worker, { op: 'mounts' })) as string[][];
    const at = (path: string): string[] | undefined => mounts.filter((m) => m[0] === path).pop();
    expect(at('/')?.[2]?.split(',')).toContain('ro');
    expect(at('/run/dlhub')?.[2]?.split(',')).toContain('ro');
    expect(at('/tmp')?.[1]).toBe('tmpfs');
    expect(at('/tmp')?.[2]).toMatch(/size=65536k/);
    expect(String(await call(worker, { op: 'fill', path: '/opt/junk', mb: 1 }))).toMatch(/Read-only file system/);
    expect(String(await call(worker, { op: 'fill', path: '/tmp/junk', mb: 100 }))).toMatch(/^refused after 6\d MB: .*No space left/);
  });

  it('says the worker ran out of memory, with its limit and output, when a model allocates past the limit', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    const err = await call(worker, { op: 'hog', mb: 512 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DlhubError);
    const e = err as DlhubError;
    expect(e.code).toBe('RUNNER_DIED');
    expect(e.message).toContain('ran out of memory (limit 128 MiB); raise DLHUB_WORKER_MEMORY_BYTES');
    expect(e.message).toContain('allocating 512 MB');
    expect(e.hint).toContain('DLHUB_WORKER_MEMORY_BYTES');
    expect(e.hint).not.toMatch(/logs/);
    await worker.exited;
    await expect.poll(() => containers(), { timeout: 15_000 }).toEqual([]);
  });

  it('cannot fill the host disk through its log: a model writing 40 MB to stderr leaves at most two 8 MiB log files', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    const [id] = containers();
    const info = JSON.parse(execFileSync('docker', ['inspect', id ?? ''], { encoding: 'utf8' })) as { LogPath: string; HostConfig: { LogConfig: { Type: string; Config: Record<string, string> } } }[];
    expect(info[0]?.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '8m', 'max-file': '2' } });
    expect(await call(worker, { op: 'spew', mb: 40 })).toBe('wrote 40 MB to stderr');
    const logPath = info[0]?.LogPath ?? '';
    const logs = readdirSync(dirname(logPath)).filter((f) => f.startsWith(basename(logPath)));
    const total = logs.reduce((sum, f) => sum + statSync(join(dirname(logPath), f)).size, 0);
    expect(logs.length).toBeLessThanOrEqual(2);
    // json-file wraps each line in JSON, so 8 MiB of file holds less than 8 MiB of output.
    expect(total).toBeLessThanOrEqual(2 * 8 * MB + MB);
    expect(String(await call(worker, { op: 'fill', path: '/tmp/a', mb: 1 }))).toBe('written 1 MB');
  });

  it('says how the container exited, with its last output, when the runner dies mid-call', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    const err = await call(worker, { op: 'crash' }).catch((e: unknown) => e);
    expect((err as DlhubError).code).toBe('RUNNER_DIED');
    expect((err as DlhubError).message).toContain('exited with code 3');
    expect((err as DlhubError).message).toContain('about to exit with code 3');
    // The next start is a fresh worker that answers.
    const fresh = await runtime.start(spec());
    started.push(fresh);
    expect(String(await call(fresh, { op: 'fill', path: '/tmp/a', mb: 1 }))).toBe('written 1 MB');
  });
});
