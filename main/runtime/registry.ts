import { RuntimeUnavailableError } from '../errors.js';
import type { LocalServable } from '../servable/registry.js';
import { requiredModules } from '../servable/requirements.js';
import type { DockerClient } from './docker-client.js';
import { DockerRuntime } from './docker.js';
import { HostRuntime } from './host.js';
import { findPython } from './python.js';
import type { Runtime, RuntimeName, WorkerSpec } from './runtime.js';

/** Why a runtime cannot serve a call, and what to do instead. */
export interface Refusal {
  message: string;
  hint: string;
}

/** Worker limits every runtime receives from the engine's settings. */
export interface SpecDefaults {
  memoryBytes: number;
  pidsLimit: number;
}

/**
 * One runtime, as data: everything the engine, the selection, the build and the CLI need to know
 * about it. Adding a runtime (apptainer, slurm) means adding one record here.
 */
export interface RuntimeRecord {
  readonly name: RuntimeName;
  /** One line for `--runtime` help. */
  readonly description: string;
  /** Preference when no runtime is named: the lowest rank that can run the servable and is available wins. */
  readonly rank: number;
  /** Chosen when nothing else is available, so its own error says what is missing. */
  readonly lastResort: boolean;
  /** Does a build have to make an image for this runtime? */
  readonly needsImage: boolean;
  readonly runtime: Runtime;
  /** Cheap probe (cached where it costs a round trip). Never throws. */
  available(): Promise<boolean>;
  /** Why this servable cannot run here as built (e.g. no image yet), or undefined when it can. */
  refuses(servable: LocalServable): Refusal | undefined;
  /** What identifies the code an answer came from, for the memo key. */
  digest(servable: LocalServable): Promise<string>;
  /** What `runtime.start` needs for one worker of the servable. */
  workerSpec(servable: LocalServable, defaults: SpecDefaults): Promise<WorkerSpec>;
  /** The message and hint when the runtime was asked for and is not there. */
  readonly unavailable: Refusal;
}

/** How the registry's runtimes are set up. */
export interface RegistryOptions {
  docker: DockerClient;
  runDir: string;
  logDir: string;
  defaults: SpecDefaults;
}

function dockerRecord(opts: RegistryOptions): RuntimeRecord {
  const runtime = new DockerRuntime({ client: opts.docker, runDir: opts.runDir, defaults: opts.defaults });
  return {
    name: 'docker',
    description: 'a locked-down container of the servable\'s image (default when an engine answers)',
    rank: 0,
    lastResort: false,
    needsImage: true,
    runtime,
    available: () => opts.docker.available(),
    refuses: (s) =>
      s.image
        ? undefined
        : {
            message: `Servable "${s.name}" has no container image yet.`,
            hint: `Build it with \`dlhub build ${s.sourceDir}\` while Docker is running, or use \`--runtime host\`.`,
          },
    digest: async (s) => s.image?.imageId ?? `noimage:${s.contentKey}`,
    workerSpec: async (s, d) => ({
      name: s.name,
      servableDir: s.servableDir,
      runnerDir: s.runnerDir,
      image: s.image?.tag,
      network: s.metadata.dlhub.network === true,
      memoryBytes: d.memoryBytes,
      pidsLimit: d.pidsLimit,
    }),
    unavailable: {
      message: 'The Docker engine is not answering.',
      hint: 'Start Docker (or dockerd), or run on this machine\'s Python with `--runtime host`.',
    },
  };
}

function hostRecord(opts: RegistryOptions): RuntimeRecord {
  const runtime = new HostRuntime({ runDir: opts.runDir, logDir: opts.logDir });
  return {
    name: 'host',
    description: 'this machine\'s Python (no isolation; used when Docker is not there)',
    rank: 10,
    lastResort: true,
    needsImage: false,
    runtime,
    available: () => runtime.available(),
    refuses: () => undefined,
    digest: async (s) => {
      const python = await findPython(requiredModules(s.metadata));
      return `host:${s.contentKey}:${python.path}:${python.version}`;
    },
    workerSpec: async (s) => ({
      name: s.name,
      servableDir: s.servableDir,
      runnerDir: s.runnerDir,
      python: (await findPython(requiredModules(s.metadata))).path,
    }),
    unavailable: {
      message: 'No host Python 3 was found.',
      hint: 'Install Python 3 or set DLHUB_PYTHON, or use `--runtime docker`.',
    },
  };
}

/** The runtimes this version knows, by name: adding one (apptainer, slurm) is one record factory here. */
export const RUNTIMES: Readonly<Partial<Record<RuntimeName, (opts: RegistryOptions) => RuntimeRecord>>> = {
  docker: dockerRecord,
  host: hostRecord,
};

/** Names for `--runtime` choices, without building any runtime. */
export const RUNTIME_NAMES: readonly RuntimeName[] = Object.keys(RUNTIMES) as RuntimeName[];

/** The runtimes of one process, built once in the composition root. */
export class RuntimeRegistry {
  private readonly records: RuntimeRecord[];

  constructor(records: RuntimeRecord[]) {
    this.records = [...records].sort((a, b) => a.rank - b.rank);
  }

  /** Every runtime this version knows (RUNTIMES), sharing the process's Docker client. */
  static standard(opts: RegistryOptions): RuntimeRegistry {
    return new RuntimeRegistry(Object.values(RUNTIMES).map((make) => make(opts)));
  }

  /** Every runtime, most preferred first. */
  all(): readonly RuntimeRecord[] {
    return this.records;
  }

  /** Names for `--runtime` choices. */
  names(): RuntimeName[] {
    return this.records.map((r) => r.name);
  }

  /** The record of `name`, or RUNTIME_UNAVAILABLE listing the known names. */
  get(name: string): RuntimeRecord {
    const found = this.records.find((r) => r.name === name);
    if (!found) {
      throw new RuntimeUnavailableError(`The ${name} runtime is not available in this version.`, `Use one of: ${this.names().map((n) => `--runtime ${n}`).join(', ')}.`);
    }
    return found;
  }

  /** The runtime a call will most likely use, without probing anything (for a memo lookup before any ping). */
  guess(servable: LocalServable, requested?: string): RuntimeRecord {
    if (requested) return this.get(requested);
    return this.records.find((r) => !r.refuses(servable)) ?? this.lastResort();
  }

  private lastResort(): RuntimeRecord {
    const found = this.records.find((r) => r.lastResort) ?? this.records[this.records.length - 1];
    if (!found) throw new RuntimeUnavailableError('No runtime is configured.', 'This is a bug in DLHub Desktop; please report it.');
    return found;
  }

  /**
   * The runtime for one call: the one asked for (refused with its hint when it is down or cannot run
   * the servable), else the most preferred that can run it and answers, else the last resort.
   */
  async select(servable: LocalServable, requested?: string): Promise<RuntimeRecord> {
    if (requested) {
      const rec = this.get(requested);
      if (!(await rec.available())) throw new RuntimeUnavailableError(rec.unavailable.message, rec.unavailable.hint);
      const refusal = rec.refuses(servable);
      if (refusal) throw new RuntimeUnavailableError(refusal.message, refusal.hint);
      return rec;
    }
    for (const rec of this.records) {
      if (!rec.refuses(servable) && (await rec.available())) return rec;
    }
    return this.lastResort();
  }

  /**
   * What a build must make for `requested` (or the default): an image, when a runtime that needs one
   * was named or answers; else nothing, with the reason. Throws when the named runtime is down.
   */
  async buildPlan(requested?: string): Promise<{ image: boolean; skipped: string | undefined }> {
    if (requested) {
      const rec = this.get(requested);
      if (!rec.needsImage) return { image: false, skipped: `the ${rec.name} runtime was chosen (--runtime ${rec.name})` };
      if (!(await rec.available())) {
        throw new RuntimeUnavailableError(`${rec.unavailable.message} No image can be built.`, rec.unavailable.hint);
      }
      return { image: true, skipped: undefined };
    }
    for (const rec of this.records.filter((r) => r.needsImage)) {
      if (await rec.available()) return { image: true, skipped: undefined };
    }
    const fallback = this.lastResort().name;
    return { image: false, skipped: `no ${this.records.filter((r) => r.needsImage).map((r) => r.name).join(' or ')} engine answered; the servable runs on the ${fallback} runtime` };
  }
}
