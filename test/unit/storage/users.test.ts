// Local accounts for instruments: scrypt-hashed in state.db, each allowed some servables or all.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { UserStore, checkPassword, hashPassword, mayUse } from '../../../main/storage/users.js';
import { UsageError } from '../../../main/errors.js';
import { tempDir } from '../../helpers/home.js';

describe('local accounts', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: UserStore;
  beforeEach(() => {
    dir = tempDir();
    store = UserStore.open(join(dir.path, 'state.db'));
  });
  afterEach(() => {
    store.close();
    dir.remove();
  });

  it('check a password against its scrypt hash, and no other', async () => {
    await store.add('alice', 'correct horse', ['iris']);
    expect(await store.verify('alice', 'correct horse')).toMatchObject({ name: 'alice', servables: ['iris'] });
    expect(await store.verify('alice', 'Correct horse')).toBeUndefined();
    expect(await store.verify('bob', 'correct horse')).toBeUndefined();
  });

  it('never keep the password itself in state.db', async () => {
    await store.add('alice', 'correct horse', 'all');
    const db = new Database(join(dir.path, 'state.db'), { readonly: true });
    const row = db.prepare('SELECT password FROM users WHERE name = ?').get('alice') as { password: string };
    db.close();
    expect(row.password).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(row.password).not.toContain('correct horse');
  });

  it('list, replace and remove accounts', async () => {
    await store.add('bob', 'pw', ['a', 'b']);
    await store.add('alice', 'pw', 'all');
    expect(store.list().map((u) => [u.name, u.servables])).toEqual([['alice', 'all'], ['bob', ['a', 'b']]]);
    await store.add('bob', 'new', ['c']);
    expect(store.get('bob')?.servables).toEqual(['c']);
    expect(await store.verify('bob', 'pw')).toBeUndefined();
    store.remove('bob');
    expect(store.get('bob')).toBeUndefined();
    expect(() => store.remove('bob')).toThrow(UsageError);
  });

  it('refuse an unusable name, an empty password or no servable', async () => {
    await expect(store.add('-x', 'pw', 'all')).rejects.toThrow(UsageError);
    await expect(store.add('a b', 'pw', 'all')).rejects.toThrow(UsageError);
    await expect(store.add('ok', '', 'all')).rejects.toThrow(UsageError);
    await expect(store.add('ok', 'pw', [])).rejects.toThrow(UsageError);
  });

  it('allow the servables named, or every one', () => {
    const base = { name: 'u', createdAt: '' };
    expect(mayUse({ ...base, servables: 'all' }, 'x')).toBe(true);
    expect(mayUse({ ...base, servables: ['x'] }, 'x')).toBe(true);
    expect(mayUse({ ...base, servables: ['x'] }, 'y')).toBe(false);
  });

  it('hash the same password differently each time (salted)', async () => {
    const [a, b] = await Promise.all([hashPassword('pw'), hashPassword('pw')]);
    expect(a).not.toBe(b);
    expect(await checkPassword('pw', a)).toBe(true);
    expect(await checkPassword('pw', 'plain')).toBe(false);
  });
});
