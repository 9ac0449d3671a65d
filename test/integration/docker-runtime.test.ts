import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime, HOME_LABEL, type DockerWorkerSpec } from '../../main/runtime/docker.js';
import type { Worker } from '../../main/runtime/runtime.js';
import type { HomePaths } from '../../main/storage/home.js';
import { buildProbeServable, homeWorkerContainers, probeSpec, requireDocker, servableContainers, testBaseImage } from '../helpers/docker.js';
import { call, describeRuntime, PROBE_APP } from './runtime-suite.js';

const name = `it-runtime-${process.pid}`;
const MB = 1024 * 1024;

let docker: Docker;
let tmp: string;
let home: HomePaths;
let image: string;
let removeProbe: (() => void) | undefined;
let runtime: DockerRuntime;
const started: Worker[] = [];

const spec = (extra: Partial<DockerWorkerSpec> = {}): DockerWorkerSpec => probeSpec(name, image, extra);
const containers = (): string[] => servableContainers(name);

function inspect(id: string): { HostConfig: Record<string, unknown>; Config: { User: string } } {
  const parsed = JSON.parse(execFileSync('docker', ['inspect', id], { encoding: 'utf8' })) as ReturnType<typeof inspect>[];
  if (!parsed[0]) throw new Error(`docker inspect ${id} returned nothing`);
  return parsed[0];
}

beforeAll(async () => {
  docker = await requireDocker();
  ({ tmp, home, image, remove: removeProbe } = await buildProbeServable(docker, { prefix: 'dlhub-rt-', name, title: 'Probe', app: PROBE_APP }));
  runtime = new DockerRuntime({ docker, runDir: home.run, defaults: { memoryBytes: 256 * MB, pidsLimit: 64 } });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()));
});

afterAll(() => removeProbe?.());

describeRuntime('docker', () => ({
  name,
  start: (opts) => runtime.start(spec(opts)),
  // The base image has no runner: the container exits at once.
  startWithoutRunner: () => runtime.start(spec({ image: testBaseImage() })),
  runDir: home.run,
  leftovers: containers,
  kill: () => {
    for (const id of containers()) execFileSync('docker', ['kill', '-s', 'KILL', id], { stdio: 'ignore' });
  },
}));

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

    // One container a worker.
    expect(containers()).toHaveLength(1);
    const [id] = containers();
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

  it('locks down a worker whose frames go over stdio as one over a socket, and removes its container at stop', async () => {
    const worker = await runtime.start(spec({ transport: 'stdio' }));
    started.push(worker);
    expect(await call(worker, { op: 'add', x: 1 })).toBe(2);
    const [id] = containers();
    expect(inspect(id ?? '').HostConfig['NetworkMode']).toBe('none');
    await worker.stop();
    expect(containers()).toEqual([]);
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
