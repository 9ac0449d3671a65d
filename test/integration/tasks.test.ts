// Asynchronous tasks against real workers: submit/result/cancel/timeout, results that survive a
// restart, and a process SIGKILLed mid-run whose tasks all end correctly in the next process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LimitError, ModelError, TaskError, WorkerError } from '../../main/errors.js';
import { TaskStore } from '../../main/engine/task-store.js';
import { buildEngineServables, openEngine } from '../helpers/engine.js';
import { waitFor } from '../helpers/wait.js';
import { homeWorkerContainers, requireDocker, suiteHome, testBaseImage } from '../helpers/docker.js';

type Tagged = [number, string];

for (const runtime of ['host', 'docker'] as const) {
  describe(`tasks on the ${runtime} runtime`, () => {
    const suite = suiteHome(`dlhub-tasks-${runtime}-`);
    let e: ReturnType<typeof openEngine>;

    beforeAll(async () => {
      await requireDocker();
      await buildEngineServables(suite.home, suite.dir, [['tagged', 'tagged'], ['double', 'double'], ['echo', 'echo']], {
        baseImage: testBaseImage(),
        hostOnly: runtime === 'host',
      });
      e = openEngine(suite.home, { idleMs: 60_000 });
    });
    afterAll(async () => {
      await e.close();
      // Closing the engine leaves none of this suite's workers behind, even after cancels and timeouts.
      const left = homeWorkerContainers(suite.home);
      suite.cleanup();
      expect(left).toEqual([]);
    });

    it('submit answers at once; the result comes later, and the task is listed as succeeded', async () => {
      const info = e.engine.submit({ name: 'tagged', input: { i: 5, s: 0.3 }, runtime, noCache: true });
      expect(['pending', 'running']).toContain(info.status);
      expect(info.servable).toBe('tagged');
      const out = await e.engine.result(info.id, { waitMs: 60_000 });
      expect((out.output as Tagged)[0]).toBe(5);
      expect(e.engine.task(info.id)).toMatchObject({ status: 'succeeded', restarts: 0 });
      expect(e.engine.tasks.list({ status: 'succeeded' }).map((t) => t.id)).toContain(info.id);
    });

    it('tells a subscriber every state a task goes through, until it unsubscribes', async () => {
      const seen: { id: string; status: string; progress: unknown }[] = [];
      const unsubscribe = e.engine.tasks.subscribe((t) => seen.push({ id: t.id, status: t.status, progress: t.progress }));
      // A running task also reports how far it has got: each report repeats 'running', with its progress.
      const states = (id: string): string[] => seen.filter((t) => t.id === id).map((t) => t.status).filter((s, i, all) => s !== all[i - 1]);
      const done = e.engine.submit({ name: 'tagged', input: { i: 6 }, runtime, noCache: true });
      await e.engine.result(done.id, { waitMs: 60_000 });
      const stopped = e.engine.submit({ name: 'tagged', input: { i: 7, s: 30 }, runtime, noCache: true });
      await waitFor('the long task to run', () => seen.some((t) => t.id === stopped.id && t.status === 'running'));
      e.engine.cancel(stopped.id);
      unsubscribe();
      const later = e.engine.submit({ name: 'tagged', input: { i: 8 }, runtime, noCache: true });
      await e.engine.result(later.id, { waitMs: 60_000 });
      expect(states(done.id)).toEqual(['pending', 'running', 'succeeded']);
      expect(states(stopped.id)).toEqual(['pending', 'running', 'cancelled']);
      const runningReports = seen.filter((t) => t.id === done.id && t.status === 'running');
      expect(runningReports.slice(1).every((t) => t.progress !== undefined)).toBe(true);
      expect(seen.filter((t) => t.id === later.id)).toEqual([]);
    });

    it('re-raises the servable\'s own error class from a failed task', async () => {
      const info = e.engine.submit({ name: 'double', input: -3, runtime, noCache: true });
      const err = await e.engine.result(info.id, { waitMs: 60_000 }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).pythonType).toBe('ValueError');
      expect(e.engine.task(info.id).status).toBe('failed');
    });

    it('keeps per-item errors of a batch task', async () => {
      const info = e.engine.submit({ name: 'double', inputs: [2, -1], runtime, noCache: true });
      const out = await e.engine.result(info.id, { waitMs: 60_000 });
      expect(out.output).toEqual([4, null]);
      expect(out.errors?.[1]).toMatchObject({ code: 'MODEL_ERROR' });
    });

    it('says a task is still running when the wait runs out, then cancels it and stops its worker', async () => {
      const warm = await e.engine.run({ name: 'tagged', input: { i: 0 }, runtime, noCache: true });
      const info = e.engine.submit({ name: 'tagged', input: { i: 1, s: 30 }, runtime, noCache: true });
      const waited = await e.engine.result(info.id, { waitMs: 300 }).catch((x: unknown) => x);
      expect(waited).toBeInstanceOf(LimitError);
      expect((waited as LimitError).code).toBe('TIMEOUT');
      expect((waited as LimitError).details).toMatchObject({ status: 'running' });
      expect(e.engine.cancel(info.id).status).toBe('cancelled');
      const err = await e.engine.result(info.id).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(TaskError);
      expect((err as TaskError).code).toBe('CANCELLED');
      // The worker busy with the cancelled call was stopped: the next call gets a fresh one at once.
      const next = await e.engine.run({ name: 'tagged', input: { i: 2 }, runtime, noCache: true });
      expect((next.output as Tagged)[1]).not.toBe((warm.output as Tagged)[1]);
    });

    it('stops the worker of a task cancelled from another process', async () => {
      const warm = await e.engine.run({ name: 'tagged', input: { i: 0 }, runtime, noCache: true });
      const info = e.engine.submit({ name: 'tagged', input: { i: 1, s: 30 }, runtime, noCache: true });
      await waitFor('the task to run', () => e.engine.task(info.id).status === 'running');
      const other = openEngine(suite.home);
      try {
        expect(other.engine.cancel(info.id).status).toBe('cancelled');
      } finally {
        await other.close();
      }
      const err = await e.engine.result(info.id, { waitMs: 60_000 }).catch((x: unknown) => x);
      expect((err as TaskError).code).toBe('CANCELLED');
      // The owner noticed and stopped the busy worker: the next call does not wait 30 s behind it.
      const next = await e.engine.run({ name: 'tagged', input: { i: 2 }, runtime, noCache: true, timeoutMs: 20_000 });
      expect((next.output as Tagged)[1]).not.toBe((warm.output as Tagged)[1]);
    });

    it('fails a task that overruns its timeout with TIMEOUT', async () => {
      const info = e.engine.submit({ name: 'tagged', input: { i: 1, s: 30 }, runtime, noCache: true, timeoutMs: 300 });
      const err = await e.engine.result(info.id, { waitMs: 60_000 }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(LimitError);
      expect((err as LimitError).code).toBe('TIMEOUT');
      expect(e.engine.task(info.id).status).toBe('failed');
    });

    it('answers TASK_NOT_FOUND for an unknown id', () => {
      expect(() => e.engine.task('no-such-task')).toThrow(TaskError);
      expect(() => e.engine.cancel('no-such-task')).toThrow(/no-such-task/);
    });

    it('keeps a finished result, bytes included, for the next process', async () => {
      const bytes = Buffer.from([0, 1, 2, 255]);
      const info = e.engine.submit({ name: 'echo', input: { data: bytes }, runtime, noCache: true });
      await e.engine.result(info.id, { waitMs: 60_000 });
      const other = openEngine(suite.home);
      try {
        const out = await other.engine.result(info.id);
        expect(Buffer.isBuffer((out.output as { data: unknown }).data)).toBe(true);
        expect((out.output as { data: Buffer }).data.equals(bytes)).toBe(true);
      } finally {
        await other.close();
      }
    });
  });
}

const root = resolve(import.meta.dirname, '../..');

/** dist/ must hold the engine as it is now: the child process imports the compiled modules. */
function distUrl(rel: string): string {
  const file = join(root, 'dist', rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before this test.`);
  const built = statSync(file).mtimeMs;
  const src = join(root, 'main/engine');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (newest > built) throw new Error(`dist/ is older than main/engine/: run \`npm run build\` before this test.`);
  return pathToFileURL(file).href;
}

// Children still running when their test ends (it failed, or ran out of time) are killed by the
// suite: each one keeps itself alive, and a process left behind would outlive the whole run.
const children = new Set<ChildProcess>();

/**
 * Start a child process with an engine over `home` (two tasks at a time) that runs `body` (which
 * sees `engine`) and writes one JSON line; resolves with the child and that line. Its stderr is
 * copied to this process's (never handed to it: a child holding the test runner's own output open
 * would keep the runner from exiting).
 */
async function engineChild<T>(home: string, body: string): Promise<{ child: ChildProcess; out: T }> {
    const urls = {
      engine: distUrl('main/engine/engine.js'),
      settings: distUrl('main/engine/settings.js'),
      memo: distUrl('main/memo/memo-cache.js'),
      registry: distUrl('main/runtime/registry.js'),
      client: distUrl('main/runtime/docker-client.js'),
      home: distUrl('main/storage/home.js'),
    };
    const script = `
      const [{ Engine }, { loadSettings }, { MemoCache }, { RuntimeRegistry }, { DockerClient }, { ensureHome, homePaths }] = await Promise.all(
        [${[urls.engine, urls.settings, urls.memo, urls.registry, urls.client, urls.home].map((u) => JSON.stringify(u)).join(', ')}].map((u) => import(u)));
      const paths = ensureHome(homePaths(${JSON.stringify(home)}));
      const settings = { ...loadSettings({}), maxConcurrency: 2 };
      const registry = RuntimeRegistry.standard({ docker: new DockerClient(), runDir: paths.run, logDir: paths.logs, defaults: { memoryBytes: settings.workerMemoryBytes, pidsLimit: settings.workerPidsLimit } });
      const engine = new Engine(paths, settings, MemoCache.open(paths.memoDb), registry);
      ${body}
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    const out = await new Promise<T>((done, fail) => {
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) done(JSON.parse(text.split('\n')[0] ?? '{}') as T);
      });
      child.once('close', (code) => fail(new Error(`child exited (${code}) before submitting: ${text}`)));
    });
    return { child, out };
}

/** Pids of the host runners working in `home` (their working folder is their servable's, in the home). */
function runnersIn(home: string): number[] {
  const inside = `${resolve(home)}/`;
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/cwd`).startsWith(inside);
    } catch {
      return false; // gone meanwhile, or a zombie
    }
  }).map(Number);
}

// Nothing here is timed: every step waits for state it can see (a task's status, a stored part), each
// wait with a deadline far beyond what a loaded machine needs, and the long calls outlast any of them.
const LONG_S = 600;
const WAIT_MS = 120_000;

describe('a process killed with SIGKILL while it runs tasks', () => {
  const suite = suiteHome('dlhub-tasks-kill-');
  beforeAll(async () => {
    await buildEngineServables(suite.home, suite.dir, [['slow', 'tagged'], ['dice', 'dice', false]], { hostOnly: true });
  });
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    // The killed process's runners are orphans still inside their long calls: they are this suite's to end.
    for (const pid of runnersIn(suite.home)) process.kill(pid, 'SIGKILL');
    suite.cleanup();
  });

  it('loses no task: finished results stay, deterministic ones run again, non-deterministic ones that were running fail with the reason', async () => {
    // The child runs two tasks at a time: the first two are running when it dies, the rest still pending.
    const { child, out: ids } = await engineChild<{ quick: string; runningNd: string; runningDet: string; pendingDet: string[]; pendingNd: string }>(suite.home, `
      const quick = engine.submit({ name: 'slow', input: { i: 0 }, runtime: 'host' });
      await engine.result(quick.id, { waitMs: ${WAIT_MS} });
      const runningNd = engine.submit({ name: 'dice', input: { s: ${LONG_S} }, runtime: 'host' }).id;
      const runningDet = engine.submit({ name: 'slow', input: { i: 1, s: ${LONG_S} }, runtime: 'host' }).id;
      const pendingDet = [2, 3].map((i) => engine.submit({ name: 'slow', input: { i, s: 0.2 }, runtime: 'host' }).id);
      const pendingNd = engine.submit({ name: 'dice', input: { s: 0 }, runtime: 'host' }).id;
      process.stdout.write(JSON.stringify({ quick: quick.id, runningNd, runningDet, pendingDet, pendingNd }) + '\\n');
    `);

    // Replicas enough that the long re-run does not hold up the short ones behind it.
    const next = openEngine(suite.home, { replicas: { default: 3, perServable: {} } });
    try {
      // Kill only once both long tasks are running in the child.
      await waitFor('both long tasks to run in the child', () => [ids.runningNd, ids.runningDet].every((id) => next.engine.task(id).status === 'running'), { timeoutMs: WAIT_MS });
      expect(next.engine.task(ids.runningDet).status).toBe('running');
      expect(next.engine.task(ids.pendingNd).status).toBe('pending');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));

      // The new process takes over what the dead one left.
      const adopted = next.engine.recover();
      expect(adopted.sort()).toEqual([ids.runningDet, ...ids.pendingDet, ids.pendingNd].sort());

      expect(((await next.engine.result(ids.quick)).output as Tagged)[0]).toBe(0);
      const nd = await next.engine.result(ids.runningNd).catch((x: unknown) => x);
      expect(nd).toBeInstanceOf(WorkerError);
      expect((nd as WorkerError).message).toContain('not deterministic');
      expect(next.engine.task(ids.runningNd).status).toBe('failed');
      // The long deterministic task runs again in full here, so it is cancelled once it is seen running again.
      await waitFor('the deterministic task to run again', () => next.engine.task(ids.runningDet).status === 'running', { timeoutMs: WAIT_MS });
      expect(next.engine.task(ids.runningDet).restarts).toBe(1);
      for (const [n, id] of ids.pendingDet.entries()) {
        expect(((await next.engine.result(id, { waitMs: WAIT_MS })).output as Tagged)[0]).toBe(n + 2);
      }
      expect(typeof (await next.engine.result(ids.pendingNd, { waitMs: WAIT_MS })).output).toBe('number');
      expect(next.engine.cancel(ids.runningDet).status).toBe('cancelled');
      const counts = next.engine.status().tasks;
      expect(counts.pending + counts.running).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await next.close();
    }
  }, 5 * WAIT_MS);

  it('keeps the answers a worker had given for a non-deterministic batch: finished inputs keep them, only the unfinished fail', async () => {
    // The first part of the batch (1024 inputs) is answered at once; the second hangs until the kill.
    const inputs = [...Array.from({ length: 1024 }, () => ({ s: 0 })), ...Array.from({ length: 4 }, () => ({ s: LONG_S }))];
    const { child, out } = await engineChild<{ id: string }>(suite.home, `
      const task = engine.submit({ name: 'dice', inputs: ${JSON.stringify(inputs)}, runtime: 'host' });
      process.stdout.write(JSON.stringify({ id: task.id }) + '\\n');
    `);
    const watch = new TaskStore(join(suite.home, 'state.db'));
    const next = openEngine(suite.home);
    try {
      await waitFor('the first part of the batch to be answered', () => watch.parts(out.id).length > 0, { timeoutMs: WAIT_MS });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      next.engine.recover();
      const result = await next.engine.result(out.id);
      const outputs = result.output as (number | null)[];
      expect(outputs.slice(0, 1024).every((x) => typeof x === 'number')).toBe(true);
      expect(outputs.slice(1024)).toEqual([null, null, null, null]);
      expect(result.errors?.slice(0, 1024).every((e) => e === null)).toBe(true);
      expect(result.errors?.slice(1024).map((e) => e?.code)).toEqual(['RUNNER_DIED', 'RUNNER_DIED', 'RUNNER_DIED', 'RUNNER_DIED']);
      expect(next.engine.task(out.id).status).toBe('succeeded');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      watch.close();
      await next.close();
    }
  }, 3 * WAIT_MS);
});
