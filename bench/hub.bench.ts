// `node dist/bench/hub.bench.js`: a sync of DLHUB_BENCH_RECORDS (100,000) records from empty into a
// fresh catalog, the previous way beside the current one, and of 100 changes (bench/hub-sync.ts); then
// the hub server on loopback, on SQLite and on PostgreSQL (a private cluster of Debian's binaries):
// publish latency (metadata only; the image push is not the hub's), and feed and record reads with
// 50 concurrent clients (p50/p95 per request, requests a second).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, type RunningHub } from '../hub/server.js';
import { hashPassword } from '../hub/secrets.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { syncBench } from './hub-sync.js';
import { fmt, printTable, summarize } from './stats.js';

const RECORDS = Number(process.env['DLHUB_BENCH_RECORDS'] ?? 100_000);

const CLIENTS = 50;
const SECONDS = 3;
const SEEDED = 2000;

async function token(hub: RunningHub): Promise<string> {
  const res = await fetch(`${hub.url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'pw' }) });
  return ((await res.json()) as { result: { token: string } }).result.token;
}

const digest = (i: number): string => `sha256:${i.toString(16).padStart(64, '0')}`;

/** `CLIENTS` loops asking `path(i)` for SECONDS; every request's time. */
async function load(hub: RunningHub, auth: string, path: (i: number) => string): Promise<{ samples: number[]; perSecond: number }> {
  const samples: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const res = await fetch(`${hub.url}${path(n++)}`, { headers: { authorization: `Bearer ${auth}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      samples.push(performance.now() - t);
    }
  }));
  return { samples, perSecond: samples.length / SECONDS };
}

async function one(label: string, db: string | undefined, home: string): Promise<void> {
  const hub = await startHub({ home, port: 0, registry: 'none', db, ratePerMinute: 0 });
  try {
    await hub.store.addUser({ name: 'alice', passwordHash: await hashPassword('pw'), clientId: null, secretHash: null }, Date.now());
    const auth = await token(hub);
    const publishes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const res = await fetch(`${hub.url}/v1/servables`, {
        method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { dlhub: { name: `p-${i}` }, datacite: { title: `model ${i}` } }, image: { repository: `alice/p-${i}`, digest: digest(i) }, visibility: 'public', idempotencyKey: `b-${i}` }),
      });
      await res.arrayBuffer();
      publishes.push(performance.now() - t);
    }
    for (let i = 0; i < SEEDED; i++) {
      await hub.store.publish({ user: 'alice', owner: 'alice', name: `m-${i}`, version: undefined, metadata: { dlhub: { name: `m-${i}` } }, repository: `alice/m-${i}`, digest: digest(i), contentKey: `c${i}`, visibility: 'public', idempotencyKey: undefined, now: Date.now() });
    }
    const feed = await load(hub, auth, (i) => `/v1/changes?since=${(i * 37) % SEEDED}&limit=100`);
    const record = await load(hub, auth, (i) => `/v1/servables/alice/m-${i % SEEDED}`);
    printTable(`hub on ${label} (${CLIENTS} clients, ${SECONDS} s each)`, [
      { label: 'publish (sequential)', samples: publishes },
      { label: `feed page of 100 (${Math.round(feed.perSecond)}/s)`, samples: feed.samples },
      { label: `record (${Math.round(record.perSecond)}/s)`, samples: record.samples },
    ]);
    console.log(`feed p95 ${fmt(summarize(feed.samples).p95)}, record p95 ${fmt(summarize(record.samples).p95)}`);
  } finally {
    await hub.stop();
  }
}

/** Run the hub benchmark on SQLite, then PostgreSQL. */
export async function main(): Promise<void> {
  const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`\nsync of ${RECORDS} records from empty (load average ${load()})`);
  const sync = await syncBench(RECORDS);
  for (const f of sync.full) {
    console.log(`${f.way}: ${fmt(f.wallMs)} to searchable (${Math.round(f.records / (f.wallMs / 1000))} records/s; CPU desktop ${fmt(f.desktopCpuMs)}, hub ${fmt(f.hubCpuMs)}), index saved at close in ${fmt(f.closeMs)}; ${f.records} records, ${f.probe} hits for "crystal"`);
  }
  printTable(`sync of 100 changes (load average ${load()})`, [{ label: 'sync of 100 changes', samples: sync.changes }]);
  const home = mkdtempSync(join(tmpdir(), 'dlhub-hub-bench-'));
  const pg = await startPostgres();
  try {
    await one('SQLite', undefined, join(home, 'sqlite'));
    await one('PostgreSQL', pg.database('bench'), join(home, 'pg'));
  } finally {
    pg.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
