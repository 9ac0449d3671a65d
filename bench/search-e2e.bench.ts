// End to end: a fresh `node bin/dlhub.js search ...` process against a 100,000-record catalog, start to answer, beside
// bare `node` start-up, the catalog's open in a fresh process and the in-process query, all measured in this run.
// A saved index that does not load (the catalog rebuilds it) fails the benchmark: that is the slow path users hit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Catalog } from '../main/catalog/catalog.js';
import { homePaths } from '../main/storage/home.js';
import { generateRecords } from './catalog-records.js';
import { summarize } from './stats.js';

const N = Number(process.env['DLHUB_BENCH_RECORDS'] ?? 100_000);
const RUNS = Number(process.env['DLHUB_BENCH_RUNS'] ?? 7);
const TARGET_MS = 500;
// From dist/bench/ (where `npm run bench` runs this) up to the repository, whose bin/dlhub.js loads dist/.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const QUERIES: { args: string[]; advanced: boolean; text: string }[] = [
  { args: ['crystal'], advanced: false, text: 'crystal' },
  { args: ['neural', 'net'], advanced: false, text: 'neural net' },
  { args: ['--advanced', 'servable.type:"Keras Model" AND dlhub.domains:chemistry'], advanced: true, text: 'servable.type:"Keras Model" AND dlhub.domains:chemistry' },
];

/** One figure of the end-to-end table. */
export interface SearchE2eRow {
  what: string;
  min: number;
  p50: number;
  target: string;
}

interface Opened {
  status: { source: string; reason?: string; ms: number };
  openMs: number;
  queryMs: Record<string, number[]>;
}

// In a fresh process, as the CLI would: open the catalog, then time each query in that process.
function measureInProcess(dir: string): Opened {
  const started = performance.now();
  const catalog = Catalog.open(homePaths(dir));
  const openMs = performance.now() - started;
  const queryMs: Record<string, number[]> = {};
  for (const q of QUERIES) {
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      catalog.search(q.text, { advanced: q.advanced });
      samples.push(performance.now() - t);
    }
    queryMs[q.text] = samples;
  }
  const status = { ...catalog.indexStatus };
  catalog.close();
  return { status, openMs, queryMs };
}

function wall(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ms: number; stdout: string; stderr: string; status: number | null } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 24, cwd: ROOT });
  return { ms: performance.now() - t, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

class BenchFailure extends Error {}

/** Build the catalog, then time fresh CLI searches; throws (exit non-zero) when the saved index is rebuilt instead of loaded. */
export async function main(): Promise<SearchE2eRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-search-e2e-'));
  const rows: SearchE2eRow[] = [];
  const row = (what: string, samples: number[], target: number | null): void => {
    const s = summarize(samples);
    rows.push({ what, min: +Math.min(...samples).toFixed(1), p50: +s.p50.toFixed(1), target: target === null ? '-' : `p50 < ${target} ms` });
  };
  try {
    const file = join(dir, 'catalog.jsonl');
    writeFileSync(file, generateRecords(N).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const catalog = Catalog.open(homePaths(dir));
    const report = await catalog.import(file);
    catalog.close();
    rmSync(file);
    if (report.skipped > 0) throw new BenchFailure(`${report.skipped} generated records were rejected, e.g. ${JSON.stringify(report.errors[0])}`);
    const indexFile = homePaths(dir).catalogIndex;
    const savedAt = statSync(indexFile).mtimeMs;

    // The catalog's own open and queries, in a fresh process (this file with --measure).
    const child = wall(process.execPath, [fileURLToPath(import.meta.url), '--measure', dir], process.env);
    if (child.status !== 0) throw new BenchFailure(`in-process measurement failed: ${child.stderr}`);
    const opened = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as Opened;
    if (opened.status.source === 'rebuilt') throw new BenchFailure(`the saved index was rebuilt at open (${opened.status.reason ?? 'no reason given'}): every search pays a rebuild`);

    const node = Array.from({ length: RUNS }, () => wall(process.execPath, ['-e', ''], process.env).ms);
    row('bare node start-up (baseline)', node, null);
    // What the CLI's imports cost before any command runs (dockerode, gRPC, TypeBox, ajv...): outside the catalog.
    const cliUrl = pathToFileURL(join(ROOT, 'dist/main/cli/main.js')).href;
    row('node + import the CLI, no command', Array.from({ length: RUNS }, () => wall(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(cliUrl)})`], process.env).ms), null);
    row(`catalog open in a fresh process (${opened.status.source})`, [opened.openMs], null);

    // No Docker for a search: a socket that does not exist makes any accidental Docker call fail fast instead of waiting.
    const env = { ...process.env, DLHUB_HOME: dir, DLHUB_DEBUG: '1', DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
    for (const q of QUERIES) {
      const samples: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = wall(process.execPath, [join(ROOT, 'bin/dlhub.js'), 'search', ...q.args], env);
        if (r.status !== 0) throw new BenchFailure(`dlhub search ${q.args.join(' ')} exited ${String(r.status)}: ${r.stderr}`);
        const said = /catalog index (\w[\w-]*)/.exec(r.stderr);
        if (!said) throw new BenchFailure(`dlhub search did not report how it opened the catalog index (DLHUB_DEBUG): ${r.stderr}`);
        if (said[1] === 'rebuilt') throw new BenchFailure(`dlhub search rebuilt the saved index instead of loading it: ${r.stderr.trim()}`);
        samples.push(r.ms);
      }
      row(`dlhub search ${q.args.join(' ')} (fresh process, start to answer)`, samples, TARGET_MS);
      row(`  same query in process`, opened.queryMs[q.text] ?? [], null);
    }
    if (statSync(indexFile).mtimeMs !== savedAt) throw new BenchFailure('a search rewrote the saved index: it was not usable as saved');

    console.log(`search end to end: ${N} records, ${RUNS} runs each; target: fresh-process search p50 < ${TARGET_MS} ms`);
    console.table(rows);
    const missed = rows.filter((r) => r.target !== '-' && r.p50 >= TARGET_MS);
    console.log(missed.length === 0 ? 'target met' : `target MISSED by: ${missed.map((r) => r.what.trim()).join('; ')}`);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--measure');
  if (at > 0) console.log(JSON.stringify(measureInProcess(process.argv[at + 1] as string)));
  else await main();
}
