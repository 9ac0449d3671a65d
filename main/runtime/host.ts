import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerError } from '../errors.js';
import { findPython } from '../servable/host-python.js';
import { requiredModules } from '../servable/requirements.js';
import { gpuPlacement } from './hardware.js';
import type { ConnectionOptions } from './protocol/connection.js';
import { runnerLogFile, startChildRunner } from './runner-child.js';
import type { RegistryOptions, Runtime, RuntimeRecord, Worker, WorkerSpecBase } from './runtime.js';
import { removeWorkerSocket, workerSocketPath } from './socket-path.js';
import { listenForRunner, type SocketListener } from './worker-process.js';

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

/** Runs servables with the host's Python: one dlhub_runner.py subprocess per worker. */
export class HostRuntime implements Runtime<HostWorkerSpec> {
  readonly name = 'host' as const;

  constructor(private readonly opts: HostRuntimeOptions) {}

  /** Spawn the runner, wait for it to connect and answer hello. */
  async start(spec: HostWorkerSpec): Promise<Worker> {
    const python = spec.python ?? (await findPython()).path;
    const id = randomBytes(6).toString('hex');
    let socketPath: string | undefined;
    let listener: SocketListener | undefined;
    if (spec.transport !== 'stdio') {
      mkdirSync(this.opts.runDir, { recursive: true, mode: 0o700 });
      socketPath = workerSocketPath(this.opts.runDir, `h${id}`);
      listener = await listenForRunner(socketPath);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, DLHUB_SERVABLE_DIR: spec.servableDir, PYTHONDONTWRITEBYTECODE: '1' };
    if (socketPath) env['DLHUB_SOCKET'] = socketPath;
    else delete env['DLHUB_SOCKET'];
    return startChildRunner({
      id,
      runtime: 'host',
      name: spec.name,
      command: python,
      args: [join(spec.runnerDir, 'dlhub_runner.py')],
      cwd: spec.servableDir,
      env,
      listener,
      logFile: runnerLogFile(this.opts.logDir, 'host', spec.name),
      logMaxBytes: this.opts.logMaxBytes,
      release: () => {
        if (socketPath) removeWorkerSocket(socketPath);
      },
      diedBeforeHello: (how, output) =>
        new WorkerError('RUNNER_DIED', `The runner of "${spec.name}" ${how} before answering hello.\n--- last runner output ---\n${output}`, {
          hint: 'Read the output above: a missing library, a broken model file or a syntax error in the servable are the usual causes.',
          details: { python, servableDir: spec.servableDir, output },
        }),
      startTimeoutMs: this.opts.startTimeoutMs ?? 30_000,
      timeoutHint: 'Importing the model\'s libraries may be slow; check the worker log in DLHUB_HOME/logs.',
      stopGraceMs: this.opts.stopGraceMs ?? 2000,
      trace: this.opts.trace,
    });
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
