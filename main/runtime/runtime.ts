import type { RunnerConnection } from './protocol/connection.js';

/** Names of the runtimes a servable can run on. */
export type RuntimeName = 'docker' | 'host' | 'apptainer';

/** What a runtime needs to start one worker of a servable. */
export interface WorkerSpec {
  /** Servable name (dlhub.name). */
  name: string;
  /** Folder holding the servable's files and dlhub.json, as the runner will see them (host runtime uses it directly). */
  servableDir: string;
  /** Folder holding dlhub_runner.py (host runtime). */
  runnerDir: string;
  /** Image tag or id (docker runtime). */
  image?: string | undefined;
  /** The servable asked for network access (dlhub.network === true); off by default. */
  network?: boolean | undefined;
  /** Memory limit in bytes (docker); default from settings. */
  memoryBytes?: number | undefined;
  /** Process limit (docker); default from settings. */
  pidsLimit?: number | undefined;
  /** Host interpreter to use (host runtime); when absent the runtime finds one. */
  python?: string | undefined;
  /** Carry frames over stdio instead of a Unix socket. */
  transport?: 'socket' | 'stdio' | undefined;
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

/** A way of running servables: Docker, Apptainer or the host's Python. */
export interface Runtime {
  readonly name: RuntimeName;
  /** Cheap probe: can this runtime start workers right now? Never throws. */
  available(): Promise<boolean>;
  /** Start one worker and return once it has answered `hello`. */
  start(spec: WorkerSpec): Promise<Worker>;
}
