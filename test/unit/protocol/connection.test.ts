import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError, ModelError, WorkerError } from '../../../main/errors.js';
import { RunnerConnection } from '../../../main/runtime/protocol/connection.js';
import { describeContainerExit, describeProcessExit } from '../../../main/runtime/protocol/death.js';
import { encodeFrame, FrameDecoder } from '../../../main/runtime/protocol/frame.js';
import { expectValidMessage } from './protocol-schema.js';

type Answer = (header: Record<string, unknown>) => Buffer;

/** A scripted runner on a real Unix socket: answers each request frame with `answer(header)`. */
async function pair(answer: Answer): Promise<{ connection: RunnerConnection; peer: Promise<Socket>; server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-conn-'));
  const path = join(dir, 's.sock');
  const server = createServer();
  const peer = new Promise<Socket>((resolve) => server.once('connection', (socket) => {
    const decoder = new FrameDecoder();
    socket.on('data', (c: Buffer) => { for (const f of decoder.push(c)) socket.write(answer(f.header)); });
    resolve(socket);
  }));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const connection = new RunnerConnection(createConnection(path), { name: 'scripted', maxFrameBytes: 4096, trace: (_d, h) => expectValidMessage(h) });
  return { connection, peer, server, dir };
}

const error = (kind: string, type = 'ValueError') => (h: Record<string, unknown>) =>
  encodeFrame({ id: h['id'], ok: false, error: { kind, type, message: 'it went wrong', traceback: 'Traceback...' } });

describe('RunnerConnection', () => {
  const open: { server: Server; dir: string; connection: RunnerConnection }[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) {
      o.connection.close();
      o.server.close();
      rmSync(o.dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['model', ModelError, 'MODEL_ERROR'],
    ['input', InputError, 'INPUT_INVALID'],
    ['method', Error, 'METHOD_NOT_FOUND'],
    ['load', WorkerError, 'RUNNER_DIED'],
    ['protocol', WorkerError, 'PROTOCOL_ERROR'],
  ] as const)('maps error kind %s to a typed error', async (kind, cls, code) => {
    const p = await pair(error(kind));
    open.push(p);
    const err = await p.connection.run('m', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as WorkerError).code).toBe(code);
  });

  it('fails the call and every later one when the runner sends a frame over the limit', async () => {
    const p = await pair((h) => encodeFrame({ id: h['id'], ok: true, result: 'x'.repeat(10_000) }));
    open.push(p);
    const err = await p.connection.run('m', 1).catch((e: unknown) => e);
    expect((err as WorkerError).code).toBe('PROTOCOL_ERROR');
    expect((err as WorkerError).message).toContain('larger than the limit of 4096 bytes');
    await p.connection.closed;
    expect(((await p.connection.run('m', 1).catch((e: unknown) => e)) as WorkerError).code).toBe('PROTOCOL_ERROR');
  });

  it('fails pending calls with RUNNER_DIED naming the servable when the peer goes away', async () => {
    const p = await pair(() => Buffer.alloc(0));
    open.push(p);
    const pending = p.connection.run('m', 1).catch((e: unknown) => e);
    (await p.peer).destroy();
    const err = await pending;
    expect((err as WorkerError).code).toBe('RUNNER_DIED');
    expect((err as WorkerError).message).toContain('"scripted"');
  });

  it('rejects an input larger than the frame limit before sending it', async () => {
    const p = await pair(error('model'));
    open.push(p);
    const err = await p.connection.run('m', Buffer.alloc(8192)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('INPUT_TOO_LARGE');
    expect((err as InputError).message).toMatch(/over the frame limit of 4096 bytes/);
    expect((await p.connection.run('m', 1).catch((e: unknown) => e)) as ModelError).toBeInstanceOf(ModelError);
  });
});

describe('RunnerConnection when the runner dies', () => {
  function silentRunner(): { stream: Duplex; die: () => void } {
    const out = new PassThrough();
    const stream = Duplex.from({ readable: out, writable: new Writable({ write: (_c, _e, done) => done() }) });
    return { stream, die: () => out.end() };
  }

  it('fails pending and later calls with the reason the runtime gives: out of memory, with the container output', async () => {
    const { stream, die } = silentRunner();
    const exit = { exitCode: 137, oomKilled: true, memoryBytes: 256 * 1024 * 1024, logs: 'allocating 4 GB\nKilled' };
    const connection = new RunnerConnection(stream, { name: 'hungry', explainDeath: () => new Promise((r) => setTimeout(() => r(describeContainerExit(exit)), 50)) });
    const pending = connection.run('run', 1).catch((e: unknown) => e);
    die();
    await new Promise((r) => setImmediate(r));
    connection.close(); // the runtime tidies up while the report is on its way: the report still wins
    const later = connection.run('run', 2).catch((e: unknown) => e);
    for (const err of [await pending, await later]) {
      expect(err).toBeInstanceOf(WorkerError);
      expect((err as WorkerError).code).toBe('RUNNER_DIED');
      expect((err as WorkerError).message).toContain('the worker ran out of memory (limit 256 MiB); raise DLHUB_WORKER_MEMORY_BYTES');
      expect((err as WorkerError).message).toContain('allocating 4 GB');
      expect((err as WorkerError).hint).toContain('DLHUB_WORKER_MEMORY_BYTES above 268435456');
      expect((err as WorkerError).hint).not.toContain('logs');
    }
  });

  it('names the host log file that holds the runner output', async () => {
    const { stream, die } = silentRunner();
    const report = describeProcessExit({ code: 1, signal: null, output: 'Traceback: boom', logFile: '/home/u/.dlhub/logs/host-x.log' });
    const connection = new RunnerConnection(stream, { name: 'x', explainDeath: () => Promise.resolve(report) });
    const pending = connection.run('run', 1).catch((e: unknown) => e);
    die();
    const err = (await pending) as WorkerError;
    expect(err.message).toContain('exited with code 1');
    expect(err.message).toContain('Traceback: boom');
    expect(err.hint).toContain('/home/u/.dlhub/logs/host-x.log');
  });

  it('falls back to the plain reason when the runtime cannot say why', async () => {
    const { stream, die } = silentRunner();
    const connection = new RunnerConnection(stream, { name: 'y', explainDeath: () => Promise.reject(new Error('engine gone')) });
    const pending = connection.run('run', 1).catch((e: unknown) => e);
    die();
    const err = (await pending) as WorkerError;
    expect(err.code).toBe('RUNNER_DIED');
    expect(err.message).toContain('it closed the connection');
  });
});
