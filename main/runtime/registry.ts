import { RUNTIME_NAMES, type RuntimeAvailability } from '../contract/runtimes.js';
import type Dockerode from 'dockerode';
import { RuntimeUnavailableError } from '../errors.js';
import type { BuildContext } from '../packager/context.js';
import type { LocalServable } from '../servable/registry.js';
import { dockerRecord } from './docker.js';
import { hostRecord } from './host.js';
import { apptainerRecord } from './apptainer.js';
import type {
  ArtifactBuildOptions, ArtifactRemoval, BuiltImage, ImageMaker, RegistryOptions, RuntimeName, RuntimeRecord,
} from './runtime.js';

export type { Refusal, RegistryOptions, RuntimeRecord, SpecDefaults } from './runtime.js';

/**
 * The runtimes this version knows, by name: adding one (apptainer, slurm) is one file that makes its
 * record and one line here (its name goes in the contract's list; the `satisfies` below fails until
 * both agree).
 */
const RUNTIMES = {
  docker: dockerRecord,
  host: hostRecord,
  apptainer: apptainerRecord,
} satisfies { [K in RuntimeName]: (opts: RegistryOptions) => RuntimeRecord & { name: K } };

/** What one worker needs, by runtime: the union of every runtime's own spec, told apart by `runtime`. */
export type WorkerSpec = Awaited<ReturnType<ReturnType<(typeof RUNTIMES)[RuntimeName]>['workerSpec']>>;

export type { RuntimeAvailability };

/** What a build made for the runtime that will run the servable: an image, or nothing and why. */
export interface BuildArtifacts {
  image: BuiltImage | undefined;
  skipped: string | undefined;
}

/** A runtime that runs from an image it builds. */
type ImageRuntime = RuntimeRecord & { image: ImageMaker };

function withImage(r: RuntimeRecord): r is ImageRuntime {
  return r.image !== undefined;
}

/** The runtimes of one process, built once in the composition root. */
export class RuntimeRegistry {
  private readonly records: RuntimeRecord[];

  constructor(records: RuntimeRecord[]) {
    this.records = [...records].sort((a, b) => a.rank - b.rank);
  }

  /** Every runtime this version knows (RUNTIMES, in the contract's order of names). */
  static standard(opts: RegistryOptions): RuntimeRegistry {
    return new RuntimeRegistry(RUNTIME_NAMES.map((name) => RUNTIMES[name](opts)));
  }

  /** Names for `--runtime` choices, most preferred first. */
  names(): RuntimeName[] {
    return this.records.map((r) => r.name);
  }

  /** Each runtime with whether it can start workers now, why not, and its version; most preferred first. */
  availability(): Promise<RuntimeAvailability[]> {
    return Promise.all(this.records.map(async (r) => ({ name: r.name, description: r.description, ...(await r.probe()) })));
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

  /** The first runtime that runs from an image (its base image shapes every build's content key). */
  private imageRuntime(): RuntimeRecord | undefined {
    return this.records.find((r) => r.image !== undefined);
  }

  /** The base image a build uses (named, else chosen offline first), with a note when it is not the named one. */
  async chooseBaseImage(named: string | undefined): Promise<{ image: string; note: string | undefined }> {
    const maker = this.imageRuntime()?.image;
    // With no image runtime the name only enters the content key.
    return maker ? maker.chooseBase(named) : { image: named ?? 'none', note: undefined };
  }

  /** An engine handle for `--accept-installed`'s probe of the base image, when one answers. */
  async probeClient(): Promise<Dockerode | undefined> {
    return this.imageRuntime()?.image?.probeClient();
  }

  /**
   * Make what `requested` (or the default) runs from: an image, when a runtime that needs one was
   * named or answers; else nothing, with the reason. Throws when the named runtime is down.
   */
  async build(ctx: BuildContext, requested: string | undefined, opts: ArtifactBuildOptions): Promise<BuildArtifacts> {
    const maker = await this.builder(requested);
    if ('skipped' in maker) return { image: undefined, skipped: maker.skipped };
    return { image: await maker.record.image.build(ctx, opts), skipped: undefined };
  }

  private async builder(requested: string | undefined): Promise<{ record: ImageRuntime } | { skipped: string }> {
    if (requested) {
      const rec = this.get(requested);
      if (!withImage(rec)) return { skipped: `the ${rec.name} runtime was chosen (--runtime ${rec.name})` };
      if (!(await rec.available())) {
        throw new RuntimeUnavailableError(`${rec.unavailable.message} No image can be built.`, rec.unavailable.hint);
      }
      return { record: rec };
    }
    const makers = this.records.filter(withImage);
    for (const rec of makers) {
      if (await rec.available()) return { record: rec };
    }
    return { skipped: `no ${makers.map((r) => r.name).join(' or ')} engine answered; the servable runs on the ${this.lastResort().name} runtime` };
  }

  /** Remove what every runtime made for the servable in this home; `kept` says why an image stayed. */
  async remove(servable: LocalServable): Promise<ArtifactRemoval> {
    const results = await Promise.all([
      ...this.records.map((r) => r.image?.remove(servable) ?? Promise.resolve<ArtifactRemoval>({ removed: false })),
      ...this.records.map((r) => r.removeFiles?.(servable) ?? Promise.resolve<ArtifactRemoval>({ removed: false })),
    ]);
    return {
      removed: results.some((r) => r.removed),
      kept: results.map((r) => r.kept).find((k) => k !== undefined),
    };
  }
}
