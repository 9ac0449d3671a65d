import type Dockerode from 'dockerode';
import type { RuntimeName } from '../contract/runtimes.js';
import type { BuildContext } from '../packager/context.js';
import type { LocalServable } from '../servable/registry.js';
import type { RunnerConnection } from './protocol/connection.js';

/** Names of the runtimes a servable can run on: the contract's one list (RUNTIME_NAMES). */
export type { RuntimeName };
/** What one worker needs, by runtime: derived from the registry's records (RUNTIMES). */
export type { WorkerSpec } from './registry.js';

/** What every runtime's worker spec carries; each runtime adds its own fields under its `runtime` name. */
export interface WorkerSpecBase {
  /** The runtime the spec is for: each runtime's spec type narrows it to its own name. */
  runtime: RuntimeName;
  /** Servable name (dlhub.name). */
  name: string;
  /** Folder holding the servable's files and dlhub.json, as prepared by the build. */
  servableDir: string;
  /** Folder holding dlhub_runner.py. */
  runnerDir: string;
  /** Carry frames over stdio instead of a Unix socket. */
  transport?: 'socket' | 'stdio' | undefined;
  /** Give the worker the machine's GPUs (dlhub.resources.gpu on a machine that has one; see hardware.ts). */
  gpu?: boolean | undefined;
}

/** One running runner process: a connection plus the means to stop it. */
export interface Worker {
  readonly id: string;
  readonly runtime: RuntimeName;
  readonly connection: RunnerConnection;
  /** Resolves when the worker process has exited (for any reason). */
  readonly exited: Promise<void>;
  /** Ask the runner to shut down, then kill and clean up whatever remains. Idempotent. */
  stop(): Promise<void>;
}

/** Starts workers from one runtime's spec (the engine's pool holds it beside the spec). */
export interface Runtime<S extends WorkerSpecBase = WorkerSpecBase> {
  readonly name: S['runtime'];
  /** Start one worker and return once it has answered `hello`. */
  start(spec: S): Promise<Worker>;
}

/** Why a runtime cannot serve a call, and what to do instead. */
export interface Refusal {
  message: string;
  hint: string;
}

/** Can a runtime start workers now: when not, why; when it can, the version of what runs them. */
export interface Availability {
  available: boolean;
  reason?: string | undefined;
  version?: string | undefined;
}

/** Worker limits every runtime receives from the engine's settings. */
export interface SpecDefaults {
  memoryBytes: number;
  pidsLimit: number;
}

/** The image a build made (or found already made) for a runtime that runs from one. */
export interface BuiltImage {
  tag: string;
  imageId: string;
  rebuilt: boolean;
  seconds: number;
}

/** How one build of a runtime's artifact goes. */
export interface ArtifactBuildOptions {
  force: boolean;
  onProgress?: ((p: { step: number; total: number; message: string }) => void) | undefined;
}

/** What removing a servable's artifact did. */
export interface ArtifactRemoval {
  /** The artifact itself is gone from the machine. */
  removed: boolean;
  /** Why it was left in place (another home still uses it), when it was. */
  kept?: string | undefined;
}

/**
 * What a runtime that runs from an image adds: choosing the base, building and removing its image.
 * Runtimes that run the prepared files as they are (host) have none.
 */
export interface ImageMaker {
  /** The base image a build uses, and a sentence when it is not the one named. */
  chooseBase(named: string | undefined): Promise<{ image: string; note: string | undefined }>;
  /** The engine client for `--accept-installed`'s probe of the base image, when the engine answers. */
  probeClient(): Promise<Dockerode | undefined>;
  /** Build the context's image, or reuse the one its content already earned. */
  build(ctx: BuildContext, opts: ArtifactBuildOptions): Promise<BuiltImage>;
  /** Remove what this home's builds made for the servable. Never fails for an image that is already gone. */
  remove(servable: LocalServable): Promise<ArtifactRemoval>;
}

/**
 * One runtime, as data and behaviour: everything the engine, the build, `rm` and the listings need
 * to know about it. Adding a runtime means one file that makes such a record and one line in
 * RUNTIMES (main/runtime/registry.ts), with its name in the contract's list.
 */
export interface RuntimeRecord<S extends WorkerSpecBase = WorkerSpecBase> {
  readonly name: S['runtime'];
  /** One line for `--runtime` help and `dlhub runtimes`. */
  readonly description: string;
  /** Preference when no runtime is named: the lowest rank that can run the servable and is available wins. */
  readonly rank: number;
  /** Chosen when nothing else is available, so its own error says what is missing. */
  readonly lastResort: boolean;
  /** Present when a build has to make an image for this runtime. */
  readonly image?: ImageMaker | undefined;
  /** Files the runtime made from the servable's image outside any image store (an Apptainer SIF), removed with it by `dlhub rm`. */
  readonly removeFiles?: ((servable: LocalServable) => Promise<ArtifactRemoval>) | undefined;
  readonly runtime: Runtime<S>;
  /** Cheap probe (cached where it costs a round trip). Never throws. */
  available(): Promise<boolean>;
  /** Whether it can start workers, why not, and its version (for `dlhub runtimes`). Never throws. */
  probe(): Promise<Availability>;
  /** Why this servable cannot run here as built (e.g. no image yet), or undefined when it can. */
  refuses(servable: LocalServable): Refusal | undefined;
  /** What identifies the code an answer came from, for the memo key. */
  digest(servable: LocalServable): Promise<string>;
  /** What `runtime.start` needs for one worker of the servable. */
  workerSpec(servable: LocalServable, defaults: SpecDefaults): Promise<S>;
  /** The message and hint when the runtime was asked for and is not there. */
  readonly unavailable: Refusal;
}

/** How the registry's runtimes are set up. */
export interface RegistryOptions {
  /** The DLHub home (owner label of containers, per-home image tags). */
  home: string;
  /** Folder for worker sockets ($DLHUB_HOME/run). */
  runDir: string;
  /** Folder for worker logs ($DLHUB_HOME/logs). */
  logDir: string;
  defaults: SpecDefaults;
  /** An engine handle to use instead of the default one (tests). */
  docker?: Dockerode | undefined;
}
