import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Catalog } from '../main/catalog/catalog.js';
import { homePaths } from '../main/storage/home.js';
import { Fts5Baseline } from './catalog-fts5.js';
import { generateRecords } from './catalog-records.js';
import { summarize } from './stats.js';

/** One measured figure against its target. */
export interface CatalogBenchRow {
  what: string;
  p50: number;
  p95: number;
  target: string;
  met: boolean;
}

const N = Number(process.env['DLHUB_BENCH_RECORDS'] ?? 100_000);

// The same questions for both engines: [our query, advanced?, FTS5 MATCH expression].
const FREE_TEXT: [string, string][] = [
  ['crystal', 'crystal'], ['neural network', 'neural AND network'], ['"band gap"', '"band gap"'], ['protein docking ligand', 'protein AND docking AND ligand'],
  ['perovskite stability', 'perovskite AND stability'], ['Blaiszik', 'Blaiszik'], ['graph neural', 'graph AND neural'], ['spectroscopy', 'spectroscopy'],
  ['tomography segmentation', 'tomography AND segmentation'], ['supernova redshift', 'supernova AND redshift'],
];
const PREFIX: [string, string][] = [
  ['cr', 'cr*'], ['cry', 'cry*'], ['crys', 'crys*'], ['crystal', 'crystal*'], ['neural n', 'neural AND n*'], ['neural net', 'neural AND net*'],
  ['supe', 'supe*'], ['spectr', 'spectr*'], ['tomo', 'tomo*'], ['deep lea', 'deep AND lea*'],
];
const FIELD: [string, string][] = [
  ['servable.type:"Keras Model" AND dlhub.domains:chemistry', 'type:"keras model" AND domains:chemistry'],
  ['dlhub.domains:"materials science"', 'domains:"materials science"'],
  ['datacite.creators.creatorName:"Ward, Logan"', 'creators:"ward logan"'],
  ['dlhub.name:crys*', 'name:crys*'],
  ['servable.type:"Torch Model" AND NOT dlhub.domains:physics', 'type:"torch model" NOT domains:physics'],
  ['(dlhub.domains:biology OR dlhub.domains:medicine) AND servable.methods:predict', '(domains:biology OR domains:medicine) AND methods:predict'],
  ['dlhub.owner:loganward', 'owner:loganward'],
  ['servable.methods.input.type:ndarray AND datacite.titles.title:crystal', 'input_types:ndarray AND title:crystal'],
];

function time(fn: () => unknown, rounds: number): number[] {
  for (let i = 0; i < 3; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

function perQuery(queries: string[], run: (q: string) => unknown, rounds = 20): number[] {
  return queries.flatMap((q) => time(() => run(q), rounds));
}

type Row = (what: string, samples: number[], target: number | null) => void;

function rowMaker(rows: CatalogBenchRow[]): Row {
  return (what, samples, target) => {
    const s = summarize(samples);
    rows.push({ what, p50: +s.p50.toFixed(3), p95: +s.p95.toFixed(3), target: target === null ? '-' : `p95 < ${target} ms`, met: target === null || s.p95 < target });
  };
}

// Run in a fresh process, so load time and memory are what a user's start-up sees, not the importer's leftovers.
async function measureLoaded(dir: string): Promise<{ rows: CatalogBenchRow[]; rss: number; heap: number; rssAfter: number }> {
  const rows: CatalogBenchRow[] = [];
  const row = rowMaker(rows);
  const loadStart = performance.now();
  const catalog = Catalog.open(homePaths(dir));
  row(`index load from disk (${catalog.indexStatus.source})`, [performance.now() - loadStart], 1000);
  catalog.search('warm');
  const mem = process.memoryUsage();
  row('free text (ours)', perQuery(FREE_TEXT.map((q) => q[0]), (q) => catalog.search(q)), 10);
  row('prefix, as you type (ours)', perQuery(PREFIX.map((q) => q[0]), (q) => catalog.search(q)), 5);
  row('field query (ours)', perQuery(FIELD.map((q) => q[0]), (q) => catalog.search(q, { advanced: true })), 10);
  row('year range + type (ours)', time(() => catalog.search('dlhub.publication_year:[2018 TO 2020] AND servable.type:"Keras Model"', { advanced: true }), 100), 10);
  // Field queries decode every record once (to build their postings): the memory a long session settles at.
  const rssAfter = process.memoryUsage().rss;
  let k = 0;
  const extra = generateRecords(300, 7).map((r) => ({ ...r, dlhub: { ...r.dlhub, name: `${r.dlhub.name}-new` } }));
  row('add one record (validate, store, index)', time(() => catalog.upsert(extra[k++ % extra.length]), 200), 1);
  const flushStart = performance.now();
  catalog.flush();
  row('save index after a change', [performance.now() - flushStart], null);
  catalog.close();
  return { rows, rss: mem.rss, heap: mem.heapUsed, rssAfter };
}

/** Generate N records, import them, then in a fresh process load the index and time the queries the issue lists, against FTS5; prints and returns the table. */
export async function main(): Promise<CatalogBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-catalog-bench-'));
  const rows: CatalogBenchRow[] = [];
  const row = rowMaker(rows);
  try {
    let records = generateRecords(N);
    const file = join(dir, 'catalog.jsonl');
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const catalog = Catalog.open(homePaths(dir));
    const report = await catalog.import(file);
    row(`import ${N} records (validate, store, index, save)`, [report.ms], 10_000);
    if (report.skipped > 0) console.log(`warning: ${report.skipped} generated records were rejected, e.g. ${JSON.stringify(report.errors[0])}`);
    catalog.close();

    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (child.status !== 0) throw new Error(`bench child failed: ${child.stderr}`);
    const loaded = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as { rows: CatalogBenchRow[]; rss: number; heap: number; rssAfter: number };
    rows.push(...loaded.rows);

    const fts = new Fts5Baseline(join(dir, 'fts5.db'), records);
    records = [];
    row('free text (FTS5)', perQuery(FREE_TEXT.map((q) => q[1]), (q) => fts.search(q)), null);
    row('prefix, as you type (FTS5)', perQuery(PREFIX.map((q) => q[1]), (q) => fts.search(q)), null);
    row('field query (FTS5)', perQuery(FIELD.map((q) => q[1]), (q) => fts.search(q)), null);
    row('year range + type (FTS5)', time(() => fts.searchYears('type:"keras model"', 2018, 2020), 100), null);
    fts.close();

    const mib = (b: number): string => (b / 1048576).toFixed(0);
    const peak = Math.max(loaded.rss, loaded.rssAfter);
    console.log(`catalog bench: ${N} records; fresh process after index load: heapUsed ${mib(loaded.heap)} MiB, rss ${mib(loaded.rss)} MiB; ` +
      `after every query kind: rss ${mib(loaded.rssAfter)} MiB (target < 500 MiB: ${peak < 500 * 1048576 ? 'met' : 'MISSED'})`);
    console.table(rows);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--measure');
  if (at > 0) console.log(JSON.stringify(await measureLoaded(process.argv[at + 1] as string)));
  else await main();
}
