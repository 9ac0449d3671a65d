// The one SQL dialect both stores speak: statements with `$1` placeholders, rows as plain objects,
// and a transaction that runs a function on one connection. SQLite and PostgreSQL each implement it.

/** A row as a driver answers it. */
export type Row = Record<string, unknown>;

/** What the hub's store needs from a database. */
export interface Sql {
  /** Run one statement; answers its rows (none for a write). */
  query(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: wait until no other writer holds the hub's write lock. Changes get their
   * cursors in commit order this way, so a feed reader never passes a cursor that commits later.
   */
  writeLock(): Promise<void>;
  /** The column type of a growing key: SQLite's and PostgreSQL's spelling differ. */
  readonly serialKey: string;
  /** Which database this is, for messages. */
  readonly kind: 'sqlite' | 'postgres';
  close(): Promise<void>;
}
