/* eslint-disable @typescript-eslint/no-explicit-any -- answers are read as loose JSON; the assertions check their shapes */
// A sync whose connection to the hub is cut part-way through a page of the change feed (a TCP proxy
// between the desktop and the hub drops it after some bytes): `dlhub sync` fails with a typed error,
// and the catalog is as it was or advanced by whole pages, never by part of one: what it holds is
// exactly what the stored cursor says it has seen. The next sync goes on from there to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { json, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startHub, type RunningHub } from '../../hub/server.js';
import { hashPassword } from '../../hub/secrets.js';
import { PAGE_SIZE } from '../../main/hub/sync.js';

const NOOP = JSON.parse(readFileSync(join(import.meta.dirname, '../../examples/noop/dlhub.json'), 'utf8'));
const dir = tempDir('dlhub-hub-sync-cut-');
const bobHome = join(dir.path, 'bob');
/** Two whole pages and part of a third. */
const RECORDS = 2 * PAGE_SIZE + 50;

let hub: RunningHub;
let proxy: FaultProxy;

function ok(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return json(r);
}

const dlhub = (args: string[]) => runCli([...args, '--json'], { DLHUB_HOME: bobHome });

/** How many of the records bob's catalog holds, and the feed cursor it stored with them. */
async function catalogState(): Promise<{ records: number; cursor: number }> {
  const records = ok(await dlhub(['search', 'cutmodel'])).total as number;
  const db = new Database(join(bobHome, 'state.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT cursor FROM hub_sync').get() as { cursor: string } | undefined;
    return { records, cursor: Number(row?.cursor ?? '0') };
  } finally {
    db.close();
  }
}

const feed = (r: { method: string; path: string }): boolean => r.method === 'GET' && r.path.startsWith('/v1/changes');

beforeAll(async () => {
  hub = await startHub({ home: join(dir.path, 'hub'), port: 0, registry: 'none', ratePerMinute: 0 });
  for (const u of ['alice', 'bob']) await hub.store.addUser({ name: u, passwordHash: await hashPassword(`${u}-pw`), clientId: null, secretHash: null }, Date.now());
  // Public records, one change each: cursor N is the N-th record.
  for (let i = 0; i < RECORDS; i++) {
    const metadata = structuredClone(NOOP);
    metadata.dlhub.name = `m-${i}`;
    metadata.datacite.titles = [{ title: `cutmodel number ${i}` }];
    await hub.store.publish({
      user: 'alice', owner: 'alice', name: `m-${i}`, version: '1', metadata, repository: `alice/m-${i}`, digest: `sha256:${'cd'.repeat(32)}`,
      contentKey: `k${i}`, visibility: 'public', idempotencyKey: undefined, now: Date.now(),
    });
  }
  proxy = await startFaultProxy(() => hub.url.replace(/^http:\/\//, ''));
  ok(await dlhub(['login', '--hub', `http://${proxy.address}`, '--user', 'bob', '--password', 'bob-pw']));
}, 300_000);

afterAll(async () => {
  await proxy?.close();
  await hub?.stop();
  dir.remove();
});

describe('a sync cut off part-way', () => {
  it('leaves the catalog as it was when the first page is cut', async () => {
    proxy.rule = { match: feed, action: 'cut', bodyBytes: 4096, times: 1 };
    const cut = await dlhub(['sync']);
    proxy.rule = undefined;
    expect(cut.code).not.toBe(0);
    expect(proxy.hits).toHaveLength(1);
    expect(json<any>(cut).error.code).toBe('SERVICE_UNAVAILABLE');
    expect(await catalogState()).toEqual({ records: 0, cursor: 0 });
  }, 120_000);

  it('keeps whole pages only when a later page is cut, and the next sync goes on to the end', async () => {
    let asked = 0;
    proxy.hits.length = 0;
    proxy.rule = { match: (r) => feed(r) && ++asked === 2, action: 'cut', bodyBytes: 4096 };
    const cut = await dlhub(['sync']);
    proxy.rule = undefined;
    expect(cut.code).not.toBe(0);
    expect(proxy.hits).toHaveLength(1);
    expect(json<any>(cut).error.code).toBe('SERVICE_UNAVAILABLE');
    const after = await catalogState();
    // The first page landed with its cursor, or (had the sync stopped before writing it) nothing did.
    expect([0, PAGE_SIZE]).toContain(after.records);
    expect(after.cursor).toBe(after.records);

    const rest = ok(await dlhub(['sync']));
    expect(rest.upserted).toBe(RECORDS - after.records);
    expect(await catalogState()).toEqual({ records: RECORDS, cursor: RECORDS });
    expect(ok(await dlhub(['sync']))).toMatchObject({ upserted: 0, removed: 0 });
  }, 300_000);
});
