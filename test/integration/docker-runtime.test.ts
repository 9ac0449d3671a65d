import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DlhubError } from '../../main/errors.js';
import { DockerRuntime, HOME_LABEL, type DockerWorkerSpec } from '../../main/runtime/docker.js';
import type { Worker } from '../../main/runtime/runtime.js';
import type { HomePaths } from '../../main/storage/home.js';
import { buildProbeServable, homeWorkerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';

const name = `it-runtime-${process.pid}`;
const MB = 1024 * 1024;

// One function, several probes: what a locked-down container allows is what the user checks.
const APP = `
import os, socket, time

def run(request):
    op = request["op"]
    if op == "add":
        return request["x"] + 1
    if op == "net":
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=2).close()
            return "connected"
        except OSError as err:
            return "blocked: %s" % err
    if op == "write":
        try:
            with open("/dlhub-write-test", "w") as handle:
                handle.write("x")
            return "written"
        except OSError as err:
            return "refused: %s" % err
    if op == "sleep":
        time.sleep(request["seconds"])
        return "slept"
    if op == "uid":
        return os.getuid()
    raise ValueError("unknown op %s" % op)
`;

let docker: Docker;
let tmp: string;
let home: HomePaths;
let image: string;
let runtime: DockerRuntime;
const started: Worker[] = [];

function spec(extra: Partial<DockerWorkerSpec> = {}): DockerWorkerSpec {
  return { runtime: 'docker', name, servableDir: '/unused', runnerDir: '/unused', image, ...extra };
}

function containers(): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=org.dlhub.servable=${name}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function inspect(id: string): { HostConfig: Record<string, unknown>; Config: { User: string } } {
  const parsed = JSON.parse(execFileSync('docker', ['inspect', id], { encoding: 'utf8' })) as ReturnType<typeof inspect>[];
  if (!parsed[0]) throw new Error(`docker inspect ${id} returned nothing`);
  return parsed[0];
}

async function call(worker: Worker, input: unknown): Promise<unknown> {
  return (await worker.connection.run('run', input)).output;
}

beforeAll(async () => {
  docker = await requireDocker();
  ({ tmp, home, image } = await buildProbeServable(docker, { prefix: 'dlhub-rt-', name, title: 'Probe', app: APP }));
  runtime = new DockerRuntime({ docker, runDir: home.run, defaults: { memoryBytes: 256 * MB, pidsLimit: 64 } });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()));
});

afterAll(() => {
  if (image) {
    for (const id of containers()) execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    execFileSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('DockerRuntime against the real engine', () => {
  it('reports the engine as available', async () => {
    expect(await runtime.available()).toBe(true);
    const nowhere = new DockerRuntime({ docker: new (docker.constructor as typeof Docker)({ socketPath: join(tmp, 'no.sock') }), runDir: home.run, defaults: { memoryBytes: MB, pidsLimit: 1 } });
    expect(await nowhere.available()).toBe(false);
  });

  it('starts a locked-down worker that answers', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    expect(await call(worker, { op: 'add', x: 41 })).toBe(42);
    for (let i = 0; i < 200; i += 1) expect(await call(worker, { op: 'add', x: i })).toBe(i + 1);

    const [id] = containers();
    expect(id).toBeDefined();
    const info = inspect(id ?? '');
    expect(info.HostConfig['NetworkMode']).toBe('none');
    expect(info.HostConfig['ReadonlyRootfs']).toBe(true);
    expect(info.HostConfig['CapDrop']).toEqual(['ALL']);
    expect(info.HostConfig['SecurityOpt']).toEqual(['no-new-privileges']);
    expect(info.HostConfig['Memory']).toBe(256 * MB);
    expect(info.HostConfig['MemorySwap']).toBe(256 * MB);
    expect(info.HostConfig['PidsLimit']).toBe(64);
    expect(info.Config.User).not.toMatch(/^(0|root)(:|$)/);
    expect(await call(worker, { op: 'uid' })).not.toBe(0);
  });

  it('gives the servable no network and a read-only root', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    expect(String(await call(worker, { op: 'net' }))).toMatch(/^blocked: /);
    expect(String(await call(worker, { op: 'write' }))).toMatch(/^refused: .*Read-only file system/);
  });

  it('leaves no container and no socket folder after stop', async () => {
    const worker = await runtime.start(spec());
    expect(containers()).toHaveLength(1);
    await worker.stop();
    await worker.exited;
    expect(containers()).toEqual([]);
    expect(readdirSync(home.run)).toEqual([]);
    await worker.stop();
  });

  it('fails a call with RUNNER_DIED when the container is killed mid-call', async () => {
    const worker = await runtime.start(spec());
    started.push(worker);
    const pending = call(worker, { op: 'sleep', seconds: 20 });
    await new Promise((r) => setTimeout(r, 300));
    for (const id of containers()) execFileSync('docker', ['kill', '-s', 'KILL', id], { stdio: 'ignore' });
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DlhubError);
    expect((err as DlhubError).code).toBe('RUNNER_DIED');
    await worker.exited;
    // The dead worker's container is cleared away without anyone calling stop().
    await expect.poll(() => containers(), { timeout: 5000 }).toEqual([]);
  });

  it('carries frames over stdio when asked', async () => {
    const worker = await runtime.start(spec({ transport: 'stdio' }));
    started.push(worker);
    expect(await call(worker, { op: 'add', x: 1 })).toBe(2);
    expect(await call(worker, { op: 'add', x: 2 })).toBe(3);
    const [id] = containers();
    expect(inspect(id ?? '').HostConfig['NetworkMode']).toBe('none');
    await worker.stop();
    expect(containers()).toEqual([]);
  });

  it('fails with the container output when the runner exits before hello, leaving nothing behind', async () => {
    const err = await runtime.start(spec({ image: testBaseImage() })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DlhubError);
    expect((err as DlhubError).code).toBe('RUNNER_DIED');
    expect((err as DlhubError).message).toContain('exited before its runner answered');
    expect(containers()).toEqual([]);
    expect(readdirSync(home.run)).toEqual([]);
  });

  it('removes orphaned workers of its own home whose owner process is gone, and never another home\'s', async () => {
    const dead = spawnSync('true').pid ?? 999_999;
    const labels = { 'org.dlhub.worker': '1', 'org.dlhub.servable': name, 'org.dlhub.owner-pid': String(dead) };
    const orphan = await docker.createContainer({ Image: image, Labels: { ...labels, [HOME_LABEL]: runtime.owner }, HostConfig: { NetworkMode: 'none' } });
    // Another suite's (or user's) dead worker on the same engine: theirs to sweep, not ours.
    const foreign = await docker.createContainer({ Image: image, Labels: { ...labels, [HOME_LABEL]: join(tmp, 'other-home') }, HostConfig: { NetworkMode: 'none' } });
    try {
      const live = await runtime.start(spec());
      started.push(live);
      expect(containers()).toHaveLength(3);
      expect(await runtime.cleanupOrphans()).toBe(1);
      expect(containers()).toHaveLength(2);
      expect(containers()).not.toContain(orphan.id.slice(0, 12));
      expect(containers()).toContain(foreign.id.slice(0, 12));
      expect(homeWorkerContainers(home.root)).toHaveLength(1);
      expect(await call(live, { op: 'add', x: 0 })).toBe(1);
    } finally {
      await foreign.remove({ force: true });
    }
  });
});
