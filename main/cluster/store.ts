// The clusters added on this machine, kept in state.db (one row each, its settings as JSON).
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { ClusterInfo, ClusterSpec } from '../contract/clusters.js';
import { NotFoundError } from '../errors.js';
import type { HomePaths } from '../storage/home.js';
import { openStateDb } from '../storage/state-db.js';

/** How many pilot jobs a batch gets when the cluster does not say. */
export const DEFAULT_PILOTS = 2;

/** The cluster record `spec` becomes: defaults filled in (spool under the home, host runtime, two pilots). */
export function clusterInfo(paths: HomePaths, spec: ClusterSpec, createdAt = new Date().toISOString()): ClusterInfo {
  return {
    ...spec,
    runtime: spec.runtime ?? 'host',
    spool: spec.spool ?? join(paths.root, 'spool', spec.name),
    pilots: spec.pilots ?? DEFAULT_PILOTS,
    createdAt,
  };
}

/** The error for a cluster name nobody added. */
export function clusterNotFound(name: string, known: string[]): NotFoundError {
  return new NotFoundError('CLUSTER_NOT_FOUND', `No cluster named "${name}" was added.`, {
    hint: known.length > 0 ? `Added clusters: ${known.join(', ')}. Add one with \`dlhub cluster add NAME --scheduler slurm\`.` : 'Add one with `dlhub cluster add NAME --scheduler slurm`.',
  });
}

/** Clusters in state.db. */
export class ClusterStore {
  private db: Database.Database | undefined;

  constructor(private readonly paths: HomePaths) {}

  private open(): Database.Database {
    this.db ??= openStateDb(this.paths.stateDb);
    return this.db;
  }

  /** Add a cluster, replacing one of the same name. */
  add(spec: ClusterSpec): ClusterInfo {
    const info = clusterInfo(this.paths, spec);
    this.open().prepare('INSERT OR REPLACE INTO clusters (name, spec, created_at) VALUES (?, ?, ?)').run(info.name, JSON.stringify(info), info.createdAt);
    return info;
  }

  /** Every cluster, by name. */
  list(): ClusterInfo[] {
    const rows = this.open().prepare('SELECT spec FROM clusters ORDER BY name').all() as { spec: string }[];
    return rows.map((r) => JSON.parse(r.spec) as ClusterInfo);
  }

  /** One cluster; CLUSTER_NOT_FOUND when none has the name. */
  get(name: string): ClusterInfo {
    const row = this.open().prepare('SELECT spec FROM clusters WHERE name = ?').get(name) as { spec: string } | undefined;
    if (!row) throw clusterNotFound(name, this.list().map((c) => c.name));
    return JSON.parse(row.spec) as ClusterInfo;
  }

  /** Forget a cluster; CLUSTER_NOT_FOUND when none has the name. */
  remove(name: string): boolean {
    const r = this.open().prepare('DELETE FROM clusters WHERE name = ?').run(name);
    if (r.changes === 0) throw clusterNotFound(name, this.list().map((c) => c.name));
    return true;
  }

  /** Close state.db. */
  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
