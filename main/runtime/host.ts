import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { WorkerError } from '../errors.js';
import { RunnerConnection, type ConnectionOptions } from './protocol/connection.js';
import { describeProcessExit } from './protocol/death.js';
import { findPython } from './python.js';
import type { Runtime, Worker, WorkerSpec } from './runtime.js';
import { removeWorkerSocket, workerSocketPath } from './socket-path.js';

/** How a HostRuntime is set up. */
export interface HostRuntimeOptions {
  /** Folder for worker sockets ($DLHUB_HOME/run). */
  runDir: string;
  /** Folder where each servable's runner output is appended (host-NAME.log); none when absent. */
  logDir?: string | undefined;
  /** From spawn to hello answered; default 30 s. */
  startTimeoutMs?: number | undefined;
  /** How long stop() waits for a clean exit before SIGKILL; default 2 s. */
  stopGraceMs?: number | undefined;
  /** Sees every header sent and received by every worker (debugging, protocol tests). */
  trace?: ConnectionOptions['trace'];
}

const TAIL_CHARS = 4000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Keeps the last lines the runner wrote (for error messages) and appends everything to a log file. */
class OutputTail {
  private text = '';
  private readonly log: WriteStream | undefined;

  constructor(logFile: string | undefined) {
    this.log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    this.log?.on('error', () => undefined); // a full disk must not kill the worker
  }

  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-TAIL_CHARS);
    this.log?.write(chunk);
  }

  get lines(): string {
    return this.text.trimEnd() || '(no output)';
  }

  end(): void {
    this.log?.end();
  }
}

/** One runner subprocess of the host Python. */
class HostWorker implements Worker {
  readonly runtime = 'host' as const;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly connection: RunnerConnection,
    readonly exited: Promise<void>,
    private readonly child: ChildProcess,
    private readonly graceMs: number,
    private readonly cleanup: () => void,
  ) {
    void exited.then(() => {
      connection.close();
      cleanup();
    });
  }

  /** Ask the runner to shut down; SIGKILL it after the grace period; remove its socket. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([this.connection.shutdown().catch(() => undefined), sleep(this.graceMs)]);
      await Promise.race([this.exited, sleep(this.graceMs)]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    await this.exited;
    this.connection.close();
    this.cleanup();
  }
}

/** Runs servables with the host's Python: one dlhub_runner.py subprocess per worker. */
export class HostRuntime implements Runtime {
  readonly name = 'host' as const;

  constructor(private readonly opts: HostRuntimeOptions) {}

  /** Is there a host Python 3 at all? Never throws. */
  async available(): Promise<boolean> {
    try {
      await findPython();
      return true;
    } catch {
      return false;
    }
  }

  /** Spawn the runner, wait for it to connect and answer hello. */
  async start(spec: WorkerSpec): Promise<Worker> {
    const python = spec.python ?? (await findPython()).path;
    const id = randomBytes(6).toString('hex');
    const stdio = spec.transport === 'stdio';
    let server: Server | undefined;
    let socketPath: string | undefined;
    let connected: Promise<Socket> | undefined;
    if (!stdio) {
      mkdirSync(this.opts.runDir, { recursive: true, mode: 0o700 });
      socketPath = workerSocketPath(this.opts.runDir, `h${id}`);
      ({ server, connected } = await listen(socketPath));
    }
    const cleanup = (): void => {
      server?.close();
      if (socketPath) removeWorkerSocket(socketPath);
    };

    if (this.opts.logDir) mkdirSync(this.opts.logDir, { recursive: true });
    const logFile = this.opts.logDir ? join(this.opts.logDir, `host-${spec.name.replace(/[^\w.-]/g, '_')}.log`) : undefined;
    const output = new OutputTail(logFile);
    const env: NodeJS.ProcessEnv = { ...process.env, DLHUB_SERVABLE_DIR: spec.servableDir, PYTHONDONTWRITEBYTECODE: '1' };
    if (socketPath) env['DLHUB_SOCKET'] = socketPath;
    else delete env['DLHUB_SOCKET'];
    const child = spawn(python, [join(spec.runnerDir, 'dlhub_runner.py')], {
      cwd: spec.servableDir,
      env,
      stdio: [stdio ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (c: Buffer) => output.add(c));
    if (!stdio) child.stdout?.on('data', (c: Buffer) => output.add(c));
    let spawnError: Error | undefined;
    // 'close' (not 'exit') so the last stderr lines have arrived when it fires.
    const exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('close', () => resolve());
    }).finally(() => output.end());

    let settled = false;
    const died = exited.then((): never => {
      if (settled) return undefined as never;
      const how = spawnError ? `could not start ${python} (${spawnError.message})` : `exited with ${child.signalCode ?? `code ${child.exitCode}`}`;
      throw new WorkerError('RUNNER_DIED', `The runner of "${spec.name}" ${how} before answering hello.\n--- last runner output ---\n${output.lines}`, {
        hint: 'Read the output above: a missing library, a broken model file or a syntax error in the servable are the usual causes.',
        details: { python, servableDir: spec.servableDir, output: output.lines },
      });
    });
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WorkerError('RUNNER_DIED', `The runner of "${spec.name}" did not answer hello within ${timeoutMs / 1000} s.`, {
        hint: 'Importing the model\'s libraries may be slow; check the worker log in DLHUB_HOME/logs.',
      })), timeoutMs);
    });

    let connection: RunnerConnection | undefined;
    const handshake = async (): Promise<RunnerConnection> => {
      const stream: Duplex = connected ? await connected : Duplex.from({ readable: child.stdout, writable: child.stdin });
      connection = new RunnerConnection(stream, { name: spec.name, trace: this.opts.trace });
      try {
        await connection.hello();
      } catch (err) {
        // A runner that crashed closes its stream just before it exits: prefer the exit's error, which carries its output.
        const loadFailed = err instanceof WorkerError && err.details?.['kind'] === 'load';
        if (!loadFailed) await Promise.race([died, sleep(300)]);
        throw err;
      }
      return connection;
    };
    try {
      const conn = await Promise.race([handshake(), died, timedOut]);
      conn.explainDeathWith(() => exited.then(() => describeProcessExit({ code: child.exitCode, signal: child.signalCode, output: output.lines, logFile })));
      const graceMs = this.opts.stopGraceMs ?? 2000;
      return new HostWorker(id, conn, exited, child, graceMs, cleanup);
    } catch (err) {
      connection?.close();
      child.kill('SIGKILL');
      cleanup();
      throw err;
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }
}

/** Listen on `path` for the single runner connection of one worker. */
async function listen(path: string): Promise<{ server: Server; connected: Promise<Socket> }> {
  const server = createServer();
  const connected = new Promise<Socket>((resolve) => {
    server.once('connection', (socket) => {
      socket.setNoDelay?.(true);
      server.close(); // one runner per worker: nobody else may connect
      resolve(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new WorkerError('RUNNER_DIED', `Could not listen on the worker socket ${path}: ${err.message}.`, {
      hint: 'Check that DLHUB_HOME/run is writable and not on a file system without Unix sockets.',
      cause: err,
    })));
    server.listen(path, () => resolve());
  });
  return { server, connected };
}
