// Sync: the hub's change feed since the stored cursor, into the catalog. Each page lands in one
// transaction with the cursor that ends it, so a sync cut off halfway leaves the catalog as it was
// before that page, never half of one, and the next sync goes on from there. Search stays offline.
// The next page is asked for before this one is filed, so the hub prepares it while this process
// writes; a sync of many pages holds SQLite's checkpoints off until its end (see Catalog.deferCheckpoints).
import type Database from 'better-sqlite3';
import type { SyncOutcome } from '../contract/hub.js';
import type { ServableMetadata } from '../servable/metadata.js';
import { hubApi } from './hub-api.js';
import type { HubChangesPage } from './hub-types.js';
import { recordMetadata } from './pull.js';
import type { Session } from './session.js';

/** The catalog as sync writes it: records put and removed in one transaction with `alsoInTransaction`. */
export interface CatalogFeed {
  applyFeed(put: ServableMetadata[], remove: { servable: string; version: string }[], alsoInTransaction: (db: Database.Database) => void): void;
  /** Run many applyFeed calls in a row with the database's housekeeping held to the end. */
  deferCheckpoints?<T>(work: () => Promise<T>): Promise<T>;
}

/** Changes asked for per page: the most the hub gives in one (fewer round trips and transactions for a long sync). */
export const PAGE_SIZE = 1000;

const CURSOR_SQL = 'INSERT INTO hub_sync (hub, user, cursor, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (hub, user) DO UPDATE SET cursor = excluded.cursor, synced_at = excluded.synced_at';

/** The stored cursor for a hub and user ('0' when never synced) and when it was written. */
export function readCursor(db: Database.Database, hub: string, user: string): { cursor: string; syncedAt: string | undefined } {
  const row = db.prepare<[string, string], { cursor: string; synced_at: string }>('SELECT cursor, synced_at FROM hub_sync WHERE hub = ? AND user = ?').get(hub, user);
  return { cursor: row?.cursor ?? '0', syncedAt: row?.synced_at };
}

/** The newest sync of any user with this hub. */
export function lastSync(db: Database.Database, hub: string): string | undefined {
  return db.prepare<[string], { t: string | null }>('SELECT max(synced_at) AS t FROM hub_sync WHERE hub = ?').get(hub)?.t ?? undefined;
}

/** A page as the catalog's puts and removals: the last change of each version wins. */
export function pageOps(page: HubChangesPage): { put: ServableMetadata[]; remove: { servable: string; version: string }[]; skipped: number } {
  const last = new Map<string, HubChangesPage['changes'][number]>();
  for (const c of page.changes) {
    const key = `${c.owner}/${c.name}\0${c.version}`;
    last.delete(key);
    last.set(key, c);
  }
  const put: ServableMetadata[] = [];
  const remove: { servable: string; version: string }[] = [];
  let skipped = 0;
  for (const c of last.values()) {
    if (c.deleted || !c.record) {
      remove.push({ servable: `${c.owner}/${c.name}`, version: c.version });
      continue;
    }
    try {
      put.push(recordMetadata(c.record));
    } catch {
      // A record this catalog cannot file (metadata it refuses) is left out, not the whole page.
      skipped++;
      remove.push({ servable: `${c.owner}/${c.name}`, version: c.version });
    }
  }
  return { put, remove, skipped };
}

/** Pull every page of changes since the stored cursor into the catalog. */
export async function syncCatalog(s: Session, stateDb: Database.Database, catalog: CatalogFeed, signal?: AbortSignal, opts: { pageSize?: number } = {}): Promise<SyncOutcome> {
  const pageSize = opts.pageSize ?? PAGE_SIZE;
  // Ends the page asked for ahead when this sync stops early (a failed write, the caller's signal).
  const ahead = new AbortController();
  const api = hubApi(s.hub, s.token, signal ? AbortSignal.any([signal, ahead.signal]) : ahead.signal);
  const { cursor } = readCursor(stateDb, s.hub, s.user);
  const outcome: SyncOutcome = { hub: s.hub, upserted: 0, removed: 0, skipped: 0, pages: 0, cursor, syncedAt: '' };
  const first = await api.changes(cursor, pageSize);
  const fileAll = async (): Promise<SyncOutcome> => {
    let page = first;
    let from = cursor;
    for (;;) {
      signal?.throwIfAborted();
      // A page can hold no change for this user (all of it others' private work) and still have more after it; only a
      // cursor that stops moving ends a sync early (a hub that misbehaves).
      const more = page.more && page.next !== from;
      from = page.next;
      const next = more ? api.changes(page.next, pageSize) : undefined;
      next?.catch(() => undefined); // awaited below; this keeps a failure while this page is filed from counting as unhandled
      const ops = pageOps(page);
      const syncedAt = new Date().toISOString();
      const to = page.next;
      catalog.applyFeed(ops.put, ops.remove, (db) => {
        db.prepare<[string, string, string, string], void>(CURSOR_SQL).run(s.hub, s.user, to, syncedAt);
      });
      outcome.pages++;
      outcome.upserted += ops.put.length;
      outcome.removed += ops.remove.length - ops.skipped;
      outcome.skipped += ops.skipped;
      outcome.syncedAt = syncedAt;
      outcome.cursor = to;
      if (!next) return outcome;
      page = await next;
    }
  };
  try {
    // One page is one ordinary write; many are a bulk load, whose checkpoints wait for its end.
    return first.more && catalog.deferCheckpoints ? await catalog.deferCheckpoints(fileAll) : await fileAll();
  } finally {
    ahead.abort();
  }
}
