import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WorkerError } from '../errors.js';
import { containerOptions, containerUser, LABELS } from './docker/container-spec.js';
import { containerExit, lastLogLines } from './docker/logs.js';
import { describeContainerExit } from './protocol/death.js';
import { attachStdio, listenForRunner } from './docker/transport.js';
import { RunnerConnection } from './protocol/connection.js';
import type { Runtime, Worker, WorkerSpec } from './runtime.js';
import { isProcessAlive } from '../storage/process-alive.js';
import { DockerClient } from './docker-client.js';

/**
 * The label naming the DLHub home that owns a worker container: orphan sweeps (and tests that count
 * containers) look only at their own home's containers, so two homes on one engine never disturb each other.
 */
export const HOME_LABEL = 'org.dlhub.home';

/** How a DockerRuntime is built. */
export interface DockerRuntimeOptions {
  /** The process's Docker client (shared with the packager and the API); else one is made from `docker`. */
  client?: DockerClient | undefined;
  docker?: Docker | undefined;
  /** Folder for per-worker socket folders ($DLHUB_HOME/run). */
  runDir: string;
  /** Owner written on every container (HOME_LABEL); default: the folder above runDir (the home). */
  owner?: string | undefined;
  defaults: { memoryBytes: number; pidsLimit: number };
  /** How long a worker may take from create to answering hello; default 30 s. */
  startTimeoutMs?: number | undefined;
}

const STOP_GRACE_MS = 1000;

/** Resolve with `p`, or reject after `ms` with `onTimeout()`; the timer never keeps the process alive. */
function within<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
}

/** One runner in a container. stop() always removes the container and its socket folder. */
class DockerWorker implements Worker {
  readonly runtime = 'docker' as const;
  private stopping: Promise<void> | undefined;
  private hasExited = false;

  constructor(
    readonly id: string,
    readonly connection: RunnerConnection,
    readonly exited: Promise<void>,
    private readonly container: Docker.Container,
    private readonly server: Server | undefined,
    private readonly hostDir: string | undefined,
  ) {
    void exited.then(() => {
      this.hasExited = true;
      // A runner that died on its own still leaves a stopped container; clear it away. A failure
      // here resurfaces to whoever calls stop(), so it must not crash the process now.
      this.stop().catch(() => undefined);
    });
  }

  /** Ask the runner to shut down, then remove the container and the socket folder. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (!this.hasExited) {
      await within(this.connection.shutdown(), STOP_GRACE_MS, () => new Error('shutdown timed out')).catch(() => undefined);
      await Promise.race([this.exited, sleep(STOP_GRACE_MS)]);
    }
    this.connection.close();
    await removeContainer(this.container);
    this.server?.close();
    if (this.hostDir) await rm(this.hostDir, { recursive: true, force: true });
  }
}

async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    // 404: already gone; 409: removal already in progress (another stop got there first).
    if (statusCode(err) !== 404 && statusCode(err) !== 409) throw err;
  }
}

/**
 * Runs servables in locked-down containers: no network unless asked, read-only root, no
 * capabilities, memory and process limits, a non-root user. Frames travel over a Unix socket
 * bound into the container, or over the attached stdio where a host socket cannot be bound.
 */
export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  private readonly client: DockerClient;
  /** Value of HOME_LABEL on this runtime's containers. */
  readonly owner: string;
  private swept = false;

  constructor(private readonly opts: DockerRuntimeOptions) {
    this.client = opts.client ?? new DockerClient(opts.docker);
    this.owner = opts.owner ?? dirname(resolve(opts.runDir));
  }

  // Read through the client each time: it loads dockerode only when a container is first touched.
  private get docker(): Docker {
    return this.client.api;
  }

  /** Does an engine answer a ping within 1.5 s? Never throws. */
  available(): Promise<boolean> {
    return this.client.available();
  }

  /** Start a container for `spec.image` and return once its runner has answered hello. */
  async start(spec: WorkerSpec): Promise<Worker> {
    if (!spec.image) {
      throw new WorkerError('RUNTIME_UNAVAILABLE', `Servable "${spec.name}" has no image to run in Docker.`, {
        hint: `Build it with \`dlhub build\` while Docker is running, or use \`--runtime host\`.`,
      });
    }
    if (!this.swept) {
      // Containers left by a process that was killed are removed once per process, off the start path.
      this.swept = true;
      void this.cleanupOrphans().catch(() => undefined);
    }
    const stdio = spec.transport === 'stdio';
    const id = randomBytes(6).toString('hex');
    const { user, chownTo } = containerUser();
    // Short folder names: the socket path must stay under 108 bytes.
    const hostDir = stdio ? undefined : join(this.opts.runDir, `d${id}`);
    const options = containerOptions({
      image: spec.image,
      servable: spec.name,
      hostDir,
      network: spec.network === true,
      memoryBytes: spec.memoryBytes ?? this.opts.defaults.memoryBytes,
      pidsLimit: spec.pidsLimit ?? this.opts.defaults.pidsLimit,
      user,
      stdio,
    });
    options.Labels = { ...options.Labels, [HOME_LABEL]: this.owner };
    // Create the container while the socket comes up: the two do not depend on each other.
    const creating = this.docker.createContainer(options);
    let container: Docker.Container | undefined;
    let server: Server | undefined;
    try {
      let stream: Promise<Duplex> | undefined;
      let stderrTail: (() => string) | undefined;
      if (hostDir) {
        await mkdir(hostDir, { recursive: true, mode: 0o700 });
        if (chownTo) await chown(hostDir, chownTo.uid, chownTo.gid);
        const listener = await listenForRunner(join(hostDir, 'runner.sock'), chownTo);
        server = listener.server;
        stream = listener.connected;
      }
      container = await creating.catch((err: unknown) => {
        throw statusCode(err) === 404
          ? new WorkerError('RUNTIME_UNAVAILABLE', `Image ${spec.image ?? ''} of servable "${spec.name}" is not in the Docker engine.`, {
              hint: 'Build it again with `dlhub build DIR` (the image may have been removed).',
              cause: err,
            })
          : err;
      });
      if (stdio) {
        const attached = await attachStdio(this.docker, container);
        stream = Promise.resolve(attached.stream);
        stderrTail = attached.stderrTail;
      }
      await container.start();
      const started = container;
      // How it ended (OOM kill, exit code, output) is read before `exited` lets anything remove it.
      const ending = started.wait({ condition: 'not-running' }).then(() => containerExit(started, { stdout: !stdio, stderrTail }), () => undefined);
      const exited = ending.then(() => undefined);
      if (!stream) throw new Error('internal: no transport was set up');
      const connection = await this.handshake(spec, started, stream, exited, stderrTail);
      connection.explainDeathWith(() => ending.then((end) => end && describeContainerExit(end)));
      void exited.then(() => connection.close());
      return new DockerWorker(id, connection, exited, started, server, hostDir);
    } catch (err) {
      // Never leave a container or a socket folder behind after a failed start.
      const orphan = container ?? (await creating.catch(() => undefined));
      if (orphan) await removeContainer(orphan).catch(() => undefined);
      server?.close();
      if (hostDir) await rm(hostDir, { recursive: true, force: true });
      throw err;
    }
  }

  private async handshake(spec: WorkerSpec, container: Docker.Container, stream: Promise<Duplex>, exited: Promise<void>, stderrTail: (() => string) | undefined): Promise<RunnerConnection> {
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    let settled = false;
    const died = exited.then(async () => {
      if (settled) return new Promise<never>(() => undefined);
      const logs = stderrTail?.() || (await lastLogLines(container, { stdout: spec.transport !== 'stdio' }));
      throw new WorkerError('RUNNER_DIED', `The container of "${spec.name}" exited before its runner answered.\n--- last container output ---\n${logs}`, {
        hint: 'Read the output above; `dlhub build DIR --force` rebuilds the image if it is stale.',
        details: { image: spec.image, logs },
      });
    });
    const timedOut = (): WorkerError =>
      new WorkerError('RUNNER_DIED', `The runner of "${spec.name}" did not answer within ${timeoutMs / 1000} s.`, {
        hint: 'The image may be slow to import its libraries; check `docker logs` of a dlhub container, or use `--runtime host`.',
      });
    const connect = async (): Promise<RunnerConnection> => {
      const connection = new RunnerConnection(await stream, { name: spec.name });
      try {
        await connection.hello();
      } catch (err) {
        connection.close();
        // A runner that crashed closes its stream just before it exits: prefer the exit's error, which carries its output.
        await Promise.race([died, sleep(500)]);
        throw err;
      }
      return connection;
    };
    try {
      return await within(Promise.race([connect(), died]), timeoutMs, timedOut);
    } finally {
      settled = true;
    }
  }

  /** Remove worker containers whose owning process is gone (left by a crash); returns how many. */
  async cleanupOrphans(): Promise<number> {
    // Only this home's containers: another home (a test suite, another user) on the same engine sweeps its own.
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${LABELS.worker}=1`, `${HOME_LABEL}=${this.owner}`] } });
    let removed = 0;
    for (const info of found) {
      const pid = Number(info.Labels[LABELS.ownerPid]);
      if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) continue;
      await removeContainer(this.docker.getContainer(info.Id));
      const dir = info.Labels[LABELS.workerDir];
      if (dir && dir.startsWith(this.opts.runDir)) await rm(dir, { recursive: true, force: true });
      removed += 1;
    }
    return removed;
  }
}

