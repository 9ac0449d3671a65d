import type { Migration } from '../storage/sqlite.js';

/**
 * memo.db schema steps. Append new steps; never edit a released one.
 * `totals` is kept exact by triggers, so every process sharing the file sees the same size without a table scan.
 */
export const memoMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'entries and totals',
    up: `
      CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        key BLOB NOT NULL UNIQUE,
        servable TEXT NOT NULL,
        method TEXT NOT NULL,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        checksum BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        last_used INTEGER NOT NULL
      );
      CREATE INDEX entries_last_used ON entries (last_used);
      CREATE INDEX entries_servable ON entries (servable);
      CREATE TABLE totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        entries INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        misses INTEGER NOT NULL
      );
      INSERT INTO totals (id, entries, bytes, hits, misses) VALUES (1, 0, 0, 0, 0);
      CREATE TRIGGER entries_inserted AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 1;
      END;
      CREATE TRIGGER entries_deleted AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 1;
      END;
      CREATE TRIGGER entries_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - OLD.size + NEW.size WHERE id = 1;
      END;
    `,
  },
];
