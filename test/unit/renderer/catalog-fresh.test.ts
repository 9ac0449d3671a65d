// The catalog never shows what it held before a change: a sign-in to a hub syncs at once (the
// "Sync now" operation), and a sync, a pull or a build has the catalog search again, keeping the
// results on screen until the new ones arrive.
import { describe, expect, it } from 'vitest';
import type { Ops } from '../../../renderer/src/client/ops.js';
import { createAppStores } from '../../../renderer/src/stores/app-stores.js';
import { createCatalogStore } from '../../../renderer/src/stores/catalog.js';
import { createHubStore } from '../../../renderer/src/stores/hub.js';

/** An Ops whose listed operations are the given fakes; any other call fails. */
function fakeOps(impl: Partial<Record<keyof Ops, (...a: never[]) => unknown>>): Ops {
  return new Proxy({} as Ops, {
    get: (_t, op: string) => impl[op as keyof Ops] ?? (op === 'watchTasks' || op === 'listRuntimes' ? undefined : () => Promise.reject(new Error(`unexpected call ${op}`))),
  });
}

const hit = (name: string, version: string) => ({ servable: `me/${name}`, name, owner: 'me', version, title: name, description: '', type: '', domains: [], creators: [], year: null, doi: '', methods: [], local: true, latest: true, score: 1 });
const answer = (hits: ReturnType<typeof hit>[]) => ({ query: '', advanced: false, allVersions: false, total: hits.length, page: 1, pageSize: 50, hits, facets: { type: [], domains: [], creators: [], year: [] } });
const signedOut = { hub: undefined, user: undefined, online: false, lastSync: undefined, queued: 0, failed: 0 };
const signedIn = (lastSync?: string) => ({ hub: 'http://hub', user: 'bob', online: true, lastSync, queued: 0, failed: 0 });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('catalog freshness', () => {
  it('searching again keeps the old results shown until the new answer replaces them', async () => {
    let version = '1.0.0';
    let release: () => void = () => {};
    const ops = fakeOps({
      searchCatalog: (() => (version === '1.0.0' ? Promise.resolve(answer([hit('iris', version)])) : new Promise((r) => (release = () => r(answer([hit('iris', version)])))))),
    });
    const store = createCatalogStore(ops);
    await store.getState().setQuery('');
    version = '1.1.0';
    const again = store.getState().refresh();
    // While the new search runs, the list is the old one, not an empty one.
    expect(store.getState().searching).toBe(true);
    expect(store.getState().result?.hits.map((h) => h.version)).toEqual(['1.0.0']);
    release();
    await again;
    expect(store.getState().result?.hits.map((h) => h.version)).toEqual(['1.1.0']);
  });

  it('a sign-in syncs the catalog at once and says both, the last sync then shown', async () => {
    const calls: string[] = [];
    let status: ReturnType<typeof signedIn> | typeof signedOut = signedOut;
    let changed = 0;
    const ops = fakeOps({
      hubStatus: (() => Promise.resolve(status)),
      listOutbox: (() => Promise.resolve({ items: [] })),
      hubLogin: (() => { calls.push('hubLogin'); status = signedIn(); return Promise.resolve({ hub: 'http://hub', user: 'bob' }); }),
      syncCatalog: (() => { calls.push('syncCatalog'); status = signedIn('2026-12-07T08:00:00.000Z'); return Promise.resolve({ hub: 'http://hub', upserted: 3, removed: 0, skipped: 0 }); }),
    });
    const hub = createHubStore(ops, () => {}, () => (changed += 1));
    await hub.getState().login('http://hub', 'bob', 'pw');
    expect(calls).toEqual(['hubLogin', 'syncCatalog']);
    expect(hub.getState().status?.lastSync).toBe('2026-12-07T08:00:00.000Z');
    expect(hub.getState().notice).toBe('Signed in to http://hub as bob. Synced: 3 added or updated, 0 removed.');
    expect(changed).toBe(1);
    expect(hub.getState().busy).toBeUndefined();
  });

  it('a failed sign-in does not sync; a sync that fails after a sign-in keeps the sign-in said and shows why', async () => {
    const calls: string[] = [];
    let refuse = true;
    const ops = fakeOps({
      hubStatus: (() => Promise.resolve(signedOut)),
      listOutbox: (() => Promise.resolve({ items: [] })),
      hubLogin: (() => { calls.push('hubLogin'); return refuse ? Promise.reject(Object.assign(new Error('Wrong user or password'), { code: 'UNAUTHORIZED' })) : Promise.resolve({ hub: 'http://hub', user: 'bob' }); }),
      syncCatalog: (() => { calls.push('syncCatalog'); return Promise.reject(Object.assign(new Error('The catalog could not be written'), { code: 'CATALOG_ERROR' })); }),
    });
    const hub = createHubStore(ops);
    await hub.getState().login('http://hub', 'bob', 'bad');
    expect(calls).toEqual(['hubLogin']);
    expect(hub.getState().error?.code).toBe('UNAUTHORIZED');
    refuse = false;
    await hub.getState().login('http://hub', 'bob', 'pw');
    expect(calls).toEqual(['hubLogin', 'hubLogin', 'syncCatalog']);
    expect(hub.getState().notice).toBe('Signed in to http://hub as bob.');
    expect(hub.getState().error?.code).toBe('CATALOG_ERROR');
  });

  it('a finished build, a sync and a pull each have the catalog search again', async () => {
    let searches = 0;
    const ops = fakeOps({
      searchCatalog: (() => { searches += 1; return Promise.resolve(answer([])); }),
      hubStatus: (() => Promise.resolve(signedIn())),
      listOutbox: (() => Promise.resolve({ items: [] })),
      syncCatalog: (() => Promise.resolve({ hub: 'http://hub', upserted: 1, removed: 0, skipped: 0 })),
      pullServable: (() => Promise.resolve({ owner: 'al', name: 'iris', version: '2', digest: 'sha256:x' })),
    });
    const stores = createAppStores(ops, '#/catalog', () => {});
    stores.publish.setState({ phase: 'building' });
    stores.publish.setState({ phase: 'built' });
    await tick();
    expect(searches).toBe(1);
    await stores.hub.getState().sync();
    await tick();
    expect(searches).toBe(2);
    await stores.hub.getState().pull('al/iris');
    await tick();
    expect(searches).toBe(3);
  });
});
