import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { TaskError, type ErrorJSON } from '../errors.js';
import { openStateDb } from '../storage/state-db.js';
import { isProcessAlive } from '../storage/process-alive.js';
import type { TaskInfo, TaskStatus } from './task-types.js';
import type { RunOutcome } from './engine.js';

/** The request of a task as stored: everything but the input values, which travel as a stored frame. */
export interface StoredRequest {
  name: string;
  method?: string | undefined;
  noCache?: boolean | undefined;
  runtime?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
  timeoutMs?: number | undefined;
}

/** What a finished task's outcome keeps besides its output frame. */
export interface StoredOutcome {
  servable: string;
  method: string;
  runtime: string;
  cached: boolean | boolean[];
  elapsedMs: number;
  inferenceMs?: number | undefined;
  errors?: (ErrorJSON | null)[] | undefined;
  /** A pipeline's per-step account. */
  steps?: RunOutcome['steps'];
}

interface Row {
  id: string;
  servable: string;
  method: string | null;
  batch: number;
  deterministic: number;
  request: string;
  input: Buffer;
  status: TaskStatus;
  owner_pid: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  outcome: string | null;
  output: Buffer | null;
  error: string | null;
  restarts: number;
}

/** A claimed task, ready to run. */
export interface ClaimedTask {
  id: string;
  request: StoredRequest;
  batch: boolean;
  input: Buffer;
}

const FINISHED: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Is this status final? */
export function isFinished(status: TaskStatus): boolean {
  return FINISHED.includes(status);
}

function info(row: Row): TaskInfo {
  return {
    id: row.id,
    servable: row.servable,
    method: row.method ?? undefined,
    status: row.status,
    batch: row.batch === 1,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
    error: row.error ? (JSON.parse(row.error) as ErrorJSON) : undefined,
    restarts: row.restarts,
  };
}

/** Asynchronous tasks in state.db: every state change is one atomic UPDATE guarded by status and owner. */
export class TaskStore {
  private readonly db: Database.Database;

  constructor(file: string, private readonly pid: number = process.pid) {
    this.db = openStateDb(file);
  }

  /** Record a new pending task owned by this process. */
  insert(t: { servable: string; method: string | undefined; batch: boolean; deterministic: boolean; request: StoredRequest; input: Buffer }): TaskInfo {
    const id = randomUUID();
    this.db
      .prepare(`INSERT INTO tasks (id, servable, method, batch, deterministic, request, input, status, owner_pid, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`)
      .run(id, t.servable, t.method ?? null, t.batch ? 1 : 0, t.deterministic ? 1 : 0, JSON.stringify(t.request), t.input, this.pid, new Date().toISOString());
    return this.get(id);
  }

  /** One task, or TASK_NOT_FOUND. */
  get(id: string): TaskInfo {
    return info(this.row(id));
  }

  /** Just the status of a task (cheap, for polling), or undefined when there is no such task. */
  status(id: string): TaskStatus | undefined {
    return (this.db.prepare('SELECT status FROM tasks WHERE id = ?').get(id) as { status: TaskStatus } | undefined)?.status;
  }

  private row(id: string): Row {
    const row = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined;
    if (!row) {
      throw new TaskError('TASK_NOT_FOUND', `No task has the id "${id}".`, { hint: 'List tasks with `dlhub tasks`; ids are printed by `dlhub submit`.', details: { id } });
    }
    return row;
  }

  /** The stored output frame and outcome of a succeeded task. */
  result(id: string): { info: TaskInfo; outcome: StoredOutcome | undefined; output: Buffer | undefined } {
    const row = this.row(id);
    return { info: info(row), outcome: row.outcome ? (JSON.parse(row.outcome) as StoredOutcome) : undefined, output: row.output ?? undefined };
  }

  /** Tasks, newest first. */
  list(filter: { status?: TaskStatus | undefined; limit?: number | undefined } = {}): TaskInfo[] {
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 10_000));
    const rows = filter.status
      ? (this.db.prepare('SELECT * FROM tasks WHERE status = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(filter.status, limit) as Row[])
      : (this.db.prepare('SELECT * FROM tasks ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as Row[]);
    return rows.map(info);
  }

  /** How many tasks are in each status. */
  counts(): Record<TaskStatus, number> {
    const out: Record<TaskStatus, number> = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all() as { status: TaskStatus; n: number }[]) out[r.status] = r.n;
    return out;
  }

  /** Move a pending task this process owns to running; false when someone else got it or it was cancelled. */
  claim(id: string): ClaimedTask | undefined {
    const changed = this.db
      .prepare(`UPDATE tasks SET status = 'running', started_at = ? WHERE id = ? AND status = 'pending' AND owner_pid = ?`)
      .run(new Date().toISOString(), id, this.pid).changes;
    if (changed !== 1) return undefined;
    const row = this.row(id);
    return { id, request: JSON.parse(row.request) as StoredRequest, batch: row.batch === 1, input: row.input };
  }

  /** Store the answer of a task this process runs; a task cancelled meanwhile stays cancelled. */
  succeed(id: string, outcome: StoredOutcome, output: Buffer): boolean {
    return this.db
      .prepare(`UPDATE tasks SET status = 'succeeded', finished_at = ?, outcome = ?, output = ? WHERE id = ? AND status = 'running' AND owner_pid = ?`)
      .run(new Date().toISOString(), JSON.stringify(outcome), output, id, this.pid).changes === 1;
  }

  /** Store the typed error of a task this process runs. */
  fail(id: string, error: ErrorJSON): boolean {
    return this.db
      .prepare(`UPDATE tasks SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status IN ('pending', 'running') AND owner_pid = ?`)
      .run(new Date().toISOString(), JSON.stringify(error), id, this.pid).changes === 1;
  }

  /** Cancel a task that has not finished; returns false when it had already finished. */
  cancel(id: string, error: ErrorJSON): boolean {
    this.row(id);
    return this.db
      .prepare(`UPDATE tasks SET status = 'cancelled', finished_at = ?, error = ? WHERE id = ? AND status IN ('pending', 'running')`)
      .run(new Date().toISOString(), JSON.stringify(error), id).changes === 1;
  }

  /** Give a task this process holds back to whoever opens the home next (this process is closing). */
  release(id: string, restarted: boolean): void {
    this.db
      .prepare(`UPDATE tasks SET status = 'pending', owner_pid = NULL, started_at = NULL, restarts = restarts + ? WHERE id = ? AND status IN ('pending', 'running') AND owner_pid = ?`)
      .run(restarted ? 1 : 0, id, this.pid);
  }

  /**
   * Tasks whose owner is gone (killed, or closed and released them). A task that never started, or
   * that ran a deterministic servable, is taken over to run (again) when `adopt`; a non-deterministic
   * one that was running is marked failed with the reason, since running it twice could give another answer.
   * Returns the ids taken over.
   */
  recover(adopt: boolean, failure: (row: { id: string; servable: string; ownerPid: number | null }) => ErrorJSON): string[] {
    const rows = this.db
      .prepare(`SELECT id, servable, status, deterministic, owner_pid FROM tasks WHERE status IN ('pending', 'running') AND (owner_pid IS NULL OR owner_pid != ?)`)
      .all(this.pid) as Pick<Row, 'id' | 'servable' | 'status' | 'deterministic' | 'owner_pid'>[];
    const adopted: string[] = [];
    for (const r of rows) {
      if (r.owner_pid !== null && isProcessAlive(r.owner_pid)) continue;
      const owner = r.owner_pid;
      const same = owner === null ? 'owner_pid IS NULL' : 'owner_pid = ?';
      const args = owner === null ? [] : [owner];
      if (r.status === 'running' && r.deterministic === 0) {
        this.db
          .prepare(`UPDATE tasks SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running' AND ${same}`)
          .run(new Date().toISOString(), JSON.stringify(failure({ id: r.id, servable: r.servable, ownerPid: owner })), r.id, ...args);
        continue;
      }
      if (!adopt) continue;
      // One atomic UPDATE per task: of two processes recovering at once, exactly one wins it.
      const won = this.db
        .prepare(`UPDATE tasks SET status = 'pending', owner_pid = ?, started_at = NULL, restarts = restarts + ? WHERE id = ? AND status = ? AND ${same}`)
        .run(this.pid, r.status === 'running' ? 1 : 0, r.id, r.status, ...args).changes === 1;
      if (won) adopted.push(r.id);
    }
    return adopted;
  }

  /** Close the database handle. */
  close(): void {
    this.db.close();
  }
}
