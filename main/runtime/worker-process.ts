/**
 * What every runtime does with its runner process, whatever holds it (a container, a host
 * subprocess, later an Apptainer instance or a Slurm job): listen on the worker's Unix socket,
 * wait for the runner's `hello` (or its death, or a deadline), and stop it gracefully (ask, wait,
 * kill, clean up). A runtime supplies only how to kill, clean up and explain its process.
 */
import { chown } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WorkerError } from '../errors.js';
import { RunnerConnection, type ConnectionOptions } from './protocol/connection.js';
import type { RuntimeName, Worker } from './runtime.js';

/** Resolve after `ms`; the timer never keeps the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A Unix socket the runner connects to; `connected` resolves with the first connection. */
export interface SocketListener {
  server: Server;
  connected: Promise<Socket>;
}

/** Listen on `path` for the one runner of a worker; the socket file is handed to `chownTo` when set. */
export async function listenForRunner(path: string, chownTo?: { uid: number; gid: number }): Promise<SocketListener> {
  const server = createServer();
  const connected = new Promise<Socket>((resolve) => {
    server.once('connection', (socket) => {
      socket.setNoDelay?.(true);
      // One runner per worker: nobody else may connect.
      server.close();
      resolve(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => reject(new WorkerError('RUNNER_DIED', `Could not listen on the worker socket ${path}: ${err.message}.`, {
      hint: 'Check that DLHUB_HOME/run is writable and not on a file system without Unix sockets.',
      cause: err,
    }));
    server.once('error', failed);
    server.listen(path, () => {
      server.off('error', failed);
      resolve();
    });
  });
  if (chownTo) await chown(path, chownTo.uid, chownTo.gid);
  return { server, connected };
}

/** How a runtime's process is handled by the shared start-up and stop logic. */
export interface RunnerProcess {
  /** Resolves when the process has gone, for any reason. */
  readonly exited: Promise<void>;
  /** Is the process still running? */
  alive(): boolean;
  /** End it at once (SIGKILL, container removal). Never throws. */
  kill(): Promise<void>;
  /** Release what the worker held (socket, folders, a stopped container). Idempotent; may throw. */
  cleanup(): Promise<void>;
  /** The error for a runner that exited before answering hello, with its last output. */
  diedBeforeHello(): Promise<WorkerError>;
}

/** How long start-up and stop may take. */
export interface HandshakeOptions {
  /** Servable name, for messages and the connection. */
  name: string;
  /** The frames' stream: the socket connection, or the process's stdio. */
  stream: Promise<Duplex>;
  /** From start to hello answered. */
  timeoutMs: number;
  /** What to say when the runner did not answer in time. */
  timeoutHint: string;
  trace?: ConnectionOptions['trace'];
}

// A runner that crashed closes its stream just before it exits: this long is given to the exit,
// whose error carries the output.
const PREFER_EXIT_MS = 500;

/**
 * Connect to the runner and wait for its `hello`, or for its death (with its output), or for the
 * deadline. On any failure the process is killed and cleaned up before the error is thrown.
 */
export async function handshake(proc: RunnerProcess, opts: HandshakeOptions): Promise<RunnerConnection> {
  let settled = false;
  let connection: RunnerConnection | undefined;
  const died = proc.exited.then(async (): Promise<never> => {
    if (settled) return new Promise<never>(() => undefined);
    throw await proc.diedBeforeHello();
  });
  died.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WorkerError('RUNNER_DIED', `The runner of "${opts.name}" did not answer hello within ${opts.timeoutMs / 1000} s.`, { hint: opts.timeoutHint })), opts.timeoutMs);
    timer.unref();
  });
  const connect = async (): Promise<RunnerConnection> => {
    connection = new RunnerConnection(await opts.stream, { name: opts.name, trace: opts.trace });
    try {
      await connection.hello();
    } catch (err) {
      // A model that failed to load says so itself; any other failure waits a moment for the exit's error.
      const loadFailed = err instanceof WorkerError && err.details?.['kind'] === 'load';
      if (!loadFailed) await Promise.race([died, sleep(PREFER_EXIT_MS)]);
      throw err;
    }
    return connection;
  };
  try {
    return await Promise.race([connect(), died, timedOut]);
  } catch (err) {
    connection?.close();
    await proc.kill();
    await proc.cleanup().catch(() => undefined);
    throw err;
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

/**
 * A started runner of any runtime. stop() asks the runner to shut down, waits up to the grace
 * period, kills what is left and cleans up; a runner that exits on its own is cleaned up too.
 */
export class RunnerWorker implements Worker {
  private stopping: Promise<void> | undefined;
  private cleaning: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly runtime: RuntimeName,
    readonly connection: RunnerConnection,
    private readonly proc: RunnerProcess,
    private readonly graceMs: number,
  ) {
    void proc.exited.then(() => {
      connection.close();
      // A failure here resurfaces to whoever calls stop(); it must not crash the process now.
      this.cleanup().catch(() => undefined);
    });
  }

  get exited(): Promise<void> {
    return this.proc.exited;
  }

  /** Ask the runner to shut down, kill it after the grace period, release what it held. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private cleanup(): Promise<void> {
    this.cleaning ??= this.proc.cleanup();
    return this.cleaning;
  }

  private async shutdown(): Promise<void> {
    if (this.proc.alive()) {
      await Promise.race([this.connection.shutdown().catch(() => undefined), sleep(this.graceMs)]);
      await Promise.race([this.proc.exited, sleep(this.graceMs)]);
      if (this.proc.alive()) await this.proc.kill();
      await Promise.race([this.proc.exited, sleep(this.graceMs)]);
    }
    this.connection.close();
    await this.cleanup();
  }
}
