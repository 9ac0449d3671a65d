// The hub's change feed into a fresh desktop catalog. The hub runs in a process of its own, seeded
// with N public records (bench/catalog-records.ts) straight into its SQLite store; the desktop side
// is this process. Each way of syncing gets a fresh home and is timed from the first request to the
// last page filed (searchable), with the CPU both processes spent, then the index save at close.
// Run as a script (`node dist/bench/hub-sync.js HOME N`), this file is that hub: it prints its URL,
// and on "more K" in standard input publishes K more records and answers "ok".
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { startHub } from '../hub/server.js';
import { Catalog } from '../main/catalog/catalog.js';
import { hubApi } from '../main/hub/hub-api.js';
import { pageOps, syncCatalog } from '../main/hub/sync.js';
import { ensureHome, homePaths } from '../main/storage/home.js';
import { openStateDb } from '../main/storage/state-db.js';
import { generateRecords } from './catalog-records.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** A seeded hub in its own process. */
interface SeededHub {
  url: string;
  /** CPU milliseconds the hub process has used so far (user + system, from /proc). */
  cpuMs(): number;
  /** Publish `k` more records (new versions of new names); resolves once they are in the feed. */
  more(k: number): Promise<void>;
  stop(): Promise<void>;
}

function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

async function startSeededHub(home: string, n: number): Promise<SeededHub> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), home, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let exited: Error | undefined;
  const waiting = new Set<(err: Error) => void>();
  child.once('exit', (code) => {
    exited = new Error(`the bench hub exited (${code})`);
    for (const fail of waiting) fail(exited);
  });
  const nextLine = (): Promise<string> => new Promise((resolve, reject) => {
    if (exited) return reject(exited);
    waiting.add(reject);
    lines.once('line', (line: string) => {
      waiting.delete(reject);
      resolve(line);
    });
  });
  const url = await nextLine();
  return {
    url,
    cpuMs: () => cpuOf(child.pid as number),
    async more(k) {
      const answer = nextLine();
      child.stdin?.write(`more ${k}\n`);
      await answer;
    },
    async stop() {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

// The hub side: seed, print the URL, answer "more K".
async function serveSeeded(home: string, n: number): Promise<void> {
  const hub = await startHub({ home, port: 0, registry: 'none', ratePerMinute: 0 });
  let serial = 0;
  const insert = async (records: ReturnType<typeof generateRecords>, prefix: string): Promise<void> => {
    await hub.store.sql.tx(async (sql) => {
      const names = new Set<string>();
      for (const md of records) {
        serial++;
        const { owner = 'bench', version = '1' } = md.dlhub;
        const name = `${prefix}${md.dlhub.name}`;
        if (!names.has(`${owner}/${name}`)) {
          names.add(`${owner}/${name}`);
          await sql.query('INSERT INTO hub_names (owner, name, visibility, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [owner, name, '"public"', 1]);
        }
        const dlhub: Record<string, unknown> = { ...md.dlhub, name };
        delete dlhub['owner'];
        delete dlhub['version'];
        await sql.query(
          'INSERT INTO hub_versions (owner, name, version, seq, metadata, repository, digest, content_key, created_at, updated_at, deleted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 0)',
          [owner, name, version, serial, JSON.stringify({ ...md, dlhub }), `${owner}/${name}`, DIGEST, `c${serial}`, Date.now()],
        );
        await sql.query('INSERT INTO hub_changes (owner, name, version, kind, was) VALUES ($1, $2, $3, $4, $5)', [owner, name, version, 'publish', null]);
      }
    });
  };
  await insert(generateRecords(n), '');
  process.stdout.write(`${hub.url}\n`);
  let round = 0;
  createInterface({ input: process.stdin }).on('line', (line) => {
    const k = Number(/^more (\d+)$/.exec(line)?.[1] ?? 0);
    round++;
    void insert(generateRecords(k, 1000 + round), `r${round}-`).then(() => process.stdout.write('ok\n'));
  });
  process.on('SIGTERM', () => void hub.stop().then(() => process.exit(0)));
}

/** The sync as it was: pages of 500, each asked for after the last was filed, SQLite checkpointing as it goes. */
async function previousSync(url: string, catalog: Catalog): Promise<number> {
  const api = hubApi(url);
  let cursor = '0';
  let pages = 0;
  for (;;) {
    const page = await api.changes(cursor, 500);
    const ops = pageOps(page);
    catalog.applyFeed(ops.put, ops.remove, (db: Database.Database) => {
      db.prepare('INSERT INTO hub_sync (hub, user, cursor, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (hub, user) DO UPDATE SET cursor = excluded.cursor').run(url, '', page.next, new Date().toISOString());
    });
    pages++;
    cursor = page.next;
    if (!page.more || page.changes.length === 0) return pages;
  }
}

/** One sync's figures. */
export interface SyncFigures {
  way: string;
  records: number;
  /** First request to last page filed (the catalog searchable), ms. */
  wallMs: number;
  /** CPU this process (all threads) and the hub process spent meanwhile, ms. */
  desktopCpuMs: number;
  hubCpuMs: number;
  /** Saving the search index at close, ms. */
  closeMs: number;
  /** Hits for a probe word, equal across ways when they filed the same records. */
  probe: number;
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Sync N records from empty the previous way and the current way, then 100 changes (median of `rounds`). */
export async function syncBench(n: number, rounds = 5): Promise<{ full: SyncFigures[]; changes: number[] }> {
  const root = mkdtempSync(join(tmpdir(), 'dlhub-hub-sync-bench-'));
  const hub = await startSeededHub(join(root, 'hub'), n);
  const full: SyncFigures[] = [];
  const changes: number[] = [];
  try {
    const ways: [string, (catalog: Catalog, stateDb: Database.Database) => Promise<unknown>][] = [
      ['previous (pages of 500, one after another, checkpoints as it goes)', (catalog) => previousSync(hub.url, catalog)],
      ['now (pages of 1000, next asked ahead, checkpoint at the end)', (catalog, stateDb) => syncCatalog({ hub: hub.url, token: undefined, user: '' }, stateDb, catalog)],
    ];
    for (const [i, [way, run]] of ways.entries()) {
      const paths = ensureHome(homePaths(join(root, `desk-${i}`)));
      const catalog = Catalog.open(paths);
      const stateDb = openStateDb(paths.stateDb);
      const hub0 = hub.cpuMs();
      const cpu0 = cpuNow();
      const t = performance.now();
      await run(catalog, stateDb);
      const wallMs = performance.now() - t;
      const figures = { way, records: catalog.size, wallMs, desktopCpuMs: cpuNow() - cpu0, hubCpuMs: hub.cpuMs() - hub0, probe: catalog.search('crystal').total };
      if (i === ways.length - 1) {
        // 100 changes on top of the synced catalog, as the timer's sync meets them.
        for (let r = 0; r < rounds; r++) {
          await hub.more(100);
          const t1 = performance.now();
          const out = await syncCatalog({ hub: hub.url, token: undefined, user: '' }, stateDb, catalog);
          changes.push(performance.now() - t1);
          if (out.upserted !== 100) throw new Error(`the 100-change sync filed ${out.upserted}`);
        }
      }
      const t2 = performance.now();
      catalog.close();
      stateDb.close();
      full.push({ ...figures, closeMs: performance.now() - t2 });
    }
  } finally {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return { full, changes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serveSeeded(process.argv[2] as string, Number(process.argv[3]));
