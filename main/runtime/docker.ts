import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WorkerError } from '../errors.js';
import { isProcessAlive } from '../storage/process-alive.js';
import { chooseBaseImage } from './base-image.js';
import { DockerClient } from './docker-client.js';
import { GPU_DEVICE_REQUEST, gpuPlacement } from './hardware.js';
import { containerOptions, containerUser, HOME_LABEL, LABELS } from './docker/container-spec.js';
import { buildHomeImage, removeHomeImage } from './docker/image.js';
import { containerExit, lastLogLines } from './docker/logs.js';
import { attachStdio } from './docker/transport.js';
import { describeContainerExit } from './protocol/death.js';
import type { RegistryOptions, Runtime, RuntimeRecord, Worker, WorkerSpecBase } from './runtime.js';
import { handshake, listenForRunner, RunnerWorker, type RunnerProcess, type SocketListener } from './worker-process.js';

export { HOME_LABEL };

/** What the Docker runtime needs to start one worker. */
export interface DockerWorkerSpec extends WorkerSpecBase {
  runtime: 'docker';
  /** Image tag or id to run. */
  image: string;
  /** The servable asked for network access (dlhub.network === true); off by default. */
  network?: boolean | undefined;
  /** Memory limit in bytes; default from the runtime's settings. */
  memoryBytes?: number | undefined;
  /** Process limit; default from the runtime's settings. */
  pidsLimit?: number | undefined;
}

/** How a DockerRuntime is built. */
export interface DockerRuntimeOptions {
  /** The process's Docker client (shared with the image builds); else one is made from `docker`. */
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

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
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
 * capabilities, memory and process limits, a non-root user, bounded logs. Frames travel over a Unix
 * socket bound into the container, or over the attached stdio where a host socket cannot be bound.
 */
export class DockerRuntime implements Runtime<DockerWorkerSpec> {
  readonly name = 'docker' as const;
  readonly client: DockerClient;
  /** The DLHub home written on every container (HOME_LABEL). */
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
  async start(spec: DockerWorkerSpec): Promise<Worker> {
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
    if (spec.gpu === true) options.HostConfig = { ...options.HostConfig, DeviceRequests: [GPU_DEVICE_REQUEST] };
    // Create the container while the socket comes up: the two do not depend on each other.
    const creating = this.docker.createContainer(options);
    creating.catch(() => undefined);
    let container: Docker.Container | undefined;
    let listener: SocketListener | undefined;
    let exitedFlag = false;
    const cleanup = async (): Promise<void> => {
      const made = container ?? (await creating.catch(() => undefined));
      if (made) await removeContainer(made);
      listener?.server.close();
      if (hostDir) await rm(hostDir, { recursive: true, force: true });
    };
    try {
      if (hostDir) {
        await mkdir(hostDir, { recursive: true, mode: 0o700 });
        if (chownTo) await chown(hostDir, chownTo.uid, chownTo.gid);
        listener = await listenForRunner(join(hostDir, 'runner.sock'), chownTo);
      }
      container = await creating.catch((err: unknown) => {
        throw statusCode(err) === 404
          ? new WorkerError('RUNTIME_UNAVAILABLE', `Image ${spec.image} of servable "${spec.name}" is not in the Docker engine.`, {
              hint: 'Build it again with `dlhub build DIR` (the image may have been removed).',
              cause: err,
            })
          : err;
      });
      let stream: Promise<Duplex> | undefined = listener?.connected.then((s): Duplex => s);
      let stderrTail: (() => string) | undefined;
      if (stdio) {
        const attached = await attachStdio(this.docker, container);
        stream = Promise.resolve(attached.stream);
        stderrTail = attached.stderrTail;
      }
      if (!stream) throw new Error('internal: no transport was set up');
      await container.start();
      const started = container;
      // How it ended (OOM kill, exit code, output) is read before `exited` lets anything remove it.
      const ending = started.wait({ condition: 'not-running' }).then(() => containerExit(started, { stdout: !stdio, stderrTail }), () => undefined);
      const exited = ending.then(() => {
        exitedFlag = true;
      });
      const proc: RunnerProcess = {
        exited,
        alive: () => !exitedFlag,
        kill: () => removeContainer(started).catch(() => undefined),
        cleanup,
        diedBeforeHello: async () => {
          const logs = stderrTail?.() || (await lastLogLines(started, { stdout: !stdio }));
          return new WorkerError('RUNNER_DIED', `The container of "${spec.name}" exited before its runner answered.\n--- last container output ---\n${logs}`, {
            hint: 'Read the output above; `dlhub build DIR --force` rebuilds the image if it is stale.',
            details: { image: spec.image, logs },
          });
        },
      };
      const connection = await handshake(proc, {
        name: spec.name,
        stream,
        timeoutMs: this.opts.startTimeoutMs ?? 30_000,
        timeoutHint: 'The image may be slow to import its libraries; check `docker logs` of a dlhub container, or use `--runtime host`.',
      });
      connection.explainDeathWith(() => ending.then((end) => end && describeContainerExit(end)));
      return new RunnerWorker(id, 'docker', connection, proc, STOP_GRACE_MS);
    } catch (err) {
      // Never leave a container or a socket folder behind after a failed start.
      await cleanup().catch(() => undefined);
      throw err;
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

/** The Docker runtime's record: it builds an image per servable (tagged for this home) and runs it locked down. */
export function dockerRecord(opts: RegistryOptions): RuntimeRecord<DockerWorkerSpec> {
  const client = new DockerClient(opts.docker);
  const runtime = new DockerRuntime({ client, runDir: opts.runDir, owner: opts.home, defaults: opts.defaults });
  return {
    name: 'docker',
    description: 'a locked-down container of the servable\'s image (default when an engine answers)',
    rank: 0,
    lastResort: false,
    image: {
      chooseBase: (named) => chooseBaseImage(client, opts.home, named),
      probeClient: async () => ((await client.available()) ? client.api : undefined),
      build: (ctx, o) => buildHomeImage(client, opts.home, ctx, o),
      remove: (s) => (s.image ? removeHomeImage(client, opts.home, s.image.tag) : Promise.resolve({ removed: false })),
    },
    runtime,
    available: () => client.available(),
    probe: async () => {
      const version = await client.version();
      return version === undefined
        ? { available: false, reason: 'The Docker engine is not answering (is dockerd or Docker Desktop running? DOCKER_HOST names which engine).' }
        : { available: true, version: `Docker Engine ${version}` };
    },
    refuses: (s) =>
      s.image
        ? undefined
        : {
            message: `Servable "${s.name}" has no container image yet.`,
            hint: `Build it with \`dlhub build ${s.sourceDir}\` while Docker is running, or use \`--runtime host\`.`,
          },
    digest: async (s) => s.image?.imageId ?? `noimage:${s.contentKey}`,
    workerSpec: async (s, d) => {
      if (!s.image) {
        throw new WorkerError('RUNTIME_UNAVAILABLE', `Servable "${s.name}" has no image to run in Docker.`, {
          hint: 'Build it with `dlhub build` while Docker is running, or use `--runtime host`.',
        });
      }
      return {
        runtime: 'docker',
        name: s.name,
        servableDir: s.servableDir,
        runnerDir: s.runnerDir,
        image: s.image.tag,
        network: s.metadata.dlhub.network === true,
        memoryBytes: d.memoryBytes,
        pidsLimit: d.pidsLimit,
        gpu: (await gpuPlacement(s.metadata)).gpu,
      };
    },
    unavailable: {
      message: 'The Docker engine is not answering.',
      hint: 'Start Docker (or dockerd), or run on this machine\'s Python with `--runtime host`.',
    },
  };
}
