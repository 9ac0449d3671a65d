/**
 * A runner that is a child process of this one (the host's Python, `apptainer exec`): spawned with
 * its output kept (the last lines for error messages, everything in a bounded log file), watched
 * until it exits, and handed to the shared handshake and stop logic. Frames travel over the socket
 * the runtime listens on, or over the child's stdin and stdout.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import type { WorkerError } from '../errors.js';
import { BoundedLog } from './bounded-log.js';
import type { ConnectionOptions } from './protocol/connection.js';
import { describeProcessExit } from './protocol/death.js';
import type { RuntimeName, Worker } from './runtime.js';
import { handshake, RunnerWorker, type RunnerProcess, type SocketListener } from './worker-process.js';

const TAIL_CHARS = 4000;

/** The log file of one servable's workers of one runtime (`<runtime>-<servable>.log`), or none without a folder. */
export function runnerLogFile(logDir: string | undefined, runtime: RuntimeName, servable: string): string | undefined {
  return logDir ? join(logDir, `${runtime}-${servable.replace(/[^\w.-]/g, '_')}.log`) : undefined;
}

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

/** How a runtime starts one runner child process, and what it says when the runner fails. */
export interface ChildRunnerOptions {
  /** The worker's id, its runtime and its servable's name. */
  id: string;
  runtime: RuntimeName;
  name: string;
  /** What to run: the interpreter or container command and its arguments. */
  command: string;
  args: string[];
  cwd?: string | undefined;
  /** The child's environment; this process's when absent. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The socket the runner connects to; without one, frames travel over the child's stdin and stdout. */
  listener: SocketListener | undefined;
  /** Where all the runner's output is appended (bounded at `logMaxBytes`); none when absent. */
  logFile: string | undefined;
  logMaxBytes?: number | undefined;
  /** Release what the runtime set up beside the process (its socket file or folder). Idempotent. */
  release(): void;
  /**
   * The error for a runner that ended before answering hello: `how` says how it ended ("exited with
   * code 3", "could not start CMD (why)"), `output` is its last output.
   */
  diedBeforeHello(how: string, output: string): WorkerError;
  /** From spawn to hello answered. */
  startTimeoutMs: number;
  /** What to say when the runner did not answer in time. */
  timeoutHint: string;
  /** How long stop() waits for a clean exit before SIGKILL. */
  stopGraceMs: number;
  trace?: ConnectionOptions['trace'];
}

/** Spawn the runner, wait for it to connect and answer hello, and return the worker; on failure nothing is left running. */
export async function startChildRunner(o: ChildRunnerOptions): Promise<Worker> {
  const { listener } = o;
  const stdio = listener === undefined;
  let output: OutputTail;
  try {
    if (o.logFile) mkdirSync(dirname(o.logFile), { recursive: true });
    output = new OutputTail(o.logFile, o.logMaxBytes);
  } catch (err) {
    listener?.server.close();
    o.release();
    throw err;
  }
  const child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, stdio: [stdio ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => output.add(c));
  if (!stdio) child.stdout?.on('data', (c: Buffer) => output.add(c));
  let spawnError: Error | undefined;
  // 'close' (not 'exit') so the last output has arrived when it fires.
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
      o.release();
    },
    diedBeforeHello: async () => {
      const how = spawnError ? `could not start ${o.command} (${spawnError.message})` : `exited with ${child.signalCode ?? `code ${child.exitCode}`}`;
      return o.diedBeforeHello(how, output.lines);
    },
  };
  const stream = listener ? listener.connected.then((s): Duplex => s) : Promise.resolve(Duplex.from({ readable: child.stdout, writable: child.stdin }));
  const connection = await handshake(proc, { name: o.name, stream, timeoutMs: o.startTimeoutMs, timeoutHint: o.timeoutHint, trace: o.trace });
  connection.explainDeathWith(() => exited.then(() => describeProcessExit({ code: child.exitCode, signal: child.signalCode, output: output.lines, logFile: o.logFile })));
  return new RunnerWorker(o.id, o.runtime, connection, proc, o.stopGraceMs);
}
