// The hub's operations: accounts and tokens, publish with immutable versions, visibility and groups,
// the change feed and the registry's token service. Each takes the door's caller; what the caller
// may not see answers NOT_FOUND, exactly as what does not exist.
import canonicalizeCjs from 'canonicalize';
import { createHash } from 'node:crypto';
import { LimitError, NotFoundError, ServiceError, UsageError } from '../main/errors.js';
import { NAME_PATTERN, VERSION_PATTERN, type Caller, type Change, type ChangesPage, type HubOperations, type ServableRecord, type Visibility } from './contract.js';
import { spliceJson, withJsonText } from './json-text.js';
import { checkPassword, checkSecret, hashSecret, newToken } from './secrets.js';
import { REGISTRY_SERVICE, REGISTRY_TOKEN_SECONDS, parseScopes, type Access, type TokenSigner } from './registry-token.js';
import type { HubStore, VersionRow } from './store/store.js';
import { canSee, type Viewer } from './visibility.js';
import { isPipelineMetadata, pinnedSteps, stepNotFound } from './pipeline-steps.js';

/** How the hub's operations are set up. */
export interface HubServiceOptions {
  store: HubStore;
  /** The registry's host:port, or undefined when the hub runs without one. */
  registryAddress: string | undefined;
  signer: TokenSigner | undefined;
  /** Default token lifetime in seconds. */
  tokenSeconds?: number;
  /** The clock (tests move it to expire tokens). */
  now?: () => number;
}

// The package's CommonJS default export, typed as what it is.
const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string | undefined;
const NAME = new RegExp(NAME_PATTERN);
const VERSION = new RegExp(VERSION_PATTERN);
const FAILED_LOGINS_PER_MINUTE = 10;

function unauthorized(message: string): ServiceError {
  return new ServiceError('UNAUTHORIZED', message, { hint: 'Sign in again with `dlhub login` (or ask the hub\'s administrator for an account).' });
}

function notFound(owner: string, name: string, version?: string): NotFoundError {
  return new NotFoundError('NOT_FOUND', `No servable ${owner}/${name}${version === undefined ? '' : ` version ${version}`} that you may see.`, { hint: 'Check the name, and sign in if it is not public.' });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A stored version as the wire record. */
export function toRecord(v: VersionRow): ServableRecord {
  // A pipeline is stored with no image (empty repository and digest).
  const image = v.digest === '' ? {} : { image: { repository: v.repository, digest: v.digest } };
  // The metadata is read (parsed) only by whoever reads the record's: a feed page sends the stored text instead.
  return { owner: v.owner, name: v.name, version: v.version, get metadata() { return v.metadata; }, ...image, visibility: v.visibility, createdAt: iso(v.createdAt), updatedAt: iso(v.updatedAt) };
}

/** A page of the change feed as JSON text, each record's metadata the stored text (see json-text.ts). */
function pageText(page: ChangesPage, texts: Map<Change, string>): string {
  const changes = page.changes.map((c) => {
    const text = texts.get(c);
    if (!c.record || text === undefined) return JSON.stringify(c);
    const record: Record<string, unknown> = {};
    // Every field but the metadata, in the record's order, without reading (parsing) the metadata.
    for (const k of Object.keys(c.record)) record[k] = k === 'metadata' ? null : (c.record as Record<string, unknown>)[k];
    const { record: _record, ...head } = c;
    return spliceJson({ ...head, record }, 'metadata', text);
  });
  return `{"changes":[${changes.join(',')}],"next":${JSON.stringify(page.next)},"more":${page.more}}`;
}

/** The metadata's `dlhub` section, if it is an object. */
function dlhubSection(metadata: Record<string, unknown>): Record<string, unknown> {
  const d = metadata['dlhub'];
  return typeof d === 'object' && d !== null && !Array.isArray(d) ? (d as Record<string, unknown>) : {};
}

/** The hub's operations with the caller resolution the door uses. */
export interface HubService extends HubOperations {
  /** The user of a bearer token, or undefined when it is unknown, revoked or expired. */
  userOfToken(token: string): Promise<string | undefined>;
  /** The user of Basic credentials: user and password, client id and secret, or user and a hub token. */
  userOfBasic(user: string, password: string): Promise<string | undefined>;
}

/** Build the hub's operations over a store. */
export function createHubService(o: HubServiceOptions): HubService {
  const { store } = o;
  const now = o.now ?? Date.now;
  const tokenSeconds = o.tokenSeconds ?? 12 * 3600;
  const failures = new Map<string, { count: number; since: number }>();

  async function viewer(caller: Caller | undefined): Promise<Viewer | undefined> {
    return caller ? { user: caller.user, groups: new Set(await store.groupsOf(caller.user)) } : undefined;
  }

  function need(caller: Caller | undefined): Caller {
    if (!caller) throw unauthorized('This needs a signed-in user: send "Authorization: Bearer <token>".');
    return caller;
  }

  function noteFailure(key: string): void {
    const t = now();
    const f = failures.get(key);
    if (!f || t - f.since > 60_000) failures.set(key, { count: 1, since: t });
    else f.count += 1;
  }

  function checkFailures(key: string): void {
    const f = failures.get(key);
    if (f && now() - f.since <= 60_000 && f.count >= FAILED_LOGINS_PER_MINUTE) {
      throw new LimitError('RATE_LIMITED', `Too many failed sign-ins for "${key}" in the last minute.`, { hint: 'Wait a minute and try again with the right password.' });
    }
  }

  async function passwordUser(user: string, password: string): Promise<string | undefined> {
    checkFailures(user);
    const u = await store.user(user);
    if (u?.passwordHash && (await checkPassword(password, u.passwordHash))) return u.name;
    noteFailure(user);
    return undefined;
  }

  async function clientUser(clientId: string, secret: string): Promise<string | undefined> {
    checkFailures(clientId);
    const u = await store.userByClientId(clientId);
    if (u?.secretHash && checkSecret(secret, u.secretHash)) return u.name;
    noteFailure(clientId);
    return undefined;
  }

  async function userOfToken(token: string): Promise<string | undefined> {
    return store.tokenUser(hashSecret(token), now());
  }

  /** The newest version the viewer may see, or NOT_FOUND. */
  async function visibleNewest(owner: string, name: string, caller: Caller | undefined): Promise<VersionRow> {
    const v = await store.newest(owner, name);
    if (!v || !canSee(v.visibility, v.owner, await viewer(caller))) throw notFound(owner, name);
    return v;
  }

  async function ownedName(owner: string, name: string, caller: Caller | undefined): Promise<void> {
    const c = need(caller);
    const vis = await store.visibility(owner, name);
    if (vis === undefined || (c.user !== owner && !canSee(vis, owner, await viewer(c)))) throw notFound(owner, name);
    if (c.user !== owner) throw new ServiceError('FORBIDDEN', `Only ${owner} may change who sees ${owner}/${name}.`, { hint: 'Ask its owner.' });
  }

  async function grants(caller: Caller | undefined, scope: string | readonly string[] | undefined): Promise<Access[]> {
    const v = await viewer(caller);
    const out: Access[] = [];
    for (const s of parseScopes(scope)) {
      if (s.type !== 'repository') continue;
      const parts = s.name.split('/');
      const [owner, name] = parts;
      if (parts.length !== 2 || !owner || !name || !NAME.test(owner) || !NAME.test(name)) continue;
      const mine = v !== undefined && v.user === owner;
      const actions: string[] = [];
      if (s.actions.includes('pull')) {
        const vis = mine ? undefined : await store.visibility(owner, name);
        if (mine || (vis !== undefined && canSee(vis, owner, v))) actions.push('pull');
      }
      if (s.actions.includes('push') && mine) actions.push('push');
      out.push({ type: 'repository', name: s.name, actions });
    }
    return out;
  }

  const ops: HubService = {
    userOfToken,
    async userOfBasic(user, password) {
      if (password.startsWith('dlh_')) {
        const u = await userOfToken(password);
        return u !== undefined && u === user ? u : undefined;
      }
      return user.startsWith('dlhc_') ? clientUser(user, password) : passwordUser(user, password);
    },

    async login(req) {
      const user = 'user' in req ? await passwordUser(req.user, req.password) : await clientUser(req.clientId, req.clientSecret);
      if (user === undefined) throw unauthorized('Wrong user or password (or client id and secret).');
      const token = newToken();
      const t = now();
      const expiresAt = t + (req.ttlSeconds ?? tokenSeconds) * 1000;
      await store.addToken(hashSecret(token), user, expiresAt, t);
      return { token, expiresAt: iso(expiresAt), user };
    },

    async logout(_req, ctx) {
      const c = need(ctx.caller);
      if (c.tokenHash) await store.revokeToken(c.tokenHash, now());
      return { revoked: c.tokenHash !== undefined };
    },

    async whoami(_req, ctx) {
      const c = need(ctx.caller);
      return { user: c.user, groups: await store.groupsOf(c.user) };
    },

    async registryAddress() {
      if (!o.registryAddress) throw new ServiceError('SERVICE_UNAVAILABLE', 'This hub runs without a registry.', { hint: 'Start it with `dlhub-hub serve` (a managed registry) or `--registry HOST:PORT`.' });
      return { address: o.registryAddress };
    },

    async registryToken(req, ctx) {
      if (!o.signer) throw new ServiceError('SERVICE_UNAVAILABLE', 'This hub runs without a registry, so it signs no registry tokens.', { hint: 'Start it with a registry.' });
      const access = await grants(ctx.caller, req.scope);
      const t = now();
      const token = o.signer.sign(ctx.caller?.user ?? '', req.service ?? REGISTRY_SERVICE, access, t);
      return { token, access_token: token, expires_in: REGISTRY_TOKEN_SECONDS, issued_at: iso(t) };
    },

    async publish(req, ctx) {
      const c = need(ctx.caller);
      const d = dlhubSection(req.metadata);
      const name = d['name'];
      if (typeof name !== 'string' || !NAME.test(name)) {
        throw new UsageError('USAGE', `metadata.dlhub.name ${typeof name === 'string' ? `"${name}" ` : ''}is not a hub name: lower-case letters, digits, ".", "_" and "-", at most 64, no "..".`, { hint: 'Set dlhub.name in dlhub.json to such a name.', details: { field: '/metadata/dlhub/name', rule: 'pattern' } });
      }
      const owner = d['owner'];
      if (owner !== undefined && owner !== null && owner !== '' && owner !== c.user) {
        throw new ServiceError('FORBIDDEN', `${JSON.stringify(owner)}/${name} belongs to ${JSON.stringify(owner)}; you are signed in as ${c.user}.`, { hint: 'Publish under your own name: remove dlhub.owner or set it to your user.' });
      }
      const version = d['version'];
      if (version !== undefined && (typeof version !== 'string' || !VERSION.test(version))) {
        throw new UsageError('USAGE', 'metadata.dlhub.version must be a version label (letters, digits, ".", "_", "+", "-"; no "..").', { hint: 'Fix dlhub.version, or leave it out for the next number.', details: { field: '/metadata/dlhub/version', rule: 'pattern' } });
      }
      if (req.visibility !== undefined) await checkGroups(req.visibility);
      await checkImageOrSteps(req.metadata, req.image !== undefined, c, name);
      // The image lives under the name it is published as: a record never points at another name's image.
      if (req.image && req.image.repository !== `${c.user}/${name}`) {
        throw new UsageError('USAGE', `image.repository "${req.image.repository}" is not ${c.user}/${name}, the name being published.`, { hint: 'Push the image to OWNER/NAME of this servable (`dlhub publish` does).', details: { field: '/image/repository', rule: 'const' } });
      }
      const contentKey = createHash('sha256').update(canonicalize({ metadata: req.metadata, digest: req.image?.digest ?? '' }) ?? '').digest('hex');
      return store.publish({
        user: c.user, owner: c.user, name, version, metadata: req.metadata, repository: req.image?.repository ?? '', digest: req.image?.digest ?? '',
        contentKey, visibility: req.visibility, idempotencyKey: req.idempotencyKey, now: now(),
      });
    },

    async listServables(req, ctx) {
      const v = await viewer(ctx.caller);
      const words = (req.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const limit = req.limit ?? 100;
      const out: ServableRecord[] = [];
      for (const row of await store.newestOfEach(req.owner, 10_000)) {
        if (!canSee(row.visibility, row.owner, v)) continue;
        if (words.length > 0) {
          // The stored text is the metadata as JSON.stringify wrote it at publish: matched as it is, parsed only for a hit.
          const text = `${row.owner}/${row.name} ${row.metadataText}`.toLowerCase();
          if (!words.every((w) => text.includes(w))) continue;
        }
        out.push(toRecord(row));
        if (out.length >= limit) break;
      }
      return { servables: out };
    },

    async getServable(req, ctx) {
      return toRecord(await visibleNewest(req.owner, req.name, ctx.caller));
    },

    async getVersion(req, ctx) {
      const v = await store.version(req.owner, req.name, req.version);
      if (!v || v.deleted || !canSee(v.visibility, v.owner, await viewer(ctx.caller))) throw notFound(req.owner, req.name, req.version);
      return toRecord(v);
    },

    async deleteVersion(req, ctx) {
      await ownedName(req.owner, req.name, ctx.caller);
      if (!(await store.deleteVersion(req.owner, req.name, req.version, now()))) throw notFound(req.owner, req.name, req.version);
      return { owner: req.owner, name: req.name, version: req.version, deleted: true as const };
    },

    async setVisibility(req, ctx) {
      await ownedName(req.owner, req.name, ctx.caller);
      await checkGroups(req.visibility);
      await store.setVisibility(req.owner, req.name, req.visibility, now());
      return toRecord(await visibleNewest(req.owner, req.name, ctx.caller));
    },

    async share(req, ctx) {
      await ownedName(req.owner, req.name, ctx.caller);
      const was = await store.visibility(req.owner, req.name);
      const next: Visibility = was === 'public' ? 'public' : { groups: [...new Set([...(was === 'private' || was === undefined ? [] : was.groups), req.group])] };
      await checkGroups(next);
      await store.setVisibility(req.owner, req.name, next, now());
      return toRecord(await visibleNewest(req.owner, req.name, ctx.caller));
    },

    async changes(req, ctx) {
      const v = await viewer(ctx.caller);
      const since = Number(req.since ?? '0');
      const limit = req.limit ?? 500;
      const rows = await store.changesSince(since, limit + 1);
      const page = rows.slice(0, limit);
      const changes: Change[] = [];
      const texts = new Map<Change, string>();
      for (const r of page) {
        // A member joining or leaving a group is news to that member only.
        if (r.audience !== null && r.audience !== v?.user) continue;
        const head = { cursor: String(r.cursor), owner: r.owner, name: r.name, version: r.version };
        if (r.now && !r.now.deleted && canSee(r.now.visibility, r.owner, v)) {
          const change = { ...head, record: toRecord(r.now) };
          texts.set(change, r.now.metadataText);
          changes.push(change);
        }
        // They saw it through the group when they joined or left it; they see it no more.
        else if (r.kind === 'membership') changes.push({ ...head, deleted: true });
        // A tombstone goes only to those who could see the version before: a private name's
        // existence does not leak to everyone else through the feed.
        else if (r.kind !== 'publish' && r.was !== null && canSee(r.was, r.owner, v)) changes.push({ ...head, deleted: true });
      }
      const last = page[page.length - 1];
      const answer: ChangesPage = { changes, next: String(last ? last.cursor : since), more: rows.length > limit };
      return withJsonText(answer, () => pageText(answer, texts));
    },
  };

  /**
   * A servable comes with its image; a pipeline comes without one, its steps pinned to versions
   * that exist and that the publisher may see.
   */
  async function checkImageOrSteps(metadata: Record<string, unknown>, hasImage: boolean, c: Caller, name: string): Promise<void> {
    const pipeline = isPipelineMetadata(metadata);
    if (!pipeline) {
      if (!hasImage) throw new UsageError('USAGE', `${c.user}/${name} is not a pipeline, so it needs its image.`, { hint: 'Push the image and send its digest in "image" (`dlhub publish` does both).', details: { field: '/image' } });
      return;
    }
    if (hasImage) throw new UsageError('USAGE', `${c.user}/${name} is a pipeline: its steps run in their own images, so it takes none.`, { hint: 'Leave "image" out and pin the steps as OWNER/NAME@VERSION.', details: { field: '/image' } });
    const v = await viewer(c);
    for (const [i, ref] of pinnedSteps(metadata, { owner: c.user, name }).entries()) {
      const row = await store.version(ref.owner, ref.name, ref.version);
      if (!row || row.deleted || !canSee(row.visibility, row.owner, v)) throw stepNotFound(`${c.user}/${name}`, i, ref);
    }
  }

  async function checkGroups(visibility: Visibility): Promise<void> {
    if (typeof visibility !== 'object') return;
    for (const g of visibility.groups) {
      if ((await store.groupOwner(g)) === undefined) throw new NotFoundError('NOT_FOUND', `No group "${g}".`, { hint: 'Ask the hub\'s administrator to add it with `dlhub-hub groups add`.' });
    }
  }

  return ops;
}
