// The worker pool against real workers, on both runtimes: replicas, adaptive batching, per-item
// batch errors, per-call timeout, the concurrency cap, and `dlhub rm` sparing other servables.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import type { Engine } from '../../main/engine/engine.js';
import { LimitError, ModelError, TaskError } from '../../main/errors.js';
import { buildEngineServables, engineServable, openEngine } from '../helpers/engine.js';
import { homeWorkerContainers, requireDocker, suiteHome, testBaseImage } from '../helpers/docker.js';
import { waitFor } from '../helpers/wait.js';

type Tagged = [number, string];

// A model that, given "forge", writes a frame of its own onto the runner's connection (as a hostile
// model can): a response to a request nobody sent.
const FORGING_APP = `
import os, time

def forge(x):
    if x == "forge":
        header = b'{"id":99999,"ok":true}'
        frame = (4 + len(header)).to_bytes(4, "big") + len(header).to_bytes(4, "big") + header
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink("/proc/self/fd/" + fd).startswith("socket:"):
                    os.write(int(fd), frame)
            except OSError:
                pass
        time.sleep(1)
    return x
`;

/** Wait until `e` has sent `n` requests to its workers in all. */
function sent(e: Engine, n = 1): Promise<true> {
  return waitFor(`${n} request(s) on a worker`, () => e.pool.stats().requests >= n);
}

for (const runtime of ['host', 'docker'] as const) {
  describe(`worker pool on the ${runtime} runtime`, () => {
    const suite = suiteHome(`dlhub-pool-${runtime}-`);
    const opened: { close: () => Promise<void> }[] = [];

    function engine(settings: Parameters<typeof openEngine>[1] = {}): Engine {
      const e = openEngine(suite.home, { idleMs: 60_000, ...settings });
      opened.push(e);
      return e.engine;
    }

    beforeAll(async () => {
      await requireDocker();
      await buildEngineServables(suite.home, suite.dir, [['tagged', 'tagged'], ['double', 'double'], ['echo', 'echo']], {
        baseImage: testBaseImage(),
        hostOnly: runtime === 'host',
      });
    });
    afterAll(async () => {
      await Promise.all(opened.map((e) => e.close()));
      if (runtime === 'docker') expect(homeWorkerContainers(suite.home)).toEqual([]);
      suite.cleanup();
    });

    it('spreads concurrent calls over the replicas it is allowed', async () => {
      const e = engine({ replicas: { default: 2, perServable: {} }, batchMax: 1 });
      const outs = await Promise.all([0, 1, 2, 3].map((i) => e.run({ name: 'tagged', input: { i, s: 1 }, runtime, noCache: true })));
      expect(outs.map((o) => (o.output as Tagged)[0])).toEqual([0, 1, 2, 3]);
      expect(new Set(outs.map((o) => (o.output as Tagged)[1])).size).toBe(2);
      expect(e.status().workers.filter((w) => w.servable === 'tagged')).toHaveLength(2);
    });

    it('sends single calls that queued behind a busy worker together as one batch, each caller getting its own answer', async () => {
      const e = engine({ replicas: { default: 1, perServable: {} }, batchMax: 64 });
      const first = e.run({ name: 'tagged', input: { i: 0, s: 0.5 }, runtime, noCache: true });
      // Wait until the first call is on the worker, so the next five queue behind it.
      await sent(e);
      const before = e.pool.stats();
      const rest = await Promise.all([1, 2, 3, 4, 5].map((i) => e.run({ name: 'tagged', input: { i }, runtime, noCache: true })));
      await first;
      expect(rest.map((o) => (o.output as Tagged)[0])).toEqual([1, 2, 3, 4, 5]);
      const after = e.pool.stats();
      expect(after.calls - before.calls).toBe(5);
      expect(after.requests - before.requests).toBe(1);
    });

    it('gives each batched single call its own answer or its own error', async () => {
      const e = engine({ replicas: { default: 1, perServable: {} }, batchMax: 64 });
      const first = e.run({ name: 'double', input: { s: 0.5 }, runtime, noCache: true });
      await sent(e);
      const settled = await Promise.allSettled([1, -1, 3].map((x) => e.run({ name: 'double', input: x, runtime, noCache: true })));
      await first;
      // The three went to the worker as one request.
      expect(e.pool.stats().requests).toBe(2);
      expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { output: 2 } });
      expect(settled[1]).toMatchObject({ status: 'rejected', reason: { code: 'MODEL_ERROR' } });
      expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(ModelError);
      expect(settled[2]).toMatchObject({ status: 'fulfilled', value: { output: 6 } });
    });

    it('sends them one by one when DLHUB_BATCH_MAX is 1', async () => {
      const e = engine({ replicas: { default: 1, perServable: {} }, batchMax: 1 });
      const first = e.run({ name: 'tagged', input: { i: 0, s: 0.3 }, runtime, noCache: true });
      await sent(e);
      await Promise.all([first, ...[1, 2, 3].map((i) => e.run({ name: 'tagged', input: { i }, runtime, noCache: true }))]);
      expect(e.pool.stats().requests).toBe(4);
    });

    it('keeps to the machine-wide worker cap by stopping an idle worker of another servable', async () => {
      const e = engine({ maxWorkers: 1 });
      await e.run({ name: 'echo', input: 1, runtime, noCache: true });
      expect(e.status().workers.map((w) => w.servable)).toEqual(['echo']);
      await expect(e.run({ name: 'double', input: 2, runtime, noCache: true })).resolves.toMatchObject({ output: 4 });
      expect(e.status().workers.map((w) => w.servable)).toEqual(['double']);
      await expect(e.run({ name: 'echo', input: 3, runtime, noCache: true })).resolves.toMatchObject({ output: 3 });
      expect(e.status().workers.map((w) => w.servable)).toEqual(['echo']);
    });

    it('answers an explicit batch in order, with an error for the one bad input and answers for the rest', async () => {
      const e = engine();
      const out = await e.run({ name: 'double', inputs: [1, -1, 3], runtime });
      expect(out.output).toEqual([2, null, 6]);
      expect(out.errors?.[0]).toBeNull();
      expect(out.errors?.[1]).toMatchObject({ code: 'MODEL_ERROR', message: expect.stringContaining('negative input: -1') });
      expect(out.errors?.[2]).toBeNull();
      // A single bad call still raises its typed error.
      await expect(e.run({ name: 'double', input: -2, runtime, noCache: true })).rejects.toBeInstanceOf(ModelError);
      // Good items were remembered; the bad one was not.
      const again = await e.run({ name: 'double', inputs: [1, -1, 3], runtime });
      expect(again.cached).toEqual([true, false, true]);
    });

    it('stops a call at its timeout with TIMEOUT naming the limit, and replaces the worker that overran', async () => {
      const e = engine();
      const before = await e.run({ name: 'tagged', input: { i: 1 }, runtime, noCache: true });
      const err = await e.run({ name: 'tagged', input: { i: 2, s: 30 }, runtime, noCache: true, timeoutMs: 400 }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(LimitError);
      expect((err as LimitError).code).toBe('TIMEOUT');
      expect((err as LimitError).message).toContain('0.4 s');
      const after = await e.run({ name: 'tagged', input: { i: 3 }, runtime, noCache: true });
      expect((after.output as Tagged)[1]).not.toBe((before.output as Tagged)[1]);
    });

    it('lets calls in flight finish when closed with a drain time (SIGINT to serve), and stops them without one', async () => {
      const graceful = openEngine(suite.home);
      const inFlight = graceful.engine.run({ name: 'tagged', input: { i: 9, s: 0.8 }, runtime, noCache: true });
      await sent(graceful.engine);
      await graceful.engine.close({ drainMs: 30_000 });
      expect(((await inFlight).output as Tagged)[0]).toBe(9);
      await graceful.close();

      const abrupt = openEngine(suite.home);
      const cut = abrupt.engine.run({ name: 'tagged', input: { i: 9, s: 5 }, runtime, noCache: true }).catch((x: unknown) => x);
      await sent(abrupt.engine);
      await abrupt.close();
      expect(await cut).toMatchObject({ code: 'RUNNER_DIED' });
    });

    it('refuses calls over the concurrency cap with BUSY (retry later) naming DLHUB_MAX_CONCURRENCY', async () => {
      const e = engine({ maxConcurrency: 2 });
      const slow = [1, 2].map((i) => e.run({ name: 'tagged', input: { i, s: 0.5 }, runtime, noCache: true }));
      const err = await e.run({ name: 'echo', input: 1, runtime, noCache: true }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(LimitError);
      expect((err as LimitError).code).toBe('BUSY');
      expect((err as LimitError).hint).toContain('DLHUB_MAX_CONCURRENCY');
      await Promise.all(slow);
      await expect(e.run({ name: 'echo', input: 1, runtime, noCache: true })).resolves.toMatchObject({ output: 1 });
    });

    it('drops a queued call whose caller left and abandons a running one: the hung worker is replaced and the dropped call never runs', async () => {
      const e = engine({ replicas: { default: 1, perServable: {} }, batchMax: 1 });
      const warm = await e.run({ name: 'tagged', input: { i: 0 }, runtime, noCache: true });
      const hungCaller = new AbortController();
      const hung = e.run({ name: 'tagged', input: { i: 1, s: 60 }, runtime, noCache: true }, { signal: hungCaller.signal }).catch((x: unknown) => x);
      await sent(e, 2);
      const queuedCaller = new AbortController();
      const queued = e.run({ name: 'tagged', input: { i: 2 }, runtime, noCache: true }, { signal: queuedCaller.signal }).catch((x: unknown) => x);
      await waitFor('the second call to queue', () => e.pool.queued() === 1);
      queuedCaller.abort();
      expect(await queued).toBeInstanceOf(TaskError);
      expect(e.pool.queued()).toBe(0);
      hungCaller.abort();
      expect(await hung).toMatchObject({ code: 'CANCELLED' });
      // A fresh worker answers at once; the old one (still asleep for a minute) would not have.
      const next = await e.run({ name: 'tagged', input: { i: 3 }, runtime, noCache: true, timeoutMs: 30_000 });
      expect((next.output as Tagged)[1]).not.toBe((warm.output as Tagged)[1]);
      // The dropped call was never sent to a worker: three calls went out (warm-up, hung, next).
      expect(e.pool.stats().calls).toBe(3);
      expect(e.status().workers.filter((w) => w.servable === 'tagged')).toHaveLength(1);
    });

    it('replaces a stuck worker when a call times out waiting in the queue behind it', async () => {
      const e = engine({ replicas: { default: 1, perServable: {} }, batchMax: 1 });
      const warm = await e.run({ name: 'tagged', input: { i: 0 }, runtime, noCache: true });
      // A caller that left without cancelling: nobody stops this call.
      const stuck = e.run({ name: 'tagged', input: { i: 1, s: 60 }, runtime, noCache: true }).catch((x: unknown) => x);
      await sent(e, 2);
      const waiting = await e.run({ name: 'tagged', input: { i: 2 }, runtime, noCache: true, timeoutMs: 500 }).catch((x: unknown) => x);
      expect(waiting).toMatchObject({ code: 'TIMEOUT' });
      const stopped = await stuck;
      expect(stopped).toBeInstanceOf(LimitError);
      expect((stopped as LimitError).message).toMatch(/stuck worker was replaced/);
      const next = await e.run({ name: 'tagged', input: { i: 3 }, runtime, noCache: true, timeoutMs: 30_000 });
      expect((next.output as Tagged)[0]).toBe(3);
      expect((next.output as Tagged)[1]).not.toBe((warm.output as Tagged)[1]);
    });

    it('gives a forged frame\'s PROTOCOL_ERROR to the call it broke only: the next call gets a fresh worker and its answer', async () => {
      const api = new Dlhub({ home: suite.home, baseImage: testBaseImage() });
      try {
        await api.buildServable({ dir: engineServable(suite.dir, 'forger', 'forge', true, FORGING_APP), runtime: runtime === 'host' ? 'host' : undefined });
      } finally {
        await api.close();
      }
      const e = engine({ replicas: { default: 1, perServable: {} } });
      await expect(e.run({ name: 'forger', input: 'forge', runtime, noCache: true })).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
      await expect(e.run({ name: 'forger', input: 'plain', runtime, noCache: true })).resolves.toMatchObject({ output: 'plain' });
    });
  });
}

describe('dlhub rm with calls in flight', () => {
  const suite = suiteHome('dlhub-rm-');
  afterAll(() => suite.cleanup());

  it('removing one servable leaves in-flight calls of another running', async () => {
    await requireDocker();
    await buildEngineServables(suite.home, suite.dir, [['slow', 'tagged'], ['gone', 'echo']], { baseImage: testBaseImage() });
    const api = new Dlhub({ home: join(suite.home), baseImage: testBaseImage(), settings: { idleMs: 60_000 } });
    try {
      await api.runServable({ name: 'gone', input: 1, runtime: 'docker', noCache: true });
      expect(homeWorkerContainers(suite.home)).toHaveLength(1);
      const inFlight = api.runServable({ name: 'slow', input: { i: 7, s: 2 }, runtime: 'docker', noCache: true });
      await waitFor('the second servable\'s worker', () => homeWorkerContainers(suite.home).length >= 2);
      await api.removeServable({ name: 'gone' });
      const out = await inFlight;
      expect((out.output as Tagged)[0]).toBe(7);
      expect(homeWorkerContainers(suite.home)).toHaveLength(1);
    } finally {
      await api.close();
    }
    expect(homeWorkerContainers(suite.home)).toEqual([]);
  });
});
