// `node dist/bench/hub.bench.js`: a sync of DLHUB_BENCH_RECORDS (100,000) records from empty into a
// fresh catalog, the previous way beside the current one, and of 100 changes (bench/hub-sync.ts); then
// the hub server on loopback, on SQLite and on PostgreSQL (a private cluster of Debian's binaries):
// publish latency (metadata only; the image push is not the hub's), and feed pages, searches and
// record reads by 50 concurrent clients in a process of their own, at a bounded rate and flat out
// (p50/p95 per request, requests a second).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, type RunningHub } from '../hub/server.js';
import { hashPassword } from '../hub/secrets.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { generateRecords } from './catalog-records.js';
import { loadFromChild } from './hub-load.js';
import { syncBench } from './hub-sync.js';
import { fmt, printTable, summarize } from './stats.js';

const RECORDS = Number(process.env['DLHUB_BENCH_RECORDS'] ?? 100_000);

const CLIENTS = 50;
const SECONDS = 3;
const SEEDED = 2000;
/** Requests a second per client in the bounded runs: 50 clients, 100 requests a second in all. */
const RATE = 2;

async function token(hub: RunningHub): Promise<string> {
  const res = await fetch(`${hub.url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'pw' }) });
  return ((await res.json()) as { result: { token: string } }).result.token;
}

const digest = (i: number): string => `sha256:${i.toString(16).padStart(64, '0')}`;

const WORDS = ['crystal', 'neural network', 'protein', 'band gap', 'perovskite', 'galaxy', 'tomography', 'solvent'];

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
    // Records as DLHub's are (bench/catalog-records.ts, ~1.7 kB of metadata each), published through the store.
    for (const [i, md] of generateRecords(SEEDED).entries()) {
      const metadata = { ...md, dlhub: { ...md.dlhub, name: `m-${i}`, owner: undefined, version: undefined } };
      await hub.store.publish({ user: 'alice', owner: 'alice', name: `m-${i}`, version: undefined, metadata, repository: `alice/m-${i}`, digest: digest(i), contentKey: `c${i}`, visibility: 'public', idempotencyKey: undefined, now: Date.now() });
    }
    const paths = {
      'feed page of 100': Array.from({ length: 64 }, (_, i) => `/v1/changes?since=${(i * 37) % SEEDED}&limit=100`),
      'search of 20': WORDS.map((w) => `/v1/servables?q=${encodeURIComponent(w)}&limit=20`),
      record: Array.from({ length: 64 }, (_, i) => `/v1/servables/alice/m-${(i * 31) % SEEDED}`),
    };
    const rows: { label: string; samples: number[] }[] = [{ label: 'publish (sequential)', samples: publishes }];
    const p95s: string[] = [];
    for (const [what, list] of Object.entries(paths)) {
      for (const rate of [RATE, 0]) {
        const r = await loadFromChild({ url: hub.url, token: auth, paths: list, clients: CLIENTS, rate, seconds: SECONDS });
        const how = rate > 0 ? `at ${rate}/s each` : 'flat out';
        rows.push({ label: `${what}, ${how} (${Math.round(r.perSecond)}/s${r.failed > 0 ? `, ${r.failed} failed` : ''})`, samples: r.samples });
        p95s.push(`${what} ${how} p95 ${fmt(summarize(r.samples).p95)}`);
      }
    }
    printTable(`hub on ${label} (${CLIENTS} clients, ${SECONDS} s each, clients in a process of their own; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`, rows);
    console.log(p95s.join('; '));
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
