import type { ErrorJSON } from '../errors.js';

/** The life of an asynchronous task, as DLHub and Globus Compute report it. */
export type TaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One asynchronous task (a single input or a batch), as stored in state.db and shown at every door. */
export interface TaskInfo {
  id: string;
  servable: string;
  method: string | undefined;
  status: TaskStatus;
  /** Whether the task was submitted with `inputs` (a batch) rather than one `input`. */
  batch: boolean;
  /** ISO timestamps. */
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** Set when status is `failed` or `cancelled`: the typed error `getResult` re-raises. */
  error: ErrorJSON | undefined;
  /** How many times the task was started again after a restart of the process that ran it. */
  restarts: number;
}

/** One warm worker, for `dlhub status`. */
export interface WorkerStatus {
  servable: string;
  runtime: string;
  replica: number;
  state: 'starting' | 'idle' | 'busy';
  calls: number;
  startedAt: string;
}

/** What `dlhub status` shows: workers, queue and limits (the cache figures are added by the API). */
export interface EngineStatus {
  workers: WorkerStatus[];
  /** Calls waiting for a worker or a concurrency slot. */
  queued: number;
  /** Calls being answered now. */
  inFlight: number;
  tasks: Record<TaskStatus, number>;
  limits: {
    maxConcurrency: number;
    maxReplicasPerServable: number;
    maxReplicasTotal: number;
    rateLimit: { calls: number; perSeconds: number } | undefined;
    timeoutMs: number | undefined;
  };
}
