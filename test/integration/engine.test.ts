// The run path in one process, on both runtimes: warm workers, batching with the memo cache,
// a model that raises, a runner that dies mid-call, idle stop, and non-deterministic servables.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { ModelError, WorkerError } from '../../main/errors.js';
import { tempDir } from '../helpers/cli.js';
import { engineServable } from '../helpers/engine.js';
import { homeWorkerContainers as workerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';
import { waitFor } from '../helpers/wait.js';

const APP = `
import os, random, time

# Made once per process: two calls that see the same token ran in the same worker
# (a pid would not do: every container's runner may be pid 1).
TOKEN = os.urandom(8).hex()

def echo(x):
    """Return the input unchanged."""
    return x

def fail(x):
    """Always raises."""
    raise ValueError("bad value: %r" % (x,))

def die(x):
    """Kills its own process, as a crashing native library would."""
    os._exit(3)

def pid(x):
    """The worker's token, so a test can tell workers apart."""
    return TOKEN

def dice(x):
    return random.random()
`;

function servable(dir: string, name: string, fn: string, deterministic = true): string {
  return engineServable(dir, name, fn, deterministic, APP);
}


for (const runtime of ['docker', 'host'] as const) {
  describe(`engine on the ${runtime} runtime`, () => {
    const work = tempDir(`dlhub-engine-${runtime}-`);
    let api: Dlhub;

    beforeAll(async () => {
      await requireDocker();
      api = new Dlhub({ home: join(work.dir, 'home'), baseImage: testBaseImage(), settings: { idleMs: 60_000 } });
      for (const [name, fn, det] of [['echo', 'echo', true], ['fail', 'fail', true], ['die', 'die', true], ['pid', 'pid', true], ['dice', 'dice', false]] as const) {
        await api.buildServable({ dir: servable(work.dir, name, fn, det), runtime: runtime === 'host' ? 'host' : undefined });
      }
    });
    afterAll(async () => {
      await api.close();
      work.cleanup();
    });

    it('keeps one warm worker across calls', async () => {
      const a = await api.runServable({ name: 'pid', input: 1, runtime, noCache: true });
      const b = await api.runServable({ name: 'pid', input: 2, runtime, noCache: true });
      expect(a.output).toBe(b.output);
      expect(a.runtime).toBe(runtime);
    });

    it('runs a batch, answering the inputs it has seen from the memo cache', async () => {
      await api.runServable({ name: 'echo', input: { a: 1 }, runtime });
      const r = await api.runServable({ name: 'echo', inputs: [{ a: 1 }, { b: 2 }, 'three'], runtime });
      expect(r.output).toEqual([{ a: 1 }, { b: 2 }, 'three']);
      expect(r.cached).toEqual([true, false, false]);
      const again = await api.runServable({ name: 'echo', inputs: [{ b: 2 }, 'three'], runtime });
      expect(again.cached).toEqual([true, true]);
    });

    it('a model that raises gives its type, message and traceback, caches nothing, and the worker serves on', async () => {
      const before = (await api.cacheStats()).entries;
      const err = await api.runServable({ name: 'fail', input: 7, runtime }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).pythonType).toBe('ValueError');
      expect((err as ModelError).message).toContain('bad value: 7');
      expect((err as ModelError).traceback).toContain('app.py');
      expect((await api.cacheStats()).entries).toBe(before);
      await expect(api.runServable({ name: 'echo', input: 'still here', runtime })).resolves.toMatchObject({ output: 'still here' });
    });

    it('a runner that dies mid-call fails that call clearly, and the next call gets a fresh worker', async () => {
      const err = await api.runServable({ name: 'die', input: 1, runtime }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerError);
      expect((err as WorkerError).code).toBe('RUNNER_DIED');
      // The pid servable's worker is unaffected; the die servable's worker is replaced on the next call.
      const err2 = await api.runServable({ name: 'die', input: 2, runtime }).catch((e: unknown) => e);
      expect((err2 as WorkerError).code).toBe('RUNNER_DIED');
      const p = await api.runServable({ name: 'pid', input: 3, runtime, noCache: true });
      expect(p.output).toMatch(/^[0-9a-f]{16}$/);
    });

    it('never caches a servable marked deterministic: false', async () => {
      const a = await api.runServable({ name: 'dice', input: 1, runtime });
      const b = await api.runServable({ name: 'dice', input: 1, runtime });
      expect(a.cached).toBe(false);
      expect(b.cached).toBe(false);
      expect(a.output).not.toBe(b.output);
    });
  });
}

describe('idle workers', () => {
  const work = tempDir('dlhub-idle-');
  afterAll(() => work.cleanup());

  it('stop after the idle time and leave no container', async () => {
    await requireDocker();
    const home = join(work.dir, 'home');
    const api = new Dlhub({ home, baseImage: testBaseImage(), settings: { idleMs: 300 } });
    try {
      await api.buildServable({ dir: servable(work.dir, 'idle', 'echo') });
      const before = workerContainers(home).length;
      await api.runServable({ name: 'idle', input: 1, runtime: 'docker', noCache: true });
      expect(workerContainers(home).length).toBe(before + 1);
      const deadline = Date.now() + 10_000;
      while (workerContainers(home).length > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(workerContainers(home).length).toBe(before);
      // And the next call simply starts a new one.
      await expect(api.runServable({ name: 'idle', input: 2, runtime: 'docker', noCache: true })).resolves.toMatchObject({ output: 2 });
    } finally {
      await api.close();
    }
    expect(workerContainers(home)).toEqual([]);
  });
});

describe('a process killed mid-call', () => {
  const work = tempDir('dlhub-orphan-');
  afterAll(() => work.cleanup());

  it('leaves a container that the next process removes', async () => {
    await requireDocker();
    const home = join(work.dir, 'home');
    const folder = servable(work.dir, 'slow', 'echo');
    writeFileSync(join(folder, 'app.py'), 'import time\n\ndef echo(x):\n    time.sleep(60)\n    return x\n');
    const setup = new Dlhub({ home, baseImage: testBaseImage() });
    await setup.buildServable({ dir: folder });
    await setup.close();
    const before = workerContainers(home).length;
    const script = `import('${join(process.cwd(), 'dist/main/api/dlhub.js')}').then(async ({ Dlhub }) => {
      const api = new Dlhub({ home: ${JSON.stringify(home)} });
      setTimeout(() => process.stdout.write('calling\\n'), 0);
      await api.runServable({ name: 'slow', input: 1, runtime: 'docker' });
    });`;
    // Its stderr is copied, not handed over: a child left holding the test runner's output would keep the runner from exiting.
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    const closed = new Promise((r) => child.once('close', r));
    try {
      await waitFor('the child\'s worker container', () => workerContainers(home).length === before + 1, { timeoutMs: 120_000, everyMs: 100 });
    } finally {
      child.kill('SIGKILL');
      await closed;
    }
    expect(workerContainers(home).length).toBe(before + 1);

    const next = new Dlhub({ home, baseImage: testBaseImage() });
    try {
      await next.buildServable({ dir: servable(work.dir, 'quick', 'echo') });
      await next.runServable({ name: 'quick', input: 1, runtime: 'docker', noCache: true });
      // The next process removed the orphan: only its own worker is left.
      await waitFor('the orphaned container to be removed', () => workerContainers(home).length === before + 1, { timeoutMs: 60_000, everyMs: 100 });
      expect(workerContainers(home).length).toBe(before + 1);
    } finally {
      await next.close();
    }
    expect(workerContainers(home).length).toBe(before);
  }, 300_000);
});
