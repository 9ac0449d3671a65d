// The hub's store: accounts, groups, tokens, published versions and the change feed, written once
// in SQL that SQLite and PostgreSQL both take (hub/store/sql.ts). Who may see what is decided above
// it (hub/service.ts); the store keeps facts.
import { UsageError } from '../../main/errors.js';
import type { Visibility } from '../contract.js';
import type { Row, Sql } from './sql.js';

/** A user as stored. */
export interface UserRow {
  name: string;
  passwordHash: string | null;
  clientId: string | null;
  secretHash: string | null;
}

/** A published version with its name's visibility, as stored. */
export interface VersionRow {
  owner: string;
  name: string;
  version: string;
  seq: number;
  /** Parsed from metadataText on first read. */
  metadata: Record<string, unknown>;
  /** The metadata as stored (JSON text): what the change feed sends and search matches, unparsed. */
  metadataText: string;
  repository: string;
  digest: string;
  contentKey: string;
  createdAt: number;
  updatedAt: number;
  deleted: boolean;
  visibility: Visibility;
}

/** One row of the change feed with the version as it is now (absent when it never existed). */
export interface ChangeRow {
  cursor: number;
  owner: string;
  name: string;
  version: string;
  kind: 'publish' | 'visibility' | 'delete' | 'membership';
  /** Who could see the version before this change (visibility changes, deletions, a member leaving). */
  was: Visibility | null;
  /** The one user this change is for (a membership change: they joined or left a group), or null: everyone. */
  audience: string | null;
  now: VersionRow | undefined;
}

/** What a publish writes. */
export interface PublishInput {
  user: string;
  owner: string;
  name: string;
  /** undefined: the next whole number after the name's highest. */
  version: string | undefined;
  metadata: Record<string, unknown>;
  repository: string;
  digest: string;
  contentKey: string;
  visibility: Visibility | undefined;
  idempotencyKey: string | undefined;
  now: number;
}

/** What a publish answers. */
export interface PublishOutcome {
  owner: string;
  name: string;
  version: string;
  created: boolean;
}

function schema(sql: Sql): string[] {
  return [
    'CREATE TABLE IF NOT EXISTS hub_users (name TEXT PRIMARY KEY, password_hash TEXT, client_id TEXT UNIQUE, secret_hash TEXT, created_at BIGINT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS hub_groups (name TEXT PRIMARY KEY, owner TEXT NOT NULL, created_at BIGINT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS hub_members (group_name TEXT NOT NULL, user_name TEXT NOT NULL, PRIMARY KEY (group_name, user_name))',
    'CREATE INDEX IF NOT EXISTS hub_members_user ON hub_members (user_name)',
    'CREATE TABLE IF NOT EXISTS hub_tokens (hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS hub_names (owner TEXT NOT NULL, name TEXT NOT NULL, visibility TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (owner, name))',
    `CREATE TABLE IF NOT EXISTS hub_versions (owner TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL,
       metadata TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL, content_key TEXT NOT NULL,
       created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (owner, name, version))`,
    `CREATE TABLE IF NOT EXISTS hub_changes (cursor ${sql.serialKey}, owner TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, kind TEXT NOT NULL, was TEXT)`,
    'CREATE TABLE IF NOT EXISTS hub_idempotency (user_name TEXT NOT NULL, idem_key TEXT NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, PRIMARY KEY (user_name, idem_key))',
  ];
}

const num = (v: unknown): number => Number(v);
const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function versionFrom(r: Row): VersionRow {
  const metadataText = str(r['metadata']);
  let metadata: Record<string, unknown> | undefined;
  return {
    owner: str(r['owner']),
    name: str(r['name']),
    version: str(r['version']),
    seq: num(r['seq']),
    // Most rows read are never parsed: a feed page sends the text as it is, a search reads it as text.
    get metadata() {
      return (metadata ??= JSON.parse(metadataText) as Record<string, unknown>);
    },
    metadataText,
    repository: str(r['repository']),
    digest: str(r['digest']),
    contentKey: str(r['content_key']),
    createdAt: num(r['created_at']),
    updatedAt: Math.max(num(r['updated_at']), num(r['name_updated_at'] ?? 0)),
    deleted: num(r['deleted']) === 1,
    visibility: JSON.parse(str(r['visibility'])) as Visibility,
  };
}

const VERSION_COLUMNS = 'v.owner, v.name, v.version, v.seq, v.metadata, v.repository, v.digest, v.content_key, v.created_at, v.updated_at, v.deleted, n.visibility, n.updated_at AS name_updated_at';

/** The hub's data over one SQL database. */
export class HubStore {
  private constructor(readonly sql: Sql) {}

  /** The store over `sql`, its tables made (or brought up to date) when missing. */
  static async open(sql: Sql): Promise<HubStore> {
    for (const statement of schema(sql)) await sql.query(statement);
    // Hubs made before membership changes reached the feed lack its audience column.
    const hasAudience = (): Promise<boolean> => sql.query('SELECT audience FROM hub_changes WHERE 1 = 0').then(() => true, () => false);
    if (!(await hasAudience())) {
      await sql.query('ALTER TABLE hub_changes ADD COLUMN audience TEXT').catch(async (err: unknown) => {
        // Another process opening the same store may have added it a moment ago.
        if (!(await hasAudience())) throw err;
      });
    }
    return new HubStore(sql);
  }

  /** Close the database. */
  close(): Promise<void> {
    return this.sql.close();
  }

  // --- accounts -----------------------------------------------------------------------------

  /** Add a user; an existing name is refused. */
  async addUser(u: UserRow, now: number): Promise<void> {
    await this.sql.tx(async (sql) => {
      if ((await sql.query('SELECT 1 AS x FROM hub_users WHERE name = $1', [u.name])).length > 0) {
        throw new UsageError('CONFLICT', `User "${u.name}" already exists.`, { hint: 'Pick another name.' });
      }
      await sql.query('INSERT INTO hub_users (name, password_hash, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [u.name, u.passwordHash, u.clientId, u.secretHash, now]);
    });
  }

  /** A user by name. */
  async user(name: string): Promise<UserRow | undefined> {
    const [r] = await this.sql.query('SELECT name, password_hash, client_id, secret_hash FROM hub_users WHERE name = $1', [name]);
    return r && { name: str(r['name']), passwordHash: strOrNull(r['password_hash']), clientId: strOrNull(r['client_id']), secretHash: strOrNull(r['secret_hash']) };
  }

  /** A user by client id. */
  async userByClientId(clientId: string): Promise<UserRow | undefined> {
    const [r] = await this.sql.query('SELECT name FROM hub_users WHERE client_id = $1', [clientId]);
    return r ? this.user(str(r['name'])) : undefined;
  }

  /** Add a group owned by `owner` (who becomes its first member). */
  async addGroup(name: string, owner: string, now: number): Promise<void> {
    await this.sql.tx(async (sql) => {
      if ((await sql.query('SELECT 1 AS x FROM hub_groups WHERE name = $1', [name])).length > 0) {
        throw new UsageError('CONFLICT', `Group "${name}" already exists.`, { hint: 'Pick another name, or join users to it with `dlhub-hub groups join`.' });
      }
      await sql.query('INSERT INTO hub_groups (name, owner, created_at) VALUES ($1, $2, $3)', [name, owner, now]);
      await sql.query('INSERT INTO hub_members (group_name, user_name) VALUES ($1, $2)', [name, owner]);
    });
  }

  /** A group's owner, or undefined when there is no such group. */
  async groupOwner(name: string): Promise<string | undefined> {
    const [r] = await this.sql.query('SELECT owner FROM hub_groups WHERE name = $1', [name]);
    return r ? str(r['owner']) : undefined;
  }

  /**
   * Add `user` to `group` (already a member: nothing changes). Each live version shared with the
   * group gets a change for that user alone, so their next sync brings what they may now see, however
   * far their cursor had gone.
   */
  async join(group: string, user: string): Promise<void> {
    await this.sql.tx(async (sql) => {
      await sql.writeLock();
      if ((await sql.query('SELECT 1 AS x FROM hub_members WHERE group_name = $1 AND user_name = $2', [group, user])).length === 0) {
        await sql.query('INSERT INTO hub_members (group_name, user_name) VALUES ($1, $2)', [group, user]);
        await this.addMembershipChanges(sql, group, user, false);
      }
    });
  }

  /**
   * Take `user` out of `group`; answers whether they were in it. Each live version shared with the
   * group gets a change for that user alone, which the feed sends as a tombstone unless they still
   * see the version some other way.
   */
  async leave(group: string, user: string): Promise<boolean> {
    return this.sql.tx(async (sql) => {
      await sql.writeLock();
      const was = (await sql.query('SELECT 1 AS x FROM hub_members WHERE group_name = $1 AND user_name = $2', [group, user])).length > 0;
      if (was) {
        await sql.query('DELETE FROM hub_members WHERE group_name = $1 AND user_name = $2', [group, user]);
        await this.addMembershipChanges(sql, group, user, true);
      }
      return was;
    });
  }

  /** A change for `user` on every live version of another owner's name that `group` may see. */
  private async addMembershipChanges(sql: Sql, group: string, user: string, leaving: boolean): Promise<void> {
    // LIKE narrows to names listing some group of this spelling; the JSON decides exactly.
    const rows = await sql.query(
      `SELECT v.owner, v.name, v.version, n.visibility FROM hub_versions v JOIN hub_names n ON n.owner = v.owner AND n.name = v.name
       WHERE v.deleted = 0 AND v.owner <> $1 AND n.visibility LIKE $2 ORDER BY v.owner, v.name, v.seq`,
      [user, `%${JSON.stringify(group)}%`],
    );
    for (const r of rows) {
      const visibility = JSON.parse(str(r['visibility'])) as Visibility;
      if (typeof visibility !== 'object' || !visibility.groups.includes(group)) continue;
      await sql.query('INSERT INTO hub_changes (owner, name, version, kind, was, audience) VALUES ($1, $2, $3, $4, $5, $6)', [
        str(r['owner']), str(r['name']), str(r['version']), 'membership', leaving ? str(r['visibility']) : null, user,
      ]);
    }
  }

  /** The groups `user` belongs to, sorted. */
  async groupsOf(user: string): Promise<string[]> {
    const rows = await this.sql.query('SELECT group_name FROM hub_members WHERE user_name = $1 ORDER BY group_name', [user]);
    return rows.map((r) => str(r['group_name']));
  }

  // --- tokens -------------------------------------------------------------------------------

  /** Keep a token's hash for `user` until `expiresAt` (ms). */
  async addToken(hash: string, user: string, expiresAt: number, now: number): Promise<void> {
    await this.sql.query('INSERT INTO hub_tokens (hash, user_name, expires_at, created_at) VALUES ($1, $2, $3, $4)', [hash, user, expiresAt, now]);
  }

  /** The user of a live token, or undefined (unknown, revoked or expired). */
  async tokenUser(hash: string, now: number): Promise<string | undefined> {
    const [r] = await this.sql.query('SELECT user_name FROM hub_tokens WHERE hash = $1 AND expires_at > $2', [hash, now]);
    return r ? str(r['user_name']) : undefined;
  }

  /** Revoke a token; expired tokens are swept at the same time. */
  async revokeToken(hash: string, now: number): Promise<void> {
    await this.sql.query('DELETE FROM hub_tokens WHERE hash = $1 OR expires_at <= $2', [hash, now]);
  }

  // --- servables ----------------------------------------------------------------------------

  /** One version (deleted ones too), or undefined. */
  async version(owner: string, name: string, version: string): Promise<VersionRow | undefined> {
    const [r] = await this.sql.query(`SELECT ${VERSION_COLUMNS} FROM hub_versions v JOIN hub_names n ON n.owner = v.owner AND n.name = v.name WHERE v.owner = $1 AND v.name = $2 AND v.version = $3`, [owner, name, version]);
    return r && versionFrom(r);
  }

  /** The newest version of a name that is not deleted, or undefined. */
  async newest(owner: string, name: string): Promise<VersionRow | undefined> {
    const [r] = await this.sql.query(`SELECT ${VERSION_COLUMNS} FROM hub_versions v JOIN hub_names n ON n.owner = v.owner AND n.name = v.name WHERE v.owner = $1 AND v.name = $2 AND v.deleted = 0 ORDER BY v.seq DESC LIMIT 1`, [owner, name]);
    return r && versionFrom(r);
  }

  /** A name's visibility, or undefined when the name was never published. */
  async visibility(owner: string, name: string): Promise<Visibility | undefined> {
    const [r] = await this.sql.query('SELECT visibility FROM hub_names WHERE owner = $1 AND name = $2', [owner, name]);
    return r ? (JSON.parse(str(r['visibility'])) as Visibility) : undefined;
  }

  /** The newest live version of every name (of one owner), newest first. */
  async newestOfEach(owner: string | undefined, limit: number): Promise<VersionRow[]> {
    const rows = await this.sql.query(
      `SELECT ${VERSION_COLUMNS} FROM hub_versions v JOIN hub_names n ON n.owner = v.owner AND n.name = v.name
       WHERE v.deleted = 0 AND ($1 = '' OR v.owner = $1)
         AND v.seq = (SELECT MAX(w.seq) FROM hub_versions w WHERE w.owner = v.owner AND w.name = v.name AND w.deleted = 0)
       ORDER BY v.updated_at DESC LIMIT $2`,
      [owner ?? '', limit],
    );
    return rows.map(versionFrom);
  }

  /**
   * Publish one version in one transaction: an idempotency key seen before answers its first
   * outcome; the same content as an existing version answers it; a version taken with other content
   * is refused (CONFLICT).
   */
  async publish(p: PublishInput): Promise<PublishOutcome> {
    return this.sql.tx(async (sql) => {
      await sql.writeLock();
      if (p.idempotencyKey !== undefined) {
        const [seen] = await sql.query('SELECT owner, name, version FROM hub_idempotency WHERE user_name = $1 AND idem_key = $2', [p.user, p.idempotencyKey]);
        if (seen) return { owner: str(seen['owner']), name: str(seen['name']), version: str(seen['version']), created: false };
      }
      const outcome = await this.publishIn(sql, p);
      if (p.idempotencyKey !== undefined) {
        await sql.query('INSERT INTO hub_idempotency (user_name, idem_key, owner, name, version) VALUES ($1, $2, $3, $4, $5)', [p.user, p.idempotencyKey, outcome.owner, outcome.name, outcome.version]);
      }
      return outcome;
    });
  }

  private async publishIn(sql: Sql, p: PublishInput): Promise<PublishOutcome> {
    const versions = await sql.query('SELECT version, seq, content_key, deleted FROM hub_versions WHERE owner = $1 AND name = $2', [p.owner, p.name]);
    const same = versions.find((r) => str(r['content_key']) === p.contentKey && (p.version === undefined || str(r['version']) === p.version));
    const name = await sql.query('SELECT visibility FROM hub_names WHERE owner = $1 AND name = $2', [p.owner, p.name]);
    const visibility = JSON.stringify(p.visibility ?? (name[0] ? (JSON.parse(str(name[0]['visibility'])) as Visibility) : 'private'));
    const visibilityChanged = name[0] !== undefined && str(name[0]['visibility']) !== visibility;
    if (name[0] === undefined) {
      await sql.query('INSERT INTO hub_names (owner, name, visibility, updated_at) VALUES ($1, $2, $3, $4)', [p.owner, p.name, visibility, p.now]);
    } else if (visibilityChanged) {
      await this.changeVisibility(sql, p.owner, p.name, str(name[0]['visibility']), visibility, p.now);
    }
    if (same) {
      const version = str(same['version']);
      if (num(same['deleted']) === 1) {
        // The same content published again after a withdrawal brings that version back.
        await sql.query('UPDATE hub_versions SET deleted = 0, updated_at = $4 WHERE owner = $1 AND name = $2 AND version = $3', [p.owner, p.name, version, p.now]);
        await this.addChange(sql, p.owner, p.name, version, 'publish', null);
        return { owner: p.owner, name: p.name, version, created: true };
      }
      return { owner: p.owner, name: p.name, version, created: false };
    }
    const seq = versions.reduce((m, r) => Math.max(m, num(r['seq'])), 0) + 1;
    let version = p.version;
    const taken = new Set(versions.map((r) => str(r['version'])));
    if (version === undefined) {
      let n = versions.reduce((m, r) => Math.max(m, /^\d+$/.test(str(r['version'])) ? Number(r['version']) : 0), 0) + 1;
      while (taken.has(String(n))) n += 1;
      version = String(n);
    } else if (taken.has(version)) {
      throw new UsageError('CONFLICT', `${p.owner}/${p.name} version ${version} is already published with other content; versions never change.`, {
        hint: 'Raise dlhub.version in dlhub.json (or leave it out for the next number) and publish again.',
        details: { owner: p.owner, name: p.name, version },
      });
    }
    await sql.query(
      'INSERT INTO hub_versions (owner, name, version, seq, metadata, repository, digest, content_key, created_at, updated_at, deleted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 0)',
      [p.owner, p.name, version, seq, JSON.stringify(p.metadata), p.repository, p.digest, p.contentKey, p.now],
    );
    await this.addChange(sql, p.owner, p.name, version, 'publish', null);
    return { owner: p.owner, name: p.name, version, created: true };
  }

  private async addChange(sql: Sql, owner: string, name: string, version: string, kind: ChangeRow['kind'], was: string | null): Promise<void> {
    await sql.query('INSERT INTO hub_changes (owner, name, version, kind, was) VALUES ($1, $2, $3, $4, $5)', [owner, name, version, kind, was]);
  }

  private async changeVisibility(sql: Sql, owner: string, name: string, was: string, visibility: string, now: number): Promise<void> {
    await sql.query('UPDATE hub_names SET visibility = $3, updated_at = $4 WHERE owner = $1 AND name = $2', [owner, name, visibility, now]);
    const live = await sql.query('SELECT version FROM hub_versions WHERE owner = $1 AND name = $2 AND deleted = 0 ORDER BY seq', [owner, name]);
    for (const r of live) await this.addChange(sql, owner, name, str(r['version']), 'visibility', was);
  }

  /** Set a name's visibility (a change for each live version when it differs); false: no such name. */
  async setVisibility(owner: string, name: string, visibility: Visibility, now: number): Promise<boolean> {
    return this.sql.tx(async (sql) => {
      await sql.writeLock();
      const [r] = await sql.query('SELECT visibility FROM hub_names WHERE owner = $1 AND name = $2', [owner, name]);
      if (!r) return false;
      const next = JSON.stringify(visibility);
      if (str(r['visibility']) !== next) await this.changeVisibility(sql, owner, name, str(r['visibility']), next, now);
      return true;
    });
  }

  /** Withdraw one version (a tombstone in the feed); false: no such live version. */
  async deleteVersion(owner: string, name: string, version: string, now: number): Promise<boolean> {
    return this.sql.tx(async (sql) => {
      await sql.writeLock();
      const [r] = await sql.query('SELECT n.visibility FROM hub_versions v JOIN hub_names n ON n.owner = v.owner AND n.name = v.name WHERE v.owner = $1 AND v.name = $2 AND v.version = $3 AND v.deleted = 0', [owner, name, version]);
      if (!r) return false;
      await sql.query('UPDATE hub_versions SET deleted = 1, updated_at = $4 WHERE owner = $1 AND name = $2 AND version = $3', [owner, name, version, now]);
      await this.addChange(sql, owner, name, version, 'delete', str(r['visibility']));
      return true;
    });
  }

  /** Up to `limit` changes after `cursor`, in order, each with its version as it is now. */
  async changesSince(cursor: number, limit: number): Promise<ChangeRow[]> {
    const rows = await this.sql.query(
      `SELECT c.cursor AS c_cursor, c.owner AS c_owner, c.name AS c_name, c.version AS c_version, c.kind AS c_kind, c.was AS c_was, c.audience AS c_audience, ${VERSION_COLUMNS}
       FROM hub_changes c
       LEFT JOIN hub_versions v ON v.owner = c.owner AND v.name = c.name AND v.version = c.version
       LEFT JOIN hub_names n ON n.owner = c.owner AND n.name = c.name
       WHERE c.cursor > $1 ORDER BY c.cursor LIMIT $2`,
      [cursor, limit],
    );
    return rows.map((r) => ({
      cursor: num(r['c_cursor']),
      owner: str(r['c_owner']),
      name: str(r['c_name']),
      version: str(r['c_version']),
      kind: str(r['c_kind']) as ChangeRow['kind'],
      was: r['c_was'] === null || r['c_was'] === undefined ? null : (JSON.parse(str(r['c_was'])) as Visibility),
      audience: typeof r['c_audience'] === 'string' ? r['c_audience'] : null,
      now: r['owner'] === null || r['owner'] === undefined ? undefined : versionFrom(r),
    }));
  }
}

