import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerError } from '../../../main/errors.js';
import type { RunnerConnection } from '../../../main/runtime/protocol/connection.js';
import { handshake, listenForRunner, RunnerWorker, type RunnerProcess } from '../../../main/runtime/worker-process.js';
import { tempDir } from '../../helpers/home.js';

const tmp = tempDir('dlhub-wp-');
afterAll(() => tmp.remove());

/** A process that exits when killed (or when `exit()` is called), counting what was done to it. */
function fakeProcess(): RunnerProcess & { kills: number; cleanups: number; exit: () => void } {
  let exit!: () => void;
  let alive = true;
  const exited = new Promise<void>((resolve) => {
    exit = () => {
      alive = false;
      resolve();
    };
  });
  const proc = {
    kills: 0,
    cleanups: 0,
    exit,
    exited,
    alive: () => alive,
    kill: async () => {
      proc.kills += 1;
      exit();
    },
    cleanup: async () => {
      proc.cleanups += 1;
    },
    diedBeforeHello: async () => new WorkerError('RUNNER_DIED', 'died before hello'),
  };
  return proc;
}

function fakeConnection(onShutdown: () => void): RunnerConnection & { closed: number } {
  const conn = {
    closed: 0,
    shutdown: async () => onShutdown(),
    close: () => {
      conn.closed += 1;
    },
  };
  return conn as unknown as RunnerConnection & { closed: number };
}

describe('RunnerWorker', () => {
  it('asks the runner to stop and kills nothing when it exits within the grace period', async () => {
    const proc = fakeProcess();
    const worker = new RunnerWorker('w1', 'host', fakeConnection(() => proc.exit()), proc, 1000);
    await worker.stop();
    expect(proc.kills).toBe(0);
    expect(proc.cleanups).toBe(1);
    await worker.stop(); // idempotent
    expect(proc.cleanups).toBe(1);
  });

  it('kills a runner that ignores the request after the grace period, then cleans up once', async () => {
    const proc = fakeProcess();
    const worker = new RunnerWorker('w2', 'docker', fakeConnection(() => undefined), proc, 50);
    await worker.stop();
    expect(proc.kills).toBe(1);
    expect(proc.cleanups).toBe(1);
  });

  it('cleans up a runner that exits on its own, without anyone calling stop', async () => {
    const proc = fakeProcess();
    const conn = fakeConnection(() => undefined);
    new RunnerWorker('w3', 'host', conn, proc, 1000);
    proc.exit();
    await expect.poll(() => proc.cleanups).toBe(1);
    expect(conn.closed).toBeGreaterThan(0);
  });
});

describe('handshake', () => {
  it('fails with the process\'s own error when it exits before hello, and kills and cleans up', async () => {
    const proc = fakeProcess();
    const never = new Promise<never>(() => undefined);
    const pending = handshake(proc, { name: 's', stream: never, timeoutMs: 5000, timeoutHint: 'h' });
    proc.exit();
    await expect(pending).rejects.toThrow('died before hello');
    expect(proc.cleanups).toBe(1);
  });

  it('fails RUNNER_DIED naming the deadline when nothing answers in time', async () => {
    const proc = fakeProcess();
    const never = new Promise<never>(() => undefined);
    const err = await handshake(proc, { name: 's', stream: never, timeoutMs: 50, timeoutHint: 'check the log' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).message).toBe('The runner of "s" did not answer hello within 0.05 s.');
    expect((err as WorkerError).hint).toBe('check the log');
    expect(proc.kills).toBe(1);
    expect(proc.cleanups).toBe(1);
  });
});

describe('listenForRunner', () => {
  it('takes the first connection and refuses later ones', async () => {
    const path = join(tmp.path, 'r.sock');
    const { server, connected } = await listenForRunner(path);
    const first = connect(path);
    const socket = await connected;
    expect(socket).toBeDefined();
    const second = connect(path);
    const refused = await new Promise<string>((resolve) => {
      second.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      second.once('connect', () => resolve('connected'));
    });
    expect(refused).toMatch(/ECONNREFUSED|ENOENT/);
    first.destroy();
    socket.destroy();
    server.close();
  });

  it('fails RUNNER_DIED naming the path when it cannot listen there', async () => {
    const err = await listenForRunner(join(tmp.path, 'missing', 'r.sock')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).message).toContain(join(tmp.path, 'missing', 'r.sock'));
  });
});
