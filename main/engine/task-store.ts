import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { TaskError, type ErrorJSON } from '../errors.js';
import { openStateDb } from '../storage/state-db.js';
import { isProcessAlive } from '../storage/process-alive.js';
import type { TaskInfo, TaskStatus } from '../contract/index.js';
import type { ClaimedTask, StoredOutcome, StoredRequest } from './types.js';

/** Answers a task's worker gave before the task ended (see saveParts). */
export interface StoredPart {
  items: number[];
  runtime: string;
  elapsedMs: number;
  answer: Buffer;
}

/** A task whose process is gone, as recovery sees it: what it was, and the answers its worker had given. */
export interface Orphan {
  id: string;
  servable: string;
  method: string | undefined;
  ownerPid: number | null;
  status: TaskStatus;
  deterministic: boolean;
  batch: boolean;
  parts: StoredPart[];
  /** The task's stored input frame (read only when asked). */
  input: () => Buffer;
}

/** Recovery's verdict on one orphan: finish it with answers kept, fail it, or run it (again) here. */
export type OrphanVerdict =
  | { kind: 'succeed'; outcome: StoredOutcome; output: Buffer }
  | { kind: 'fail'; error: ErrorJSON }
  | { kind: 'rerun' };

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
    on: (JSON.parse(row.request) as StoredRequest).on,
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

  /** Keep answers a worker gave for a task this process runs, at once, before the task ends. */
  savePart(id: string, part: StoredPart): boolean {
    return this.db
      .prepare(`INSERT INTO task_parts (task_id, seq, items, runtime, elapsed_ms, answer)
                SELECT ?, (SELECT COUNT(*) FROM task_parts WHERE task_id = ?), ?, ?, ?, ?
                WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ? AND status = 'running' AND owner_pid = ?)`)
      .run(id, id, JSON.stringify(part.items), part.runtime, part.elapsedMs, part.answer, id, this.pid).changes === 1;
  }

  /** The answers kept for a task that has not finished, in the order they were given. */
  parts(id: string): StoredPart[] {
    const rows = this.db.prepare('SELECT items, runtime, elapsed_ms, answer FROM task_parts WHERE task_id = ? ORDER BY seq').all(id) as { items: string; runtime: string; elapsed_ms: number; answer: Buffer }[];
    return rows.map((r) => ({ items: JSON.parse(r.items) as number[], runtime: r.runtime, elapsedMs: r.elapsed_ms, answer: r.answer }));
  }

  /** Change a task's row and drop its kept parts in one transaction; true when the row changed. */
  private settle(id: string, sql: string, args: unknown[]): boolean {
    return this.db.transaction(() => {
      const changed = this.db.prepare(sql).run(...args).changes === 1;
      if (changed) this.db.prepare('DELETE FROM task_parts WHERE task_id = ?').run(id);
      return changed;
    }).immediate();
  }

  /** Store the answer of a task this process runs; a task cancelled meanwhile stays cancelled. */
  succeed(id: string, outcome: StoredOutcome, output: Buffer): boolean {
    return this.settle(id, `UPDATE tasks SET status = 'succeeded', finished_at = ?, outcome = ?, output = ? WHERE id = ? AND status = 'running' AND owner_pid = ?`,
      [new Date().toISOString(), JSON.stringify(outcome), output, id, this.pid]);
  }

  /** Store the typed error of a task this process runs. */
  fail(id: string, error: ErrorJSON): boolean {
    return this.settle(id, `UPDATE tasks SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status IN ('pending', 'running') AND owner_pid = ?`,
      [new Date().toISOString(), JSON.stringify(error), id, this.pid]);
  }

  /** Cancel a task that has not finished; returns false when it had already finished. */
  cancel(id: string, error: ErrorJSON): boolean {
    this.row(id);
    return this.settle(id, `UPDATE tasks SET status = 'cancelled', finished_at = ?, error = ? WHERE id = ? AND status IN ('pending', 'running')`,
      [new Date().toISOString(), JSON.stringify(error), id]);
  }

  /**
   * Give a task this process holds back to whoever opens the home next (this process is closing).
   * Its kept parts stay: the next process finishes it from them when they answer every input.
   */
  release(id: string, restarted: boolean): void {
    this.db
      .prepare(`UPDATE tasks SET status = 'pending', owner_pid = NULL, started_at = NULL, restarts = restarts + ? WHERE id = ? AND status IN ('pending', 'running') AND owner_pid = ?`)
      .run(restarted ? 1 : 0, id, this.pid);
  }

  /**
   * Tasks whose owner is gone (killed, or closed and released them). `decide` gives each its fate
   * from what it was and the answers its worker had kept: finished from those answers, failed, or
   * run (again); a rerun is taken over only when `adopt`. Of two processes recovering at once,
   * exactly one wins each task (one atomic UPDATE guarded by status and owner). Returns the ids taken
   * over (now pending, owned here) and those finished or failed here.
   */
  recover(adopt: boolean, decide: (orphan: Orphan) => OrphanVerdict): { adopted: string[]; settled: string[] } {
    const rows = this.db
      .prepare(`SELECT id, servable, method, status, deterministic, batch, owner_pid FROM tasks WHERE status IN ('pending', 'running') AND (owner_pid IS NULL OR owner_pid != ?)`)
      .all(this.pid) as Pick<Row, 'id' | 'servable' | 'method' | 'status' | 'deterministic' | 'batch' | 'owner_pid'>[];
    const adopted: string[] = [];
    const settled: string[] = [];
    for (const r of rows) {
      if (r.owner_pid !== null && isProcessAlive(r.owner_pid)) continue;
      const owner = r.owner_pid;
      const same = owner === null ? 'owner_pid IS NULL' : 'owner_pid = ?';
      const args = owner === null ? [] : [owner];
      const verdict = decide({
        id: r.id, servable: r.servable, method: r.method ?? undefined, ownerPid: owner, status: r.status, deterministic: r.deterministic === 1, batch: r.batch === 1,
        parts: this.parts(r.id), input: () => this.row(r.id).input,
      });
      if (verdict.kind === 'succeed') {
        if (this.settle(r.id, `UPDATE tasks SET status = 'succeeded', finished_at = ?, outcome = ?, output = ? WHERE id = ? AND status = ? AND ${same}`,
          [new Date().toISOString(), JSON.stringify(verdict.outcome), verdict.output, r.id, r.status, ...args])) settled.push(r.id);
        continue;
      }
      if (verdict.kind === 'fail') {
        if (this.settle(r.id, `UPDATE tasks SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = ? AND ${same}`,
          [new Date().toISOString(), JSON.stringify(verdict.error), r.id, r.status, ...args])) settled.push(r.id);
        continue;
      }
      if (!adopt) continue;
      const won = this.settle(r.id, `UPDATE tasks SET status = 'pending', owner_pid = ?, started_at = NULL, restarts = restarts + ? WHERE id = ? AND status = ? AND ${same}`,
        [this.pid, r.status === 'running' ? 1 : 0, r.id, r.status, ...args]);
      if (won) adopted.push(r.id);
    }
    return { adopted, settled };
  }

  /** Close the database handle. */
  close(): void {
    this.db.close();
  }
}
