// One store suite, run against SQLite and against a real PostgreSQL (Debian's, a private cluster
// started here): accounts, groups, tokens, immutable versions, idempotency, visibility and the
// change feed behave the same on both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digest, hubStoreKinds, publishInput as input } from '../../helpers/hub-store.js';
import type { HubStore } from '../../../hub/store/store.js';
import { DlhubError } from '../../../main/errors.js';

const { kinds } = hubStoreKinds('store');

describe.each(kinds)('the hub store on %s', (_kind, open) => {
  let store: HubStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store.close();
  });

  it('keeps users, refuses a second user of the same name, and finds client credentials', async () => {
    await store.addUser({ name: 'alice', passwordHash: 'h', clientId: null, secretHash: null }, 1);
    await store.addUser({ name: 'ci', passwordHash: null, clientId: 'dlhc_1', secretHash: 's' }, 1);
    expect((await store.user('alice'))?.passwordHash).toBe('h');
    expect((await store.userByClientId('dlhc_1'))?.name).toBe('ci');
    expect(await store.user('nobody')).toBeUndefined();
    await expect(store.addUser({ name: 'alice', passwordHash: 'x', clientId: null, secretHash: null }, 1)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('keeps groups: the owner is the first member, members join and leave', async () => {
    await store.addUser({ name: 'bob', passwordHash: 'h', clientId: null, secretHash: null }, 1);
    await store.addGroup('lab', 'alice', 1);
    expect(await store.groupOwner('lab')).toBe('alice');
    await store.join('lab', 'bob');
    await store.join('lab', 'bob');
    expect(await store.groupsOf('bob')).toEqual(['lab']);
    expect(await store.leave('lab', 'bob')).toBe(true);
    expect(await store.leave('lab', 'bob')).toBe(false);
    expect(await store.groupsOf('bob')).toEqual([]);
    expect(await store.groupsOf('alice')).toEqual(['lab']);
  });

  it('answers a token\'s user until it expires or is revoked', async () => {
    await store.addToken('t1', 'alice', 5000, 1000);
    await store.addToken('t2', 'alice', 5000, 1000);
    expect(await store.tokenUser('t1', 4999)).toBe('alice');
    expect(await store.tokenUser('t1', 5000)).toBeUndefined();
    await store.revokeToken('t1', 1000);
    expect(await store.tokenUser('t1', 1000)).toBeUndefined();
    expect(await store.tokenUser('t2', 1000)).toBe('alice');
  });

  it('publishes immutable versions: same content is a no-op, new content a new number, a taken version with other content is refused', async () => {
    expect(await store.publish(input())).toEqual({ owner: 'alice', name: 'model', version: '1', created: true });
    expect(await store.publish(input())).toEqual({ owner: 'alice', name: 'model', version: '1', created: false });
    expect(await store.publish(input({ contentKey: 'k2', digest: digest('b') }))).toEqual({ owner: 'alice', name: 'model', version: '2', created: true });
    await store.publish(input({ contentKey: 'k3', version: '3.0' }));
    const err = await store.publish(input({ contentKey: 'k4', version: '3.0' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DlhubError);
    expect((err as DlhubError).code).toBe('CONFLICT');
    expect((await store.newest('alice', 'model'))?.version).toBe('3.0');
    expect((await store.version('alice', 'model', '2'))?.digest).toBe(digest('b'));
    expect(await store.visibility('alice', 'model')).toBe('private');
  });

  it('never publishes twice under one idempotency key, even with other content', async () => {
    const first = await store.publish(input({ name: 'idem', contentKey: 'i1', idempotencyKey: 'key-1' }));
    const again = await store.publish(input({ name: 'idem', contentKey: 'i2', idempotencyKey: 'key-1' }));
    expect(again).toEqual({ ...first, created: false });
    expect((await store.newest('alice', 'idem'))?.contentKey).toBe('i1');
  });

  it('gives concurrent publishes of one name distinct versions, each once', async () => {
    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => store.publish(input({ name: 'busy', contentKey: `b${i}` }))));
    expect(outcomes.map((o) => o.version).sort()).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('feeds every change after a cursor in order, with visibility changes and deletions, paged', async () => {
    const start = (await store.changesSince(0, 100_000)).at(-1)?.cursor ?? 0;
    await store.publish(input({ name: 'feed', contentKey: 'f1', visibility: 'public' }));
    await store.publish(input({ name: 'feed', contentKey: 'f2' }));
    expect(await store.setVisibility('alice', 'feed', { groups: ['lab'] }, 2000)).toBe(true);
    expect(await store.setVisibility('alice', 'feed', { groups: ['lab'] }, 2001)).toBe(true);
    expect(await store.setVisibility('alice', 'nothing', 'public', 2001)).toBe(false);
    expect(await store.deleteVersion('alice', 'feed', '1', 3000)).toBe(true);
    expect(await store.deleteVersion('alice', 'feed', '1', 3000)).toBe(false);
    const all = await store.changesSince(start, 100);
    expect(all.map((c) => [c.version, c.kind])).toEqual([['1', 'publish'], ['2', 'publish'], ['1', 'visibility'], ['2', 'visibility'], ['1', 'delete']]);
    expect(all[2]?.was).toBe('public');
    expect(all[4]?.was).toEqual({ groups: ['lab'] });
    expect(all[0]?.now?.deleted).toBe(true);
    expect(all[1]?.now?.visibility).toEqual({ groups: ['lab'] });
    const first = await store.changesSince(start, 2);
    const rest = await store.changesSince(first.at(-1)!.cursor, 100);
    expect([...first, ...rest].map((c) => c.cursor)).toEqual(all.map((c) => c.cursor));
    expect((await store.newest('alice', 'feed'))?.version).toBe('2');
  });

  it('brings a withdrawn version back when the same content is published again', async () => {
    const back = await store.publish(input({ name: 'feed', contentKey: 'f1' }));
    expect(back).toEqual({ owner: 'alice', name: 'feed', version: '1', created: true });
    expect((await store.version('alice', 'feed', '1'))?.deleted).toBe(false);
  });

  it('lists the newest live version of each name', async () => {
    const list = await store.newestOfEach('alice', 100);
    const byName = new Map(list.map((v) => [v.name, v.version]));
    expect(byName.get('model')).toBe('3.0');
    expect(byName.get('busy')).toBe('6');
    expect(list.every((v) => v.owner === 'alice')).toBe(true);
    expect(await store.newestOfEach('nobody', 100)).toEqual([]);
  });
});
