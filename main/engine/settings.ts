/** Limits and timings the engine runs with; each can be set from the environment. */
export interface Settings {
  /** Idle workers stop after this long without a call. */
  idleMs: number;
  /** Largest accepted input, in bytes of its encoded form (DLHub's client limit is 5 MB). */
  maxInputBytes: number;
  /** Memory limit of one Docker worker. */
  workerMemoryBytes: number;
  /** Process limit of one Docker worker. */
  workerPidsLimit: number;
}

const MB = 1024 * 1024;

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  // A bad value falls back rather than crashing every command; `dlhub doctor`-style reporting can come later.
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Read settings from the environment, with the documented defaults. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    idleMs: intFromEnv(env, 'DLHUB_IDLE_SECONDS', 300) * 1000,
    maxInputBytes: intFromEnv(env, 'DLHUB_MAX_INPUT_BYTES', 5 * MB),
    workerMemoryBytes: intFromEnv(env, 'DLHUB_WORKER_MEMORY_BYTES', 2048 * MB),
    workerPidsLimit: intFromEnv(env, 'DLHUB_WORKER_PIDS', 256),
  };
}
