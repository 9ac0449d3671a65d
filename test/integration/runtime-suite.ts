// What every runtime's workers do alike, run against each runtime by its own test file
// (docker-runtime, host-runtime, apptainer-runtime): answer, batch, stay warm, report a model error
// and keep serving, carry frames over stdio, die visibly, be replaced when stuck, and stop without a
// trace. Each file keeps the tests only its runtime has (isolation, images, logs).
import { readdirSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkerError, type DlhubError } from '../../main/errors.js';
import type { Worker } from '../../main/runtime/runtime.js';

/** The probe servable's one method, `run`: every runtime's suite runs this same code. */
export const PROBE_APP = `
import os, socket, time

# Made once per runner process: two answers with the same token came from the same runner.
TOKEN = os.urandom(8).hex()

def run(request):
    op = request["op"]
    if op == "add":
        return request["x"] + 1
    if op == "token":
        return TOKEN
    if op == "pid":
        return os.getpid()
    if op == "uid":
        return os.getuid()
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
    if op == "env":
        return sorted(k for k in os.environ if k.startswith("SECRET"))
    if op == "home":
        return os.path.exists(os.environ.get("OUTSIDE_HOME", "/nonexistent"))
    if op == "sleep":
        time.sleep(request["seconds"])
        return "slept"
    if op == "fail":
        raise ValueError("bad op")
    raise ValueError("unknown op %s" % op)
`;

/** What one runtime brings to the shared suite, made once its file's own set-up has run. */
export interface RuntimeUnderTest {
  /** The probe servable's name (it appears in the workers' error messages). */
  name: string;
  /** Start a worker of the probe servable (PROBE_APP). */
  start(opts?: { transport?: 'socket' | 'stdio' }): Promise<Worker>;
  /** Start a worker whose runner cannot start (an image or folder without one). */
  startWithoutRunner(): Promise<Worker>;
  /** The folder of the workers' sockets: empty whenever none of them runs. */
  runDir: string;
  /** What is left of this suite's workers: their containers or processes. */
  leftovers(): string[];
  /** SIGKILL the running worker from outside, as the kernel's OOM killer would. */
  kill(): void;
}

/** Answer of the probe's `run` for one input. */
export async function call(worker: Worker, input: unknown): Promise<unknown> {
  return (await worker.connection.run('run', input)).output;
}

function codeOf(err: unknown): string | undefined {
  return (err as DlhubError | undefined)?.code;
}

/** The behaviours every runtime shares, against the runtime `setup` returns. */
export function describeRuntime(runtime: string, setup: () => RuntimeUnderTest | Promise<RuntimeUnderTest>): void {
  describe(`${runtime} runtime: what every runtime's workers do`, () => {
    let rt: RuntimeUnderTest;
    const started: Worker[] = [];

    async function start(opts?: { transport?: 'socket' | 'stdio' }): Promise<Worker> {
      const worker = await rt.start(opts);
      started.push(worker);
      return worker;
    }

    beforeAll(async () => {
      rt = await setup();
    });

    afterEach(async () => {
      await Promise.all(started.splice(0).map((w) => w.stop()));
    });

    it('answers calls from one warm runner, each with its own input', async () => {
      const worker = await start();
      const token = await call(worker, { op: 'token' });
      expect(await call(worker, { op: 'add', x: 41 })).toBe(42);
      for (let i = 0; i < 200; i += 1) expect(await call(worker, { op: 'add', x: i })).toBe(i + 1);
      expect(await call(worker, { op: 'token' })).toBe(token);
    });

    it('answers a batch with the outputs of the same inputs called one by one', async () => {
      const worker = await start();
      const inputs = [{ op: 'add', x: 1 }, { op: 'add', x: -5 }, { op: 'token' }];
      const batch = await worker.connection.runBatch('run', inputs);
      const single = [];
      for (const input of inputs) single.push(await call(worker, input));
      expect(batch.outputs).toEqual([2, -4, single[2]]);
      expect(batch.outputs).toEqual(single);
    });

    it('answers a model error as MODEL_ERROR and keeps the worker', async () => {
      const worker = await start();
      const token = await call(worker, { op: 'token' });
      const err = await call(worker, { op: 'fail' }).catch((e: unknown) => e);
      expect(codeOf(err)).toBe('MODEL_ERROR');
      expect((err as DlhubError).message).toContain('bad op');
      expect(await call(worker, { op: 'add', x: 5 })).toBe(6);
      expect(await call(worker, { op: 'token' })).toBe(token);
    });

    it('carries frames over stdio when asked, and leaves nothing after stop', async () => {
      const worker = await start({ transport: 'stdio' });
      expect(await call(worker, { op: 'add', x: 1 })).toBe(2);
      expect(await call(worker, { op: 'add', x: 2 })).toBe(3);
      await worker.stop();
      await expect.poll(() => rt.leftovers(), { timeout: 15_000 }).toEqual([]);
    });

    it('stops cleanly: nothing left running, no socket, later calls fail with RUNNER_DIED, a second stop is harmless', async () => {
      const worker = await start();
      expect(rt.leftovers().length).toBeGreaterThan(0);
      await worker.stop();
      await worker.exited;
      await expect.poll(() => rt.leftovers(), { timeout: 15_000 }).toEqual([]);
      expect(readdirSync(rt.runDir)).toEqual([]);
      const later = await call(worker, { op: 'add', x: 1 }).catch((e: unknown) => e);
      expect(codeOf(later)).toBe('RUNNER_DIED');
      await worker.stop();
    });

    it('fails the pending call and every later one with RUNNER_DIED when the runner is killed mid-call, and clears it away', async () => {
      const worker = await start();
      const pending = call(worker, { op: 'sleep', seconds: 60 }).catch((e: unknown) => e);
      rt.kill();
      const err = await pending;
      expect(err).toBeInstanceOf(WorkerError);
      expect(codeOf(err)).toBe('RUNNER_DIED');
      expect((err as WorkerError).message).toContain(rt.name);
      await worker.exited;
      const later = await call(worker, { op: 'add', x: 1 }).catch((e: unknown) => e);
      expect(codeOf(later)).toBe('RUNNER_DIED');
      // The dead worker is cleared away without anyone calling stop().
      await expect.poll(() => rt.leftovers(), { timeout: 15_000 }).toEqual([]);
      await expect.poll(() => readdirSync(rt.runDir), { timeout: 15_000 }).toEqual([]);
    });

    it('stops a worker stuck in a call (what a timeout does), failing that call, and a fresh worker answers', async () => {
      const stuck = await start();
      const token = await call(stuck, { op: 'token' });
      const pending = call(stuck, { op: 'sleep', seconds: 60 }).catch((e: unknown) => e);
      await stuck.stop();
      expect(codeOf(await pending)).toBe('RUNNER_DIED');
      await expect.poll(() => rt.leftovers(), { timeout: 15_000 }).toEqual([]);
      const fresh = await start();
      expect(await call(fresh, { op: 'add', x: 1 })).toBe(2);
      expect(await call(fresh, { op: 'token' })).not.toBe(token);
    });

    it('fails with RUNNER_DIED and the runner\'s output when it exits before hello, leaving nothing behind', async () => {
      const err = await rt.startWithoutRunner().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerError);
      expect(codeOf(err)).toBe('RUNNER_DIED');
      expect((err as WorkerError).message).toMatch(/exited .*before (its runner answered|answering hello)/);
      expect(rt.leftovers()).toEqual([]);
      expect(readdirSync(rt.runDir)).toEqual([]);
    });
  });
}
