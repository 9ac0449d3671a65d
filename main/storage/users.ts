import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { UsageError } from '../errors.js';
import { openStateDb } from './state-db.js';

/** A local account as `dlhub users ls` shows it (never its password). */
export interface UserInfo {
  name: string;
  /** The servables this user may stream to; `'all'` for every one. */
  servables: string[] | 'all';
  createdAt: string;
}

/** scrypt's cost: N=2^14, r=8, p=1 (16 MB, ~50 ms a check), the parameters OWASP names as the floor. */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLen: 32, maxmem: 64 * 1024 * 1024 } as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function derive(password: string, salt: Buffer, p: { N: number; r: number; p: number; keyLen: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, p.keyLen, { N: p.N, r: p.r, p: p.p, maxmem: SCRYPT.maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$key`, both base64url: the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches a stored hash, compared in constant time. */
export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || salt === undefined || key === undefined) return false;
  const want = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p), keyLen: want.length });
  return got.length === want.length && timingSafeEqual(got, want);
}

// Checked when the name is unknown, so a wrong name costs as long as a wrong password (no probing for names).
let decoy: Promise<string> | undefined;

/** Local accounts for instruments (the gRPC door), scrypt-hashed in state.db. */
export class UserStore {
  private constructor(private readonly db: Database.Database) {}

  /** Open the accounts table in state.db (brought to the newest schema). */
  static open(stateDb: string): UserStore {
    return new UserStore(openStateDb(stateDb));
  }

  /** Add an account, or replace the password and servables of an existing one. */
  async add(name: string, password: string, servables: string[] | 'all'): Promise<UserInfo> {
    if (!NAME.test(name)) {
      throw new UsageError('USAGE', `"${name}" is not a usable account name.`, { hint: 'Use 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.' });
    }
    if (password.length === 0) throw new UsageError('USAGE', `No password given for "${name}".`, { hint: 'Pass it on standard input or with --password.' });
    if (servables !== 'all' && servables.length === 0) {
      throw new UsageError('USAGE', `Account "${name}" would be allowed no servable.`, { hint: 'Name them with --servables a,b or allow every one with --all.' });
    }
    const hash = await hashPassword(password);
    const createdAt = new Date().toISOString();
    this.db
      .prepare('INSERT INTO users (name, password, servables, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET password = excluded.password, servables = excluded.servables')
      .run(name, hash, servables === 'all' ? null : JSON.stringify(servables), createdAt);
    return this.get(name) as UserInfo;
  }

  /** Remove an account; USAGE when there is none of that name. */
  remove(name: string): void {
    if (this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes === 0) {
      throw new UsageError('USAGE', `No account "${name}".`, { hint: 'List them with `dlhub users ls`.' });
    }
  }

  /** Every account, by name. */
  list(): UserInfo[] {
    return (this.db.prepare('SELECT name, servables, created_at FROM users ORDER BY name').all() as Row[]).map(toInfo);
  }

  /** One account, or undefined. */
  get(name: string): UserInfo | undefined {
    const row = this.db.prepare('SELECT name, servables, created_at FROM users WHERE name = ?').get(name) as Row | undefined;
    return row ? toInfo(row) : undefined;
  }

  /** The account when `password` is its password; undefined for a wrong name or password (the same time either way). */
  async verify(name: string, password: string): Promise<UserInfo | undefined> {
    const row = this.db.prepare('SELECT name, password, servables, created_at FROM users WHERE name = ?').get(name) as (Row & { password: string }) | undefined;
    if (!row) {
      decoy ??= hashPassword(randomBytes(8).toString('hex'));
      await checkPassword(password, await decoy);
      return undefined;
    }
    return (await checkPassword(password, row.password)) ? toInfo(row) : undefined;
  }

  close(): void {
    this.db.close();
  }
}

interface Row {
  name: string;
  servables: string | null;
  created_at: string;
}

function toInfo(row: Row): UserInfo {
  return { name: row.name, servables: row.servables === null ? 'all' : (JSON.parse(row.servables) as string[]), createdAt: row.created_at };
}

/** Whether an account may use `servable`. */
export function mayUse(user: UserInfo, servable: string): boolean {
  return user.servables === 'all' || user.servables.includes(servable);
}
