// The desktop's side of the hub, as one object the composition root builds: sign-in, publish and
// share (queued in the outbox when the hub or its registry cannot be reached), the outbox's drain,
// pull, and the catalog's sync; plus the timers `dlhub serve` runs them on.
import type Database from 'better-sqlite3';
import type Docker from 'dockerode';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toDlhubError } from '../errors.js';
import { isServableName } from '../servable/names.js';
import { findLocal, servableRoot } from '../servable/registry.js';
import type { HubIdentity, HubLoginRequest, HubLogoutOutcome, HubStatus, HubWorkOutcome, OutboxList, PullOutcome, SyncOutcome } from '../contract/hub.js';
import type { CallContext } from '../contract/operations.js';
import type { ServableMetadata } from '../servable/metadata.js';
import type { HomePaths } from '../storage/home.js';
import { hubApi, isRetryable } from './hub-api.js';
import { newIdempotencyKey, Outbox, type OutboxEntry } from './outbox.js';
import { hubVisibility, publishNow, shareNow } from './publish.js';
import { pullServable } from './pull.js';
import { credentialStoreFor } from './credential-keychain.js';
import { Sessions } from './session.js';
import { lastSync, syncCatalog, type CatalogFeed } from './sync.js';

/** What the hub client is built with. */
export interface HubClientOptions {
  paths: HomePaths;
  docker: () => Promise<Docker | undefined>;
  /** The catalog, opened when first needed. */
  catalog: () => CatalogFeed & { upsert(metadata: unknown, opts?: { local?: boolean }): unknown; get(servable: string, version?: string): { local: boolean } | undefined };
}

/** How often `dlhub serve` tries the outbox and syncs, unless DLHUB_HUB_DRAIN_SECONDS / DLHUB_HUB_SYNC_SECONDS say otherwise. */
const DEFAULT_DRAIN_SECONDS = 30;
const DEFAULT_SYNC_SECONDS = 300;

function seconds(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The hub verbs of one DLHub home. */
export class HubClient {
  readonly sessions: Sessions;
  private outboxInstance: Outbox | undefined;
  private timers: NodeJS.Timeout[] = [];
  private draining: Promise<OutboxList> | undefined;

  constructor(private readonly o: HubClientOptions) {
    this.sessions = new Sessions(credentialStoreFor(o.paths.credentials));
  }

  /** The outbox (state.db), opened on first use. */
  get outbox(): Outbox {
    this.outboxInstance ??= Outbox.open(this.o.paths.stateDb);
    return this.outboxInstance;
  }

  private get stateDb(): Database.Database {
    return this.outbox.db;
  }

  login(req: HubLoginRequest, ctx?: CallContext): Promise<HubIdentity> {
    return this.sessions.login(req, ctx?.signal);
  }

  logout(ctx?: CallContext): Promise<HubLogoutOutcome> {
    return this.sessions.logout(ctx?.signal);
  }

  whoami(ctx?: CallContext): Promise<HubIdentity> {
    return this.sessions.whoami(ctx?.signal);
  }

  /** Publish now, or queue it when the hub or registry cannot be reached. */
  async publish(req: { name: string; visibility?: string | undefined }, ctx: CallContext = {}): Promise<HubWorkOutcome> {
    hubVisibility(req.visibility);
    const hub = this.sessions.credentials()?.hub;
    const key = newIdempotencyKey();
    try {
      const s = await this.sessions.require(ctx.signal);
      return await publishNow(this.o, s, req.name, req.visibility, key, ctx);
    } catch (err) {
      if (!hub || !isRetryable(err) || ctx.signal?.aborted) throw err;
      const reason = toDlhubError(err).message;
      const outboxId = this.outbox.add('publish', req.name, req.visibility ?? '', hub, key, reason);
      return { status: 'queued', name: req.name, outboxId, reason };
    }
  }

  /** Share now, or queue it when the hub cannot be reached. */
  async share(req: { name: string; group: string }, ctx: CallContext = {}): Promise<HubWorkOutcome> {
    const hub = this.sessions.credentials()?.hub;
    const key = newIdempotencyKey();
    try {
      return await shareNow(await this.sessions.require(ctx.signal), req.name, req.group, ctx.signal);
    } catch (err) {
      if (!hub || !isRetryable(err) || ctx.signal?.aborted) throw err;
      const reason = toDlhubError(err).message;
      const outboxId = this.outbox.add('share', req.name, req.group, hub, key, reason);
      return { status: 'queued', name: req.name, outboxId, reason };
    }
  }

  /** The outbox, newest first. */
  listOutbox(): OutboxList {
    return { items: this.outbox.list() };
  }

  /**
   * Send what waits: every entry with `force` (`dlhub outbox --drain`), else those whose backoff is
   * over (the service's timer). One drain at a time in a process; other processes are kept off an
   * entry by its claim.
   */
  drain(opts: { force?: boolean } = {}): Promise<OutboxList> {
    this.draining ??= this.drainOnce(opts.force ?? true).finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainOnce(force: boolean): Promise<OutboxList> {
    const tried = new Set<number>();
    let sent = 0;
    let failed = 0;
    let entry: OutboxEntry | undefined;
    while ((entry = this.outbox.claim({ force, skip: tried })) !== undefined) {
      tried.add(entry.id);
      if (this.outbox.earlierWaiting(entry)) {
        this.outbox.release(entry.id);
        continue;
      }
      try {
        const s = await this.sessions.require();
        if (s.hub !== entry.hub) {
          this.outbox.retry(entry.id, `Signed in to ${s.hub}, but this was meant for ${entry.hub}.`);
          continue;
        }
        const result = entry.kind === 'publish'
          ? await publishNow(this.o, s, entry.name, entry.detail || undefined, entry.idempotencyKey)
          : await shareNow(s, entry.name, entry.detail);
        this.outbox.done(entry.id, result);
        sent++;
      } catch (err) {
        const e = toDlhubError(err);
        // A lapsed sign-in is fixed by signing in again: the work keeps waiting for that.
        if (isRetryable(e) || e.code === 'UNAUTHORIZED') this.outbox.retry(entry.id, e.message);
        else {
          this.outbox.fail(entry.id, `${e.message}${e.hint ? ` (${e.hint})` : ''}`);
          failed++;
        }
      }
    }
    return { items: this.outbox.list(), sent, failed };
  }

  /** Pull a servable from the hub and register it here. */
  async pull(req: { ref: string }, ctx: CallContext = {}): Promise<PullOutcome> {
    const s = await this.sessions.optional(ctx.signal);
    // The record is marked as here: the catalog then offers to open and run it rather than to pull it again.
    return pullServable({ ...this.o, catalog: (md: ServableMetadata) => void this.o.catalog().upsert(md, { local: true }) }, s, req.ref, ctx);
  }

  /** Bring the catalog up to date with the hub's change feed. */
  async sync(ctx: CallContext = {}): Promise<SyncOutcome> {
    const s = await this.sessions.optional(ctx.signal);
    const r = await syncCatalog(s, this.stateDb, this.o.catalog(), ctx.signal);
    if (r.upserted > 0) this.markPulledHere();
    return r;
  }

  /** The records of servables pulled here, marked as here again (the feed files every record it sends as not here). */
  private markPulledHere(): void {
    let names: string[];
    try {
      names = readdirSync(this.o.paths.servables);
    } catch {
      return;
    }
    const catalog = this.o.catalog();
    for (const name of names) {
      if (!isServableName(name)) continue;
      let from: { owner?: unknown; name?: unknown; version?: unknown };
      try {
        from = JSON.parse(readFileSync(join(servableRoot(this.o.paths, name), 'hub.json'), 'utf8')) as typeof from;
      } catch {
        continue; // Built here, not pulled.
      }
      const md = findLocal(this.o.paths, name)?.metadata;
      if (!md || typeof from.owner !== 'string' || typeof from.version !== 'string') continue;
      const entry = catalog.get(`${from.owner}/${md.dlhub.name}`, from.version);
      if (entry && !entry.local) catalog.upsert(md, { local: true });
    }
  }

  /** The hub's address, who is signed in, whether it answers now, the last sync and the outbox's counts. */
  async status(): Promise<HubStatus> {
    const c = this.sessions.credentials();
    const hub = this.sessions.hub();
    const counts = this.outbox.counts();
    const credentials = this.sessions.storeInfo();
    if (!hub) return { online: false, ...counts, credentials };
    const online = await hubApi(hub, undefined, AbortSignal.timeout(2000)).health().then(() => true, () => false);
    const synced = lastSync(this.stateDb, hub);
    const user = c && 'user' in c && c.user ? c.user : undefined;
    return { hub, ...(user ? { user } : {}), online, ...(synced ? { lastSync: synced } : {}), ...counts, credentials };
  }

  /**
   * Drain the outbox and sync now, then on timers (the service): failures are kept in the outbox's
   * status and the next tick tries again. Stopped by close().
   */
  startBackground(log: (line: string) => void = () => undefined): void {
    if (this.timers.length > 0) return;
    const drain = (): void => {
      if (this.outbox.counts().queued === 0) return;
      this.drain({ force: false }).then((r) => r.sent && log(`hub: sent ${r.sent} from the outbox`), () => undefined);
    };
    const sync = (): void => {
      if (!this.sessions.hub()) return;
      this.sync().then((r) => r.upserted + r.removed > 0 && log(`hub: synced ${r.upserted} record(s), removed ${r.removed}`), () => undefined);
    };
    // At start every waiting entry is tried at once: the service is the moment the hub is likely back.
    if (this.outbox.counts().queued > 0) this.drain({ force: true }).then((r) => r.sent && log(`hub: sent ${r.sent} from the outbox`), () => undefined);
    sync();
    this.timers.push(setInterval(drain, seconds('DLHUB_HUB_DRAIN_SECONDS', DEFAULT_DRAIN_SECONDS) * 1000), setInterval(sync, seconds('DLHUB_HUB_SYNC_SECONDS', DEFAULT_SYNC_SECONDS) * 1000));
    for (const t of this.timers) t.unref();
  }

  /** Stop the timers and close the outbox's connection (after a drain in progress ends). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.draining?.catch(() => undefined);
    this.outboxInstance?.close();
    this.outboxInstance = undefined;
  }
}
