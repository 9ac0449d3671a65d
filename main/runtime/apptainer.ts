// The Apptainer (formerly Singularity) runtime: what HPC clusters run containers with, where Docker is
// not allowed. The servable's Docker image becomes a SIF file once (from the local Docker engine, or
// from an image archive where no engine is), or a sandbox folder is used as it is; each worker is
// `apptainer exec --containall --cleanenv --no-home` of the image's runner, with the worker's socket
// folder bound in, so the same frames travel as with Docker and the host runtime.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerError } from '../errors.js';
import type { LocalServable } from '../servable/registry.js';
import { digestHex } from '../storage/path-safety.js';
import { DockerClient } from './docker-client.js';
import { gpuPlacement } from './hardware.js';
import { runnerLogFile, startChildRunner } from './runner-child.js';
import { isProcessAlive } from '../storage/process-alive.js';
import type { ArtifactRemoval, Availability, RegistryOptions, Runtime, RuntimeRecord, Worker, WorkerSpecBase } from './runtime.js';
import { listenForRunner, type SocketListener } from './worker-process.js';

/** Where the image keeps the runner (the packager's IMAGE_PATHS) and where the socket folder appears inside. */
const IMAGE_RUNNER = '/opt/dlhub/runner/dlhub_runner.py';
const CONTAINER_RUN_DIR = '/run/dlhub';
const TAIL_CHARS = 4000;

/** What the Apptainer runtime needs to start one worker. */
export interface ApptainerWorkerSpec extends WorkerSpecBase {
  runtime: 'apptainer';
  /** A SIF file or a sandbox folder; built from `source` first when it is a SIF path that does not exist yet. */
  image: string;
  /** What to build the SIF from: `docker-daemon://TAG` or `docker-archive://FILE`. */
  source?: string | undefined;
  /** The servable asked for network access (dlhub.network === true); off by default. */
  network?: boolean | undefined;
}

/** The command that runs containers: DLHUB_APPTAINER, else `apptainer`, else `singularity` (what is on PATH). */
export function apptainerCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const named = env['DLHUB_APPTAINER'];
  return named ? [named] : ['apptainer', 'singularity'];
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; stderr: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, stdout, stderr, missing: (err as NodeJS.ErrnoException | null)?.code === 'ENOENT' });
    });
  });
}

/** The first Apptainer command that answers `--version`, with that version; cached per process. */
let found: Promise<{ path: string; version: string } | { reason: string }> | undefined;
export function findApptainer(fresh = false): Promise<{ path: string; version: string } | { reason: string }> {
  if (found && !fresh) return found;
  found = (async () => {
    const tried: string[] = [];
    for (const cmd of apptainerCommand()) {
      const r = await run(cmd, ['--version'], 10_000);
      if (r.ok) return { path: cmd, version: r.stdout.trim() };
      tried.push(r.missing ? `${cmd}: not found` : `${cmd}: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? 'failed'}`);
    }
    return { reason: `No Apptainer or Singularity command answered (${tried.join('; ')}). Install Apptainer, or set DLHUB_APPTAINER to its path.` };
  })();
  return found;
}

/** The arguments of `apptainer exec` for one worker (exported for tests and the cluster pilots' command lines). */
export function execArgs(o: { image: string; gpu: boolean; network: boolean; bind?: string | undefined; env: Record<string, string> }): string[] {
  const args = ['exec', '--containall', '--cleanenv', '--no-home'];
  if (o.gpu) args.push('--nv');
  // Apptainer shares the host's network by default; `none` is allowed to unprivileged users.
  if (!o.network) args.push('--net', '--network', 'none');
  if (o.bind) args.push('--bind', o.bind);
  for (const [k, v] of Object.entries(o.env)) args.push('--env', `${k}=${v}`);
  args.push(o.image, 'python3', IMAGE_RUNNER);
  return args;
}

// One build per SIF file at a time in this process: replicas starting together share it.
const building = new Map<string, Promise<void>>();

/** Build `sif` from `source` unless it is there already (written under a temporary name, then renamed). */
export function ensureSif(command: string, sif: string, source: string): Promise<void> {
  if (existsSync(sif)) return Promise.resolve();
  let job = building.get(sif);
  if (!job) {
    job = (async () => {
      mkdirSync(join(sif, '..'), { recursive: true });
      const tmp = `${sif}.tmp-${process.pid}-${randomBytes(3).toString('hex')}.sif`;
      const r = await run(command, ['build', '--force', tmp, source], 30 * 60_000);
      if (!r.ok) {
        rmSync(tmp, { force: true });
        throw new WorkerError('RUNTIME_UNAVAILABLE', `Apptainer could not build ${sif} from ${source}:\n${(r.stderr || r.stdout).trim().slice(-TAIL_CHARS)}`, {
          hint: 'Check that the image exists (`docker image ls`) or that the archive is readable, and that there is space for the SIF file.',
        });
      }
      renameSync(tmp, sif);
    })().finally(() => building.delete(sif));
    building.set(sif, job);
  }
  return job;
}

/** How an ApptainerRuntime is set up. */
export interface ApptainerRuntimeOptions {
  runDir: string;
  logDir?: string | undefined;
  startTimeoutMs?: number | undefined;
  stopGraceMs?: number | undefined;
}

/** Runs each worker as `apptainer exec` of the servable's image, over a socket in a bound folder. */
export class ApptainerRuntime implements Runtime<ApptainerWorkerSpec> {
  readonly name = 'apptainer' as const;

  constructor(private readonly opts: ApptainerRuntimeOptions) {}

  /** Build the SIF if needed, start the runner and return once it has answered hello. */
  async start(spec: ApptainerWorkerSpec): Promise<Worker> {
    const app = await findApptainer();
    if ('reason' in app) throw new WorkerError('RUNTIME_UNAVAILABLE', app.reason, { hint: 'Use `--runtime docker` or `--runtime host` on this machine.' });
    if (spec.source && !existsSync(spec.image)) await ensureSif(app.path, spec.image, spec.source);
    const id = randomBytes(6).toString('hex');
    const stdio = spec.transport === 'stdio';
    // A short folder name: the socket path must stay under 108 bytes.
    const hostDir = stdio ? undefined : join(this.opts.runDir, `a${id}`);
    let listener: SocketListener | undefined;
    if (hostDir) {
      mkdirSync(hostDir, { recursive: true, mode: 0o700 });
      listener = await listenForRunner(join(hostDir, 'runner.sock'));
    }
    const env: Record<string, string> = { PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
    if (hostDir) env['DLHUB_SOCKET'] = `${CONTAINER_RUN_DIR}/runner.sock`;
    return startChildRunner({
      id,
      runtime: 'apptainer',
      name: spec.name,
      command: app.path,
      args: execArgs({ image: spec.image, gpu: spec.gpu === true, network: spec.network === true, bind: hostDir && `${hostDir}:${CONTAINER_RUN_DIR}`, env }),
      listener,
      logFile: runnerLogFile(this.opts.logDir, 'apptainer', spec.name),
      release: () => {
        if (hostDir) rmSync(hostDir, { recursive: true, force: true });
      },
      diedBeforeHello: (how, output) =>
        new WorkerError('RUNNER_DIED', `The Apptainer container of "${spec.name}" ${how} before its runner answered.\n--- last output ---\n${output}`, {
          hint: 'Read the output above; `apptainer exec IMAGE python3 /opt/dlhub/runner/dlhub_runner.py --version` checks the image by hand.',
          details: { image: spec.image, output },
        }),
      startTimeoutMs: this.opts.startTimeoutMs ?? 60_000,
      timeoutHint: 'A container on a shared file system can be slow to start; check the worker log in DLHUB_HOME/logs.',
      stopGraceMs: this.opts.stopGraceMs ?? 2000,
    });
  }
}

/**
 * Where a servable's image comes from for Apptainer, in this home: a sandbox folder or an image archive
 * the user placed under DLHUB_HOME/apptainer (named by image id), else the local Docker engine's image.
 */
export function imagePlan(home: string, s: LocalServable, dockerAnswers: boolean): { image: string; source?: string } | undefined {
  if (!s.image) return undefined;
  // The image id names files here: only a real digest may (a damaged build.json must not name ../).
  const key = `${s.name}-${digestHex(s.image.imageId).slice(0, 12)}`;
  const dir = join(home, 'apptainer');
  const sandbox = join(dir, key);
  if (existsSync(sandbox) && statSync(sandbox).isDirectory()) return { image: sandbox };
  const sif = join(dir, `${key}.sif`);
  if (existsSync(sif)) return { image: sif };
  const archive = join(dir, `${key}.tar`);
  if (existsSync(archive)) return { image: sif, source: `docker-archive://${archive}` };
  return dockerAnswers ? { image: sif, source: `docker-daemon://${s.image.tag}` } : undefined;
}

/**
 * Remove the SIF file made for the servable's image in this home (and any build of it a killed process
 * left half-written). A sandbox folder or image archive the user placed there is theirs: it stays.
 */
export async function removeSif(home: string, s: LocalServable): Promise<ArtifactRemoval> {
  if (!s.image) return { removed: false };
  const dir = join(home, 'apptainer');
  const base = `${s.name}-${digestHex(s.image.imageId).slice(0, 12)}.sif`;
  const sif = join(dir, base);
  const removed = existsSync(sif);
  rmSync(sif, { force: true });
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // No apptainer folder: nothing was ever converted here.
  }
  for (const name of names) {
    // `X.sif.tmp-PID-HEX.sif`: a build under way in a live process is left to finish (and be renamed).
    const pid = name.startsWith(`${base}.tmp-`) ? Number(name.slice(base.length + 5).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && !isProcessAlive(pid)) rmSync(join(dir, name), { force: true });
  }
  return { removed };
}

/** The Apptainer runtime's record: the servable's image as a SIF (or sandbox), each worker an `apptainer exec`. */
export function apptainerRecord(opts: RegistryOptions): RuntimeRecord<ApptainerWorkerSpec> {
  const runtime = new ApptainerRuntime({ runDir: opts.runDir, logDir: opts.logDir });
  const docker = new DockerClient(opts.docker);
  const probe = async (): Promise<Availability> => {
    const app = await findApptainer();
    return 'reason' in app ? { available: false, reason: app.reason } : { available: true, version: app.version };
  };
  return {
    name: 'apptainer',
    description: 'an Apptainer/Singularity container of the servable\'s image (HPC clusters; never chosen unless named)',
    // Named only: where Docker answers it is the better local choice, and a cluster names it.
    rank: 20,
    lastResort: false,
    image: undefined,
    runtime,
    available: async () => (await probe()).available,
    probe,
    refuses: (s) =>
      s.image
        ? undefined
        : {
            message: `Servable "${s.name}" has no container image to convert for Apptainer.`,
            hint: `Build it with \`dlhub build ${s.sourceDir}\` where Docker runs; then the image (or an archive of it in DLHUB_HOME/apptainer) becomes a SIF file.`,
          },
    // The same image answers the same: Docker and Apptainer workers of one image share memo entries.
    digest: async (s) => s.image?.imageId ?? `noimage:${s.contentKey}`,
    removeFiles: async (s) => removeSif(opts.home, s),
    workerSpec: async (s) => {
      const plan = imagePlan(opts.home, s, await docker.available());
      if (!plan) {
        throw new WorkerError('RUNTIME_UNAVAILABLE', `Servable "${s.name}" has no image Apptainer can use here.`, {
          hint: s.image
            ? `Start Docker, or copy the image here: \`docker save ${s.image.tag} -o DLHUB_HOME/apptainer/${s.name}-${s.image.imageId.replace(/^sha256:/, '').slice(0, 12)}.tar\`.`
            : 'Build it with `dlhub build` where Docker runs.',
        });
      }
      return {
        runtime: 'apptainer',
        name: s.name,
        servableDir: s.servableDir,
        runnerDir: s.runnerDir,
        ...plan,
        network: s.metadata.dlhub.network === true,
        gpu: (await gpuPlacement(s.metadata)).gpu,
      };
    },
    unavailable: {
      message: 'No Apptainer or Singularity command was found.',
      hint: 'Install Apptainer (or set DLHUB_APPTAINER to its path), or use `--runtime docker` / `--runtime host`.',
    },
  };
}
