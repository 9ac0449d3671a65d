// The outbox: publishes and shares made while the hub or its registry could not be reached, kept in
// state.db until they are sent. Every entry carries the idempotency key it is sent with on every
// try, so a send that reached the hub but whose answer was lost (a cut connection, a kill -9) is
// answered, not repeated, by the hub. An entry is taken by an atomic UPDATE that names this process;
// a dead process's entry is taken over. Retries wait longer each time (backoff, capped).
import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import type { HubWorkOutcome, OutboxItem } from '../contract/hub.js';
import { isProcessAlive } from '../storage/process-alive.js';
import { openStateDb } from '../storage/state-db.js';

/** What kind of work waits. */
export type OutboxKind = 'publish' | 'share';

/** One stored entry, as the drain reads it. */
export interface OutboxEntry {
  id: number;
  kind: OutboxKind;
  name: string;
  /** The visibility of a publish, the group of a share. */
  detail: string;
  hub: string;
  idempotencyKey: string;
  attempts: number;
}

interface Row {
  id: number;
  kind: OutboxKind;
  name: string;
  detail: string;
  hub: string;
  idempotency_key: string;
  status: OutboxItem['status'];
  attempts: number;
  next_attempt_at: number;
  owner_pid: number | null;
  last_error: string | null;
  result: string | null;
  created_at: string;
  updated_at: string;
}

/** The wait before try number `attempts + 1`: 5 s doubling to 10 minutes, with a little jitter so clients do not retry in step. */
export function backoffMs(attempts: number, random = Math.random): number {
  const base = Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 600_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A fresh idempotency key. */
export function newIdempotencyKey(): string {
  return `dlhub-${randomUUID()}`;
}

/** The outbox table of one state.db. */
export class Outbox {
  /** `db`: state.db's connection, which the sync's cursor is read through too. */
  private constructor(readonly db: Database.Database, private readonly now: () => number) {}

  /** Open the outbox in state.db (its own connection). */
  static open(stateDb: string, now: () => number = Date.now): Outbox {
    return new Outbox(openStateDb(stateDb), now);
  }

  /** Queue work; `key` is the idempotency key a first try already used, if any. Answers the entry's id. */
  add(kind: OutboxKind, name: string, detail: string, hub: string, key: string, error: string): number {
    const t = this.now();
    const iso = new Date(t).toISOString();
    const row = this.db.prepare<[string, string, string, string, string, number, string, string, string], { id: number }>(
      `INSERT INTO hub_outbox (kind, name, detail, hub, idempotency_key, status, attempts, next_attempt_at, last_error, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'queued', 1, ?, ?, ?, ?)
       ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = excluded.updated_at RETURNING id`,
    ).get(kind, name, detail, hub, key, t + backoffMs(1), error, iso, iso);
    return (row as { id: number }).id;
  }

  /**
   * Take the next entry that is due (or every waiting one with `force`), oldest first, for this
   * process: queued ones, and running ones whose process is gone. Undefined when none is left.
   * `skip` holds ids this pass already tried.
   */
  claim(opts: { force?: boolean; skip?: ReadonlySet<number> } = {}): OutboxEntry | undefined {
    const t = this.now();
    const rows = this.db.prepare<[], Row>("SELECT * FROM hub_outbox WHERE status IN ('queued', 'running') ORDER BY id").all();
    for (const r of rows) {
      if (opts.skip?.has(r.id)) continue;
      if (r.status === 'running' && r.owner_pid !== null && (r.owner_pid === process.pid || isProcessAlive(r.owner_pid))) continue;
      if (r.status === 'queued' && !opts.force && r.next_attempt_at > t) continue;
      const taken = this.db.prepare<[number, string, number, string, number | null], void>(
        'UPDATE hub_outbox SET status = \'running\', owner_pid = ?, updated_at = ? WHERE id = ? AND status = ? AND owner_pid IS ?',
      ).run(process.pid, new Date(t).toISOString(), r.id, r.status, r.owner_pid);
      if (taken.changes === 1) return { id: r.id, kind: r.kind, name: r.name, detail: r.detail, hub: r.hub, idempotencyKey: r.idempotency_key, attempts: r.attempts };
    }
    return undefined;
  }

  /** Whether an earlier entry for the same servable still waits (a share must follow its publish). */
  earlierWaiting(entry: OutboxEntry): boolean {
    return this.db.prepare<[string, number], { n: number }>("SELECT count(*) AS n FROM hub_outbox WHERE name = ? AND id < ? AND status IN ('queued', 'running')").get(entry.name, entry.id)!.n > 0;
  }

  /** The work reached the hub: keep its answer. */
  done(id: number, result: HubWorkOutcome): void {
    this.db.prepare<[string, string, number], void>("UPDATE hub_outbox SET status = 'done', owner_pid = NULL, last_error = NULL, result = ?, updated_at = ? WHERE id = ?")
      .run(JSON.stringify(result), new Date(this.now()).toISOString(), id);
  }

  /** The try failed in a way worth waiting out: back in the queue, later each time. */
  retry(id: number, error: string): void {
    const t = this.now();
    const row = this.db.prepare<[number], { attempts: number }>('SELECT attempts FROM hub_outbox WHERE id = ?').get(id);
    const attempts = (row?.attempts ?? 0) + 1;
    this.db.prepare<[number, number, string, string, number], void>("UPDATE hub_outbox SET status = 'queued', owner_pid = NULL, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?")
      .run(attempts, t + backoffMs(attempts), error, new Date(t).toISOString(), id);
  }

  /** Put a claimed entry back untouched (its turn had not come). */
  release(id: number): void {
    this.db.prepare<[number], void>("UPDATE hub_outbox SET status = 'queued', owner_pid = NULL WHERE id = ? AND status = 'running'").run(id);
  }

  /** The hub refused the work (a conflict, a name not the caller's): it will not succeed by waiting. */
  fail(id: number, error: string): void {
    this.db.prepare<[string, string, number], void>("UPDATE hub_outbox SET status = 'failed', owner_pid = NULL, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?")
      .run(error, new Date(this.now()).toISOString(), id);
  }

  /** Every entry, newest first (at most `limit`). */
  list(limit = 200): OutboxItem[] {
    return this.db.prepare<[number], Row>('SELECT * FROM hub_outbox ORDER BY id DESC LIMIT ?').all(limit).map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.name,
      detail: r.detail,
      status: r.status,
      attempts: r.attempts,
      ...(r.status === 'queued' ? { nextAttemptAt: new Date(r.next_attempt_at).toISOString() } : {}),
      ...(r.last_error ? { lastError: r.last_error } : {}),
      ...(r.result ? { result: JSON.parse(r.result) as HubWorkOutcome } : {}),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** How many entries wait and how many failed. */
  counts(): { queued: number; failed: number } {
    const rows = this.db.prepare<[], { status: string; n: number }>('SELECT status, count(*) AS n FROM hub_outbox GROUP BY status').all();
    const n = (s: string): number => rows.find((r) => r.status === s)?.n ?? 0;
    return { queued: n('queued') + n('running'), failed: n('failed') };
  }

  close(): void {
    this.db.close();
  }
}
