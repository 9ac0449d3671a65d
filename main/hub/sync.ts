// Sync: the hub's change feed since the stored cursor, into the catalog. Each page lands in one
// transaction with the cursor that ends it, so a sync cut off halfway leaves the catalog as it was
// before that page, never half of one, and the next sync goes on from there. Search stays offline.
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
}

/** Changes asked for per page. */
export const PAGE_SIZE = 500;

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
export async function syncCatalog(s: Session, stateDb: Database.Database, catalog: CatalogFeed, signal?: AbortSignal): Promise<SyncOutcome> {
  const api = hubApi(s.hub, s.token, signal);
  let { cursor } = readCursor(stateDb, s.hub, s.user);
  const outcome: SyncOutcome = { hub: s.hub, upserted: 0, removed: 0, skipped: 0, pages: 0, cursor, syncedAt: '' };
  for (;;) {
    signal?.throwIfAborted();
    const page = await api.changes(cursor, PAGE_SIZE);
    const ops = pageOps(page);
    const syncedAt = new Date().toISOString();
    catalog.applyFeed(ops.put, ops.remove, (db) => {
      db.prepare<[string, string, string, string], void>(
        'INSERT INTO hub_sync (hub, user, cursor, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (hub, user) DO UPDATE SET cursor = excluded.cursor, synced_at = excluded.synced_at',
      ).run(s.hub, s.user, page.next, syncedAt);
    });
    outcome.pages++;
    outcome.upserted += ops.put.length;
    outcome.removed += ops.remove.length - ops.skipped;
    outcome.skipped += ops.skipped;
    outcome.syncedAt = syncedAt;
    cursor = page.next;
    outcome.cursor = cursor;
    if (!page.more || page.changes.length === 0) break;
  }
  return outcome;
}
