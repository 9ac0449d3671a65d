// A sync of many pages against the real hub (in this process, SQLite store): the catalog it leaves
// answers every search exactly as one filed a record at a time, or in one page, would; a sync that
// fails part-way keeps whole pages with their cursor and never part of one, and the next sync goes
// on from there to the same catalog.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { startHub, type RunningHub } from '../../../../hub/server.js';
import { hashPassword } from '../../../../hub/secrets.js';
import { Catalog } from '../../../../main/catalog/catalog.js';
import type { SearchResult } from '../../../../main/catalog/search.js';
import { readCursor, syncCatalog, type CatalogFeed } from '../../../../main/hub/sync.js';
import type { Session } from '../../../../main/hub/session.js';
import { ensureHome, homePaths, type HomePaths } from '../../../../main/storage/home.js';
import { openStateDb } from '../../../../main/storage/state-db.js';
import { tempDir } from '../../../helpers/home.js';

const dir = tempDir('dlhub-sync-pages-');
let hub: RunningHub;
let session: Session;
let homes = 0;

const WORDS = ['crystal', 'protein', 'neural', 'band', 'gap', 'lattice', 'spectra', 'docking', 'galaxy', 'solvent', 'phonon', 'tumor'];
const DOMAINS = ['chemistry', 'physics', 'biology', 'astronomy'];

function metadata(i: number, version: number) {
  const w = (k: number): string => WORDS[(i * 7 + k * 5 + version) % WORDS.length] as string;
  return {
    datacite: { titles: [{ title: `${w(0)} ${w(1)} model ${i}` }], creators: [{ creatorName: `Curie, M${i % 4}` }], descriptions: [{ description: `${w(2)} ${w(3)} v${version}`, descriptionType: 'Abstract' }] },
    dlhub: { name: `m-${i}`, domains: [DOMAINS[i % DOMAINS.length] as string] },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { input: { type: 'string' }, output: { type: 'string' }, method_details: { module: 'app', method_name: 'run' } } } },
  };
}

const QUERIES: [string, { advanced?: boolean; allVersions?: boolean }][] = [
  ['crystal', {}], ['neural band', {}], ['model', { allVersions: true }], ['gap', { allVersions: true }],
  ['dlhub.domains:chemistry', { advanced: true }], ['datacite.creators.creatorName:"Curie, M1"', { advanced: true, allVersions: true }],
];

/** What a user sees of a search: every hit's servable, version and newest mark in order, the total and the facets. */
function seen(r: SearchResult) {
  return { total: r.total, hits: r.hits.map((h) => `${h.servable}@${h.version}${h.latest ? '*' : ''}`), facets: r.facets };
}

function answers(catalog: Catalog) {
  return QUERIES.map(([q, o]) => seen(catalog.search(q, { ...o, pageSize: 1000 })));
}

function freshHome(): { paths: HomePaths; catalog: Catalog; stateDb: Database.Database } {
  const paths = ensureHome(homePaths(join(dir.path, `home-${homes++}`)));
  return { paths, catalog: Catalog.open(paths), stateDb: openStateDb(paths.stateDb) };
}

beforeAll(async () => {
  hub = await startHub({ home: join(dir.path, 'hub'), port: 0, registry: 'none', ratePerMinute: 0 });
  for (const u of ['alice', 'bob']) await hub.store.addUser({ name: u, passwordHash: await hashPassword(`${u}-pw`), clientId: null, secretHash: null }, Date.now());
  const publish = (i: number, version: number) => hub.store.publish({
    user: 'alice', owner: 'alice', name: `m-${i}`, version: String(version), metadata: metadata(i, version), repository: `alice/m-${i}`,
    digest: `sha256:${'ab'.repeat(32)}`, contentKey: `k${i}-${version}`, visibility: 'public', idempotencyKey: undefined, now: Date.now(),
  });
  // Forty names, a third with a second version published later; then a withdrawal and a name made private (tombstones for bob).
  for (let i = 0; i < 40; i++) await publish(i, 1);
  for (let i = 0; i < 40; i += 3) await publish(i, 2);
  await hub.store.deleteVersion('alice', 'm-3', '2', Date.now());
  await hub.store.setVisibility('alice', 'm-5', 'private', Date.now());
  const res = await fetch(`${hub.url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bob', password: 'bob-pw' }) });
  session = { hub: hub.url, token: ((await res.json()) as { result: { token: string } }).result.token, user: 'bob' };
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  dir.remove();
});

describe('a sync of many pages', () => {
  it('leaves a catalog that answers every search as filing one record at a time, or all in one page, does', async () => {
    const ways = [7, 1, 1000].map((pageSize) => ({ pageSize, ...freshHome() }));
    const outcomes = [];
    for (const w of ways) outcomes.push(await syncCatalog(session, w.stateDb, w.catalog, undefined, { pageSize: w.pageSize }));
    // 54 publishes, a withdrawal and a visibility change: 56 changes, in pages of 7, of 1 and of 1000.
    expect(outcomes.map((o) => [o.pages, o.cursor])).toEqual([[8, '56'], [56, '56'], [1, '56']]);
    // Every name but the private one, with both versions where there are two, less the withdrawn one.
    expect(ways[0]!.catalog.size).toBe(40 - 1 + 14 - 1);
    const expected = answers(ways[2]!.catalog);
    expect(expected[0]!.total).toBeGreaterThan(0);
    for (const w of ways.slice(0, 2)) expect(answers(w.catalog)).toEqual(expected);
    expect(ways[1]!.catalog.search('m-5').total).toBe(0);
    // Another process opening the catalog afterwards (the saved index, or one rebuilt from state.db) sees the same.
    for (const w of ways) {
      w.catalog.close();
      w.stateDb.close();
    }
    const again = Catalog.open(ways[0]!.paths);
    expect(answers(again)).toEqual(expected);
    again.close();
  }, 120_000);

  it('keeps whole pages with their cursor when a page fails part-way, and the next sync ends where an unbroken one does', async () => {
    const whole = freshHome();
    await syncCatalog(session, whole.stateDb, whole.catalog, undefined, { pageSize: 7 });
    const broken = freshHome();
    let pages = 0;
    // The third page's records are written, then its transaction fails before it commits (as a crash would stop it).
    const failing: CatalogFeed = {
      applyFeed: (put, remove, also) => broken.catalog.applyFeed(put, remove, (db) => {
        also(db);
        if (++pages === 3) throw new Error('cut off in the middle of a page');
      }),
      deferCheckpoints: (work) => broken.catalog.deferCheckpoints(work),
    };
    await expect(syncCatalog(session, broken.stateDb, failing, undefined, { pageSize: 7 })).rejects.toThrow('cut off in the middle of a page');
    // Two whole pages of changes: the first versions of m-0 to m-13, less m-5, which bob may no longer see.
    expect(readCursor(broken.stateDb, hub.url, 'bob').cursor).toBe('14');
    expect(broken.catalog.search('model', { allVersions: true, pageSize: 1000 }).hits.map((h) => h.servable).sort()).toEqual(
      Array.from({ length: 14 }, (_, i) => `alice/m-${i}`).filter((s) => s !== 'alice/m-5').sort(),
    );
    const rest = await syncCatalog(session, broken.stateDb, broken.catalog, undefined, { pageSize: 7 });
    expect(rest.cursor).toBe(readCursor(whole.stateDb, hub.url, 'bob').cursor);
    expect(answers(broken.catalog)).toEqual(answers(whole.catalog));
    for (const h of [whole, broken]) {
      h.catalog.close();
      h.stateDb.close();
    }
  }, 120_000);
});
