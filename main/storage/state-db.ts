import type Database from 'better-sqlite3';
import { openDatabase } from './sqlite.js';
import type { Migration } from './sqlite.js';

/**
 * state.db's schema steps, for every area that keeps state there (catalog, tasks; outbox and
 * settings later). This list is the one place state.db's schema is defined: append, never edit a released step.
 */
export const stateMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'catalog',
    // `generation` moves in the same transaction as every record change, so a saved search index can tell it is stale;
    // each row's `gen` and the tombstones let another process catch up on just what changed.
    up: `
      CREATE TABLE catalog_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL
      );
      INSERT INTO catalog_state (id, generation) VALUES (1, 0);
      CREATE TABLE catalog_records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        servable TEXT NOT NULL,
        version TEXT NOT NULL,
        version_key TEXT NOT NULL,
        published INTEGER,
        local INTEGER NOT NULL DEFAULT 0,
        latest INTEGER NOT NULL DEFAULT 0,
        metadata TEXT NOT NULL,
        gen INTEGER NOT NULL,
        UNIQUE (servable, version)
      );
      CREATE INDEX catalog_records_gen ON catalog_records (gen);
      CREATE TABLE catalog_tombstones (
        id INTEGER PRIMARY KEY,
        gen INTEGER NOT NULL
      );
      CREATE INDEX catalog_tombstones_gen ON catalog_tombstones (gen);
    `,
  },
  {
    version: 2,
    name: 'tasks',
    // One row per asynchronous task. `request` and `output` are stored frames (the memo cache's value
    // encoding), so bytes and arrays come back as they went in, across restarts. `owner_pid` is the
    // process running the task: claims are atomic UPDATEs on it, and a dead owner makes the task recoverable.
    up: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        servable TEXT NOT NULL,
        method TEXT,
        batch INTEGER NOT NULL,
        deterministic INTEGER NOT NULL,
        request TEXT NOT NULL,
        input BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
        owner_pid INTEGER,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        outcome TEXT,
        output BLOB,
        error TEXT,
        restarts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX tasks_status ON tasks (status, created_at);
    `,
  },
  {
    version: 3,
    name: 'task parts',
    // Answers of a running task, written as soon as its worker gives them (a batch is answered in
    // parts): a process killed before the task's end leaves them for the next one to keep. `items`
    // is the JSON list of the answered inputs' indices; `answer` a stored frame of {outputs, errors}.
    up: `
      CREATE TABLE task_parts (
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        items TEXT NOT NULL,
        runtime TEXT NOT NULL,
        elapsed_ms REAL NOT NULL,
        answer BLOB NOT NULL,
        PRIMARY KEY (task_id, seq)
      );
    `,
  },
  {
    version: 5,
    name: 'users',
    // Local accounts for instruments (the gRPC door). `password` is `scrypt$N$r$p$salt$key` (storage/users.ts);
    // `servables` is a JSON list of the servables the account may use, NULL for every one.
    up: `
      CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        servables TEXT,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: 'hub outbox and sync cursor',
    // Publishes and shares waiting for the hub (main/hub/outbox.ts): each keeps the idempotency key it
    // is sent with on every try, so the hub records it once; `owner_pid` is the process sending it
    // (a dead owner's row is taken over). `hub_sync` keeps the change feed's cursor per hub and user,
    // written in the same transaction as the catalog page it ends.
    up: `
      CREATE TABLE hub_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('publish', 'share')),
        name TEXT NOT NULL,
        detail TEXT NOT NULL,
        hub TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        owner_pid INTEGER,
        last_error TEXT,
        result TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX hub_outbox_status ON hub_outbox (status, next_attempt_at);
      CREATE TABLE hub_sync (
        hub TEXT NOT NULL,
        user TEXT NOT NULL,
        cursor TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (hub, user)
      );
    `,
  },
  {
    version: 8,
    name: 'clusters',
    // Clusters batches can be sent to (`dlhub cluster add`): one row each, the settings as JSON
    // (main/cluster/store.ts reads them through the contract's ClusterInfo schema).
    up: `
      CREATE TABLE clusters (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
];

/** Open state.db at the newest schema. */
export function openStateDb(file: string): Database.Database {
  return openDatabase(file, stateMigrations);
}
