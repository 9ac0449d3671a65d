import { parseWorkspaces } from '../storage/door-paths.js';

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
  /** Warm replicas per servable: a default and per-servable overrides (DLHUB_REPLICAS="2" or "iris=3,2"). */
  replicas: { default: number; perServable: Record<string, number> };
  /** Workers this process keeps at most, all servables together (DLHUB_MAX_WORKERS). */
  maxWorkers: number;
  /** Most single calls sent to a worker together when they queued behind a busy one (DLHUB_BATCH_MAX; 1 turns batching off). */
  batchMax: number;
  /** Longest a queued call is held back to fill a batch (DLHUB_BATCH_DELAY_MS); never applies when a worker is idle. */
  batchDelayMs: number;
  /** Calls answered at once by this process; more are refused with BUSY (DLHUB_MAX_CONCURRENCY). */
  maxConcurrency: number;
  /** Most inputs in one batch (a run's or a task's `inputs`); more are refused with LIMIT_EXCEEDED (DLHUB_MAX_BATCH_ITEMS). */
  maxBatchItems: number;
  /** Per-call time limit when a call names none (DLHUB_TIMEOUT_SECONDS; 0 means none). */
  timeoutMs: number | undefined;
  /** Client-side rate limit at the SDK and CLI doors (DLHUB_RATE_LIMIT="20/10" or "off"). */
  rateLimit: { calls: number; perSeconds: number } | undefined;
  /** Folders a network caller (HTTP API, browser mode, gRPC) may read and write besides $DLHUB_HOME/staging (DLHUB_WORKSPACE, a path-list). */
  workspaces: string[];
}

const MB = 1024 * 1024;

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  // A bad value falls back rather than crashing every command; `dlhub doctor`-style reporting can come later.
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Parse DLHUB_REPLICAS: "2" (every servable), or "iris=3,noop=1,2" (overrides plus a default). */
export function parseReplicas(raw: string | undefined): Settings['replicas'] {
  const out: Settings['replicas'] = { default: 1, perServable: Object.create(null) as Record<string, number> };
  for (const part of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    const n = Number(eq >= 0 ? part.slice(eq + 1) : part);
    if (!Number.isInteger(n) || n < 1) continue;
    if (eq >= 0) out.perServable[part.slice(0, eq).trim()] = n;
    else out.default = n;
  }
  return out;
}

/** Parse DLHUB_RATE_LIMIT: "CALLS/SECONDS", or "off"/"0" for none; undefined gives DLHub's 20 calls per 10 s. */
export function parseRateLimit(raw: string | undefined): Settings['rateLimit'] {
  if (raw === undefined || raw.trim() === '') return { calls: 20, perSeconds: 10 };
  const text = raw.trim().toLowerCase();
  if (text === 'off' || text === '0' || text === 'none') return undefined;
  const m = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(text);
  if (!m) return { calls: 20, perSeconds: 10 };
  const calls = Number(m[1]);
  const perSeconds = Number(m[2]);
  return calls > 0 && perSeconds > 0 ? { calls, perSeconds } : undefined;
}

/** Read settings from the environment, with the documented defaults. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const timeoutSeconds = intFromEnv(env, 'DLHUB_TIMEOUT_SECONDS', 0);
  return {
    idleMs: intFromEnv(env, 'DLHUB_IDLE_SECONDS', 300) * 1000,
    maxInputBytes: intFromEnv(env, 'DLHUB_MAX_INPUT_BYTES', 5 * MB),
    workerMemoryBytes: intFromEnv(env, 'DLHUB_WORKER_MEMORY_BYTES', 2048 * MB),
    workerPidsLimit: intFromEnv(env, 'DLHUB_WORKER_PIDS', 256),
    replicas: parseReplicas(env['DLHUB_REPLICAS']),
    maxWorkers: Math.max(1, intFromEnv(env, 'DLHUB_MAX_WORKERS', 8)),
    batchMax: Math.max(1, intFromEnv(env, 'DLHUB_BATCH_MAX', 64)),
    batchDelayMs: intFromEnv(env, 'DLHUB_BATCH_DELAY_MS', 0),
    maxConcurrency: Math.max(1, intFromEnv(env, 'DLHUB_MAX_CONCURRENCY', 256)),
    maxBatchItems: Math.max(1, intFromEnv(env, 'DLHUB_MAX_BATCH_ITEMS', 100_000)),
    timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
    rateLimit: parseRateLimit(env['DLHUB_RATE_LIMIT']),
    workspaces: parseWorkspaces(env['DLHUB_WORKSPACE']),
  };
}
