import type Database from 'better-sqlite3';
import { openDatabase } from './sqlite.js';
import type { Migration } from './sqlite.js';

/**
 * state.db's schema steps, for every area that keeps state there (catalog now; tasks, outbox and
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
];

/** Open state.db at the newest schema. */
export function openStateDb(file: string): Database.Database {
  return openDatabase(file, stateMigrations);
}
