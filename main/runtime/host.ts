import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { WorkerError } from '../errors.js';
import { findPython } from '../servable/host-python.js';
import { requiredModules } from '../servable/requirements.js';
import { gpuPlacement } from './hardware.js';
import { BoundedLog } from './bounded-log.js';
import type { ConnectionOptions } from './protocol/connection.js';
import { describeProcessExit } from './protocol/death.js';
import type { RegistryOptions, Runtime, RuntimeRecord, Worker, WorkerSpecBase } from './runtime.js';
import { removeWorkerSocket, workerSocketPath } from './socket-path.js';
import { handshake, listenForRunner, RunnerWorker, type RunnerProcess, type SocketListener } from './worker-process.js';

/** What the host runtime needs to start one worker. */
export interface HostWorkerSpec extends WorkerSpecBase {
  runtime: 'host';
  /** Host interpreter to use; when absent the runtime finds one. */
  python?: string | undefined;
}

/** How a HostRuntime is set up. */
export interface HostRuntimeOptions {
  /** Folder for worker sockets ($DLHUB_HOME/run). */
  runDir: string;
  /** Folder where each servable's runner output is appended (host-NAME.log, bounded); none when absent. */
  logDir?: string | undefined;
  /** Largest size of one log file before it is rotated (one older file kept); default 8 MiB. */
  logMaxBytes?: number | undefined;
  /** From spawn to hello answered; default 30 s. */
  startTimeoutMs?: number | undefined;
  /** How long stop() waits for a clean exit before SIGKILL; default 2 s. */
  stopGraceMs?: number | undefined;
  /** Sees every header sent and received by every worker (debugging, protocol tests). */
  trace?: ConnectionOptions['trace'];
}

const TAIL_CHARS = 4000;

/** Keeps the last lines the runner wrote (for error messages) and appends everything to a bounded log file. */
class OutputTail {
  private text = '';
  private readonly log: BoundedLog | undefined;

  constructor(logFile: string | undefined, maxBytes: number | undefined) {
    this.log = logFile ? new BoundedLog(logFile, maxBytes) : undefined;
  }

  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-TAIL_CHARS);
    this.log?.write(chunk);
  }

  get lines(): string {
    return this.text.trimEnd() || '(no output)';
  }

  end(): void {
    this.log?.close();
  }
}

/** Runs servables with the host's Python: one dlhub_runner.py subprocess per worker. */
export class HostRuntime implements Runtime<HostWorkerSpec> {
  readonly name = 'host' as const;

  constructor(private readonly opts: HostRuntimeOptions) {}

  /** The log file of one servable's host workers. */
  logFile(servable: string): string | undefined {
    return this.opts.logDir ? join(this.opts.logDir, `host-${servable.replace(/[^\w.-]/g, '_')}.log`) : undefined;
  }

  /** Spawn the runner, wait for it to connect and answer hello. */
  async start(spec: HostWorkerSpec): Promise<Worker> {
    const python = spec.python ?? (await findPython()).path;
    const id = randomBytes(6).toString('hex');
    const stdio = spec.transport === 'stdio';
    let socketPath: string | undefined;
    let listener: SocketListener | undefined;
    if (!stdio) {
      mkdirSync(this.opts.runDir, { recursive: true, mode: 0o700 });
      socketPath = workerSocketPath(this.opts.runDir, `h${id}`);
      listener = await listenForRunner(socketPath);
    }

    if (this.opts.logDir) mkdirSync(this.opts.logDir, { recursive: true });
    const logFile = this.logFile(spec.name);
    const output = new OutputTail(logFile, this.opts.logMaxBytes);
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
    const running = (): boolean => child.exitCode === null && child.signalCode === null && spawnError === undefined;

    const proc: RunnerProcess = {
      exited,
      alive: running,
      kill: async () => {
        if (running()) child.kill('SIGKILL');
      },
      cleanup: async () => {
        listener?.server.close();
        if (socketPath) removeWorkerSocket(socketPath);
      },
      diedBeforeHello: async () => {
        const how = spawnError ? `could not start ${python} (${spawnError.message})` : `exited with ${child.signalCode ?? `code ${child.exitCode}`}`;
        return new WorkerError('RUNNER_DIED', `The runner of "${spec.name}" ${how} before answering hello.\n--- last runner output ---\n${output.lines}`, {
          hint: 'Read the output above: a missing library, a broken model file or a syntax error in the servable are the usual causes.',
          details: { python, servableDir: spec.servableDir, output: output.lines },
        });
      },
    };
    const stream = listener ? listener.connected.then((s): Duplex => s) : Promise.resolve(Duplex.from({ readable: child.stdout, writable: child.stdin }));
    const connection = await handshake(proc, {
      name: spec.name,
      stream,
      timeoutMs: this.opts.startTimeoutMs ?? 30_000,
      timeoutHint: 'Importing the model\'s libraries may be slow; check the worker log in DLHUB_HOME/logs.',
      trace: this.opts.trace,
    });
    connection.explainDeathWith(() => exited.then(() => describeProcessExit({ code: child.exitCode, signal: child.signalCode, output: output.lines, logFile })));
    return new RunnerWorker(id, 'host', connection, proc, this.opts.stopGraceMs ?? 2000);
  }
}

/** The host runtime's record: the prepared files run with this machine's Python; a build makes nothing more. */
export function hostRecord(opts: RegistryOptions): RuntimeRecord<HostWorkerSpec> {
  const runtime = new HostRuntime({ runDir: opts.runDir, logDir: opts.logDir });
  const probe = async (): Promise<{ available: boolean; reason?: string; version?: string }> => {
    try {
      const python = await findPython();
      return { available: true, version: `Python ${python.version} (${python.path})` };
    } catch (err) {
      return { available: false, reason: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    name: 'host',
    description: 'this machine\'s Python (no isolation; used when Docker is not there)',
    rank: 10,
    lastResort: true,
    image: undefined,
    runtime,
    available: async () => (await probe()).available,
    probe,
    refuses: () => undefined,
    digest: async (s) => {
      const python = await findPython(requiredModules(s.metadata));
      return `host:${s.contentKey}:${python.path}:${python.version}`;
    },
    workerSpec: async (s) => ({
      runtime: 'host',
      name: s.name,
      servableDir: s.servableDir,
      runnerDir: s.runnerDir,
      python: (await findPython(requiredModules(s.metadata))).path,
      gpu: (await gpuPlacement(s.metadata)).gpu,
    }),
    unavailable: {
      message: 'No host Python 3 was found.',
      hint: 'Install Python 3 or set DLHUB_PYTHON, or use `--runtime docker`.',
    },
  };
}
