// Joining and leaving a group reach the change feed, on SQLite and on a real PostgreSQL: each live
// version shared with the group gets a change addressed to that one member, and a store made before
// such changes existed is brought up to date when it opens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { hubStoreKinds, publishInput as input } from '../../helpers/hub-store.js';
import { openStore } from '../../../hub/store/open.js';
import type { HubStore } from '../../../hub/store/store.js';

const { home, kinds } = hubStoreKinds('membership');

describe.each(kinds)('group membership in the feed on %s', (_kind, open) => {
  let store: HubStore;
  beforeAll(async () => {
    store = await open();
    for (const u of ['alice', 'bob', 'carol']) await store.addUser({ name: u, passwordHash: 'h', clientId: null, secretHash: null }, 1);
    await store.addGroup('lab', 'alice', 1);
    await store.addGroup('lab2', 'carol', 1);
    await store.join('lab', 'bob');
  });
  afterAll(async () => {
    await store.close();
  });

  it('gives the member who leaves a change for each live version shared with the group, and no one else', async () => {
    await store.publish(input({ name: 'shared', contentKey: 's1', visibility: { groups: ['lab'] } }));
    await store.publish(input({ name: 'shared', contentKey: 's2' }));
    await store.publish(input({ name: 'gone', contentKey: 'g1', visibility: { groups: ['lab2', 'lab'] } }));
    await store.deleteVersion('alice', 'gone', '1', 2000);
    await store.publish(input({ name: 'other', contentKey: 'o1', visibility: { groups: ['lab2'] } }));
    await store.publish(input({ name: 'open', contentKey: 'p1', visibility: 'public' }));
    const start = (await store.changesSince(0, 100_000)).at(-1)?.cursor ?? 0;

    expect(await store.leave('lab', 'bob')).toBe(true);
    const changes = await store.changesSince(start, 100);
    expect(changes.map((c) => [c.name, c.version, c.kind, c.audience])).toEqual([['shared', '1', 'membership', 'bob'], ['shared', '2', 'membership', 'bob']]);
    expect(changes[0]?.was).toEqual({ groups: ['lab'] });
    expect(changes[0]?.now?.visibility).toEqual({ groups: ['lab'] });

    // Leaving again changes nothing, and writes nothing.
    expect(await store.leave('lab', 'bob')).toBe(false);
    expect(await store.changesSince(changes.at(-1)!.cursor, 100)).toEqual([]);
  });

  it('gives the member who joins a change for each live version shared with the group', async () => {
    const start = (await store.changesSince(0, 100_000)).at(-1)?.cursor ?? 0;
    await store.join('lab', 'bob');
    await store.join('lab', 'bob');
    const changes = await store.changesSince(start, 100);
    expect(changes.map((c) => [c.name, c.version, c.kind, c.audience, c.was])).toEqual([['shared', '1', 'membership', 'bob', null], ['shared', '2', 'membership', 'bob', null]]);
  });

  it('writes nothing for the owner\'s own names or a group\'s name that only looks alike', async () => {
    await store.addGroup('l_b', 'carol', 1);
    const start = (await store.changesSince(0, 100_000)).at(-1)?.cursor ?? 0;
    // The owner of the shared names leaves and joins: they see their own names anyway.
    expect(await store.leave('lab', 'alice')).toBe(true);
    await store.join('lab', 'alice');
    // "l_b" matches "lab" under LIKE; its own members get nothing from lab's names.
    await store.join('l_b', 'bob');
    expect(await store.changesSince(start, 100)).toEqual([]);
  });

  it('keeps ordinary changes addressed to everyone', async () => {
    const start = (await store.changesSince(0, 100_000)).at(-1)?.cursor ?? 0;
    await store.publish(input({ name: 'later', contentKey: 'l1', visibility: 'public' }));
    expect((await store.changesSince(start, 100)).map((c) => [c.name, c.audience])).toEqual([['later', null]]);
  });
});

describe('a hub database made before membership changes', () => {
  it('gains the audience column when opened, keeps its changes, and records joins from then on', async () => {
    const file = join(home.path, 'old.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE hub_changes (cursor INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, kind TEXT NOT NULL, was TEXT);
      INSERT INTO hub_changes (owner, name, version, kind, was) VALUES ('alice', 'old', '1', 'publish', NULL);`);
    db.close();
    // Two processes opening it at once (the server and an admin command) both succeed.
    const [store, again] = await Promise.all([openStore(home.path, file), openStore(home.path, file)]);
    try {
      const [old] = await store.changesSince(0, 10);
      expect(old).toMatchObject({ name: 'old', kind: 'publish', audience: null, now: undefined });
      await store.addUser({ name: 'alice', passwordHash: 'h', clientId: null, secretHash: null }, 1);
      await store.addUser({ name: 'bob', passwordHash: 'h', clientId: null, secretHash: null }, 1);
      await store.addGroup('lab', 'alice', 1);
      await store.publish(input({ name: 'new', contentKey: 'n1', visibility: { groups: ['lab'] } }));
      await store.join('lab', 'bob');
      expect((await again.changesSince(0, 10)).map((c) => [c.name, c.kind, c.audience])).toEqual([['old', 'publish', null], ['new', 'publish', null], ['new', 'membership', 'bob']]);
    } finally {
      await store.close();
      await again.close();
    }
  });
});
