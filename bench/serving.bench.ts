// Serving, end to end as a user runs it (the DLHub paper's §V): fresh `dlhub build` and
// `dlhub serve --http` processes on a temporary DLHUB_HOME, a SageMaker-style Flask server in a hardened
// container beside it, and three clients: our own (one keep-alive connection, sequential), autocannon
// and Debian's wrk. Figures are printed beside the targets, the paper's and the earlier Unix-socket ones.
// BENCH_SECONDS (default 3) sets each load-tool run; BENCH_N (default 100) the sequential requests per case.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, machineLine, summarize } from './stats.js';
import { ROOT, dlhub, startService, type Service } from './service.js';
import { Client, startFloor, type Answer } from './http-client.js';
import { printLoad, runAutocannon, runWrk, wrkPath, type LoadRow, type LoadTarget } from './load-tools.js';
import { imageTags, startFlask } from './flask-baseline.js';

const N = Number(process.env['BENCH_N'] ?? 100);
const N_NOOP = Math.max(N, 1000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const WARMUP = 50;

/** Samples of one sequential case: request time (client), invocation time (the answer's elapsedMs), inference time when carried. */
interface CaseRow {
  label: string;
  request: number[];
  invocation: number[];
  inference: number[];
  note: string;
}

interface RunAnswer {
  result?: { output: unknown; cached: boolean | boolean[]; elapsedMs: number; inferenceMs?: number };
  error?: { code: string; message: string };
}

function parseRun(a: Answer, what: string): NonNullable<RunAnswer['result']> {
  const body = JSON.parse(a.text) as RunAnswer;
  if (a.status !== 200 || !body.result) throw new Error(`${what}: HTTP ${a.status} ${a.text.slice(0, 400)}`);
  return body.result;
}

async function sequentialDlhub(client: Client, label: string, path: string, body: unknown, n: number, expect: (r: NonNullable<RunAnswer['result']>) => boolean): Promise<CaseRow> {
  const text = JSON.stringify(body);
  for (let i = 0; i < WARMUP; i++) {
    const r = parseRun(await client.post(path, text), label);
    if (!expect(r)) throw new Error(`${label}: unexpected answer ${JSON.stringify(r).slice(0, 300)}`);
  }
  const row: CaseRow = { label, request: [], invocation: [], inference: [], note: '' };
  for (let i = 0; i < n; i++) {
    const a = await client.post(path, text);
    const r = parseRun(a, label);
    row.request.push(a.ms);
    row.invocation.push(r.elapsedMs);
    if (typeof r.inferenceMs === 'number') row.inference.push(r.inferenceMs);
  }
  return row;
}

async function sequentialPlain(client: Client, label: string, path: string, n: number, note: string): Promise<CaseRow> {
  const text = JSON.stringify({ input: 1 });
  for (let i = 0; i < WARMUP; i++) await client.post(path, text);
  const row: CaseRow = { label, request: [], invocation: [], inference: [], note };
  for (let i = 0; i < n; i++) {
    const a = await client.post(path, text);
    if (a.status !== 200 || !a.text.includes('hello world')) throw new Error(`${label}: HTTP ${a.status} ${a.text}`);
    row.request.push(a.ms);
  }
  return row;
}

function cell(samples: number[], q: 'p50' | 'p99' | 'mean'): string {
  return samples.length === 0 ? '-' : fmt(summarize(samples)[q]);
}

function printCases(rows: CaseRow[]): void {
  const w = Math.max(...rows.map((r) => r.label.length));
  const head = ['n', 'req p50', 'req p99', 'req mean', 'invoc p50', 'invoc p99', 'invoc mean', 'inference p50'];
  console.log(`${'case'.padEnd(w)}  ${head.map((h) => h.padStart(10)).join('  ')}`);
  for (const r of rows) {
    const cells = [
      String(r.request.length),
      cell(r.request, 'p50'),
      cell(r.request, 'p99'),
      cell(r.request, 'mean'),
      cell(r.invocation, 'p50'),
      cell(r.invocation, 'p99'),
      cell(r.invocation, 'mean'),
      r.inference.length ? cell(r.inference, 'p50') : 'not sent',
    ];
    console.log(`${r.label.padEnd(w)}  ${cells.map((c) => c.padStart(10)).join('  ')}${r.note ? `  (${r.note})` : ''}`);
  }
}

/**
 * Replicas start on demand (each a worker start of seconds on a busy machine): send rounds of 8 concurrent calls
 * (at least 5 rounds) until two rounds in a row answer within 3x the fastest round seen, so the measured run sees them all warm.
 */
async function warmReplicas(service: Service, path: string, body: string): Promise<void> {
  const client = new Client(service.url, { authorization: `Bearer ${service.token}` }, 8);
  try {
    let best = Infinity;
    let quick = 0;
    let rounds = 0;
    const deadline = Date.now() + 90_000;
    while ((quick < 2 || rounds < 5) && Date.now() < deadline) {
      rounds += 1;
      const t = performance.now();
      const answers = await Promise.all(Array.from({ length: 8 }, () => client.post(path, body)));
      const bad = answers.find((a) => a.status !== 200);
      if (bad) throw new Error(`warming replicas: HTTP ${bad.status} ${bad.text.slice(0, 300)}`);
      const ms = performance.now() - t;
      best = Math.min(best, ms);
      quick = ms <= best * 3 ? quick + 1 : 0;
    }
  } finally {
    client.close();
  }
}

const NOOP_INPUT = 1;
const IRIS_INPUT = [[5.1, 3.5, 1.4, 0.2]];
const PIPELINE_INPUT = 'Fe2O3';

/** Paper §V and earlier measurements, printed beside this run's figures. */
const REFERENCES = [
  'DLHub paper §V (Chard et al. 2019): request time < 40 ms for models, < 20 ms for Python test functions;',
  '  memoization cut invocation time by 95.3-99.8%; a memoized invocation took about 1 ms.',
  'Earlier here, `dlhub serve` over its Unix socket: no-op p50 0.31-0.38 ms, p99 2.7-4.3 ms; memo hit p50 0.23 ms;',
  '  Flask (SageMaker-style, hardened container) p50 0.92 ms.',
];

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

/** Build the servables, start the service and Flask, run every case; prints the tables. */
export async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'dlhub-bench-serving-'));
  const scratch = mkdtempSync(join(tmpdir(), 'dlhub-bench-serving-tmp-'));
  const before = imageTags();
  const built = ['noop', 'iris', 'fe-parse', 'fe-features', 'fe-predict'];
  let service: Service | undefined;
  let flask: { id: string; url: URL } | undefined;
  let floor: { url: URL; stop: () => void } | undefined;
  const clients: Client[] = [];
  try {
    const fe = join(ROOT, 'examples', 'formation-enthalpy');
    if (!existsSync(join(fe, 'predict', 'model.pkl'))) spawnSync('/usr/bin/python3', [join(fe, 'predict', 'train.py')], { stdio: 'ignore' });
    const t0 = performance.now();
    for (const dir of [join(ROOT, 'examples', 'noop'), join(ROOT, 'examples', 'iris'), join(fe, 'parse'), join(fe, 'features'), join(fe, 'predict'), fe]) {
      dlhub(home, ['build', dir]);
    }
    console.log(machineLine());
    console.log(`built noop, iris and the formation-enthalpy pipeline (3 steps) in ${((performance.now() - t0) / 1000).toFixed(1)} s (fresh \`dlhub build\` processes, DLHUB_HOME=${home})`);

    flask = await startFlask();
    service = await startService(home);
    const auth = { authorization: `Bearer ${service.token}` };
    const dl = new Client(service.url, auth);
    const fl = new Client(flask.url, {});
    floor = await startFloor();
    const fx = new Client(floor.url, {});
    clients.push(dl, fl, fx);
    const run = (name: string) => `/v1/servables/${encodeURIComponent(name)}/run`;
    const isHello = (r: { output: unknown }) => r.output === 'hello world';
    // One row of 3 class probabilities: an ndarray on the wire ({$ndarray: {shape}}), or nested lists.
    const isRows = (r: { output: unknown }) => {
      const o = r.output as { $ndarray?: { shape?: number[] } } | unknown[];
      return Array.isArray(o) ? o.length === 1 : JSON.stringify(o.$ndarray?.shape) === '[1,3]';
    };
    const isNumber = (r: { output: unknown }) => typeof r.output === 'number';
    const hit = (r: { cached: boolean | boolean[] }) => r.cached === true;
    const miss = (r: { cached: boolean | boolean[] }) => r.cached === false;

    // 1. Sequential requests, our own client.
    const rows: CaseRow[] = [];
    rows.push(await sequentialPlain(fl, 'Flask no-op (container)', '/invocations', N_NOOP, 'Werkzeug closes each connection; no server-side time'));
    rows.push(await sequentialDlhub(dl, 'dlhub no-op, memo off', run('noop'), { input: NOOP_INPUT, noCache: true }, N_NOOP, (r) => isHello(r) && miss(r)));
    rows.push(await sequentialDlhub(dl, 'dlhub no-op, memo hit', run('noop'), { input: NOOP_INPUT }, N_NOOP, (r) => isHello(r) && (hit(r) || miss(r))));
    rows.push(await sequentialDlhub(dl, 'dlhub iris, memo off', run('iris'), { input: IRIS_INPUT, noCache: true }, N, (r) => isRows(r) && miss(r)));
    rows.push(await sequentialDlhub(dl, 'dlhub iris, memo hit', run('iris'), { input: IRIS_INPUT }, N, isRows));
    rows.push(await sequentialDlhub(dl, 'dlhub pipeline, memo off', run('formation-enthalpy'), { input: PIPELINE_INPUT, noCache: true }, N, isNumber));
    rows.push(await sequentialDlhub(dl, 'dlhub pipeline, memo hit', run('formation-enthalpy'), { input: PIPELINE_INPUT }, N, isNumber));
    rows.push(await sequentialPlain(fx, 'node:http floor (fixed answer)', '/', N_NOOP, 'bare Node server, same machine, same run'));
    // Warm-up calls fill the memo, so every measured "hit" call must have been a hit: check the last answers.
    for (const [name, input] of [['noop', NOOP_INPUT], ['iris', IRIS_INPUT], ['formation-enthalpy', PIPELINE_INPUT]] as const) {
      const r = parseRun(await dl.post(run(name), JSON.stringify({ input })), name);
      if (r.cached !== true) throw new Error(`${name}: a repeated call was not a memo hit (cached=${JSON.stringify(r.cached)})`);
    }
    console.log(`\nSequential requests over one keep-alive connection (node:http client), HTTP API on loopback vs Flask; ${WARMUP} warm-up calls each`);
    printCases(rows);
    console.log('request = client-measured round trip; invocation = the answer\'s elapsedMs (engine time, server side); inference = the answer\'s inferenceMs (the model call alone, timed by the runner; 0 on a memo hit).');
    const [flaskRow, noopOff, noopHit, irisOff, irisHit, pipeOff, pipeHit, floorRow] = rows.map((r) => summarize(r.request));
    const invOf = (i: number) => summarize(rows[i]?.invocation ?? []).p50;
    const cut = (off: number, on: number) => `${(100 * (1 - on / off)).toFixed(1)}%`;
    console.log(`memoization cut invocation p50: no-op ${cut(invOf(1), invOf(2))}, iris ${cut(invOf(3), invOf(4))}, pipeline ${cut(invOf(5), invOf(6))} (paper: 95.3-99.8%)`);

    // 2. Load tools that did not come from this project.
    const targets: LoadTarget[] = [
      { name: 'Flask no-op', url: new URL('/invocations', flask.url).href, body: JSON.stringify({ input: NOOP_INPUT }), headers: {} },
      { name: 'dlhub no-op memo off', url: new URL(run('noop'), service.url).href, body: JSON.stringify({ input: NOOP_INPUT, noCache: true }), headers: auth },
      { name: 'dlhub no-op memo hit', url: new URL(run('noop'), service.url).href, body: JSON.stringify({ input: NOOP_INPUT }), headers: auth },
      { name: 'node:http floor', url: new URL('/', floor.url).href, body: JSON.stringify({ input: NOOP_INPUT }), headers: {} },
    ];
    const load: LoadRow[] = [];
    for (const connections of [1, 8]) for (const t of targets) load.push(await runAutocannon(t, connections, SECONDS));
    const wrk = wrkPath();
    if (wrk) for (const connections of [1, 8]) for (const t of targets) load.push(runWrk(wrk, scratch, t, connections, SECONDS));
    console.log(`\nLoad tools, ${SECONDS} s each (1 connection: latency; 8 connections: throughput)${wrk ? '' : '; wrk not on PATH, skipped'}`);
    printLoad(load);
    console.log('autocannon against Flask: Werkzeug answers HTTP/1.0-style with Connection: close, and autocannon\'s per-response time then');
    console.log('  includes its reconnect wait, so read its Flask latency as an artifact; its req/s and wrk\'s figures hold.');

    // 3. Explicit batches of no-op inputs, memo off.
    const batchRows: { size: number; samples: number[]; invocation: number[] }[] = [];
    for (const size of [1, 10, 100, 1000, 10_000]) {
      const body = JSON.stringify({ inputs: Array.from({ length: size }, (_, i) => i), noCache: true });
      const reps = size >= 10_000 ? 10 : size >= 1000 ? 20 : 50;
      const check = (r: NonNullable<RunAnswer['result']>) => Array.isArray(r.output) && r.output.length === size && r.output.every((o) => o === 'hello world');
      for (let i = 0; i < 3; i++) if (!check(parseRun(await dl.post(run('noop'), body), `batch ${size}`))) throw new Error(`batch ${size}: wrong answer`);
      const samples: number[] = [];
      const invocation: number[] = [];
      for (let i = 0; i < reps; i++) {
        const a = await dl.post(run('noop'), body);
        invocation.push(parseRun(a, `batch ${size}`).elapsedMs);
        samples.push(a.ms);
      }
      batchRows.push({ size, samples, invocation });
    }
    console.log('\nExplicit batches of no-op inputs as one request (`inputs`), memo off, client-measured');
    console.log(`${'inputs'.padStart(7)}  ${'reps'.padStart(4)}  ${'batch p50'.padStart(10)}  ${'per item'.padStart(10)}  ${'invoc p50'.padStart(10)}`);
    for (const b of batchRows) {
      const p50 = summarize(b.samples).p50;
      console.log(`${String(b.size).padStart(7)}  ${String(b.samples.length).padStart(4)}  ${fmt(p50).padStart(10)}  ${fmt(p50 / b.size).padStart(10)}  ${fmt(summarize(b.invocation).p50).padStart(10)}`);
    }
    const batch10k = summarize(batchRows.at(-1)?.samples ?? []).p50;

    // 4. Throughput with 1 to 4 replicas: iris, memo off, 8 connections, the service restarted per setting.
    await service.stop();
    service = undefined;
    const replicaRows: LoadRow[] = [];
    for (const replicas of [1, 2, 3, 4]) {
      service = await startService(home, { DLHUB_REPLICAS: String(replicas) });
      const t: LoadTarget = { name: `iris memo off, ${replicas} replica${replicas > 1 ? 's' : ''}`, url: new URL(run('iris'), service.url).href, body: JSON.stringify({ input: IRIS_INPUT, noCache: true }), headers: { authorization: `Bearer ${service.token}` } };
      await warmReplicas(service, run('iris'), JSON.stringify({ input: IRIS_INPUT, noCache: true }));
      replicaRows.push(await runAutocannon(t, 8, SECONDS));
      await service.stop();
      service = undefined;
    }
    console.log(`\nThroughput, iris memo off, autocannon 8 connections, ${SECONDS} s, service restarted with DLHUB_REPLICAS=1..4`);
    printLoad(replicaRows);

    // 5. Targets.
    console.log('\nTargets (HTTP API on loopback, this run) and references');
    const flaskP50 = flaskRow?.p50 ?? NaN;
    const lines: [string, string, boolean][] = [
      ['no-op p50 < 0.3 ms (memo off)', fmt(noopOff?.p50 ?? NaN), (noopOff?.p50 ?? Infinity) < 0.3],
      ['no-op p99 < 2 ms (memo off)', fmt(noopOff?.p99 ?? NaN), (noopOff?.p99 ?? Infinity) < 2],
      ['no-op p50 <= half Flask p50 (same run)', `${fmt(noopOff?.p50 ?? NaN)} vs Flask ${fmt(flaskP50)}`, (noopOff?.p50 ?? Infinity) <= flaskP50 / 2],
      ['memo hit p50 < 0.15 ms', fmt(noopHit?.p50 ?? NaN), (noopHit?.p50 ?? Infinity) < 0.15],
      // The door's own cost: everything a memo hit over HTTP takes beyond a bare Node server in this run.
      ['memo hit p50 <= 1.3x node:http floor', `${fmt(noopHit?.p50 ?? NaN)} vs floor ${fmt(floorRow?.p50 ?? NaN)} (${((noopHit?.p50 ?? NaN) / (floorRow?.p50 ?? NaN)).toFixed(2)}x)`, (noopHit?.p50 ?? Infinity) <= 1.3 * (floorRow?.p50 ?? 0)],
      ['10,000-input batch < 250 ms', fmt(batch10k), batch10k < 250],
      ['models: request p50 < 40 ms (paper)', `iris ${fmt(irisOff?.p50 ?? NaN)}, pipeline ${fmt(pipeOff?.p50 ?? NaN)}`, Math.max(irisOff?.p50 ?? Infinity, pipeOff?.p50 ?? Infinity) < 40],
      ['memo hit invocation ~1 ms (paper)', `no-op ${fmt(invOf(2))}, iris ${fmt(invOf(4))}, pipeline ${fmt(invOf(6))}`, Math.max(invOf(2), invOf(4), invOf(6)) <= 1],
    ];
    for (const [what, figure, ok] of lines) console.log(`${verdict(ok)}  ${what.padEnd(40)}  ${figure}`);
    const wrkP50 = (name: string) => load.find((r) => r.tool === 'wrk' && r.connections === 1 && r.target === name)?.p50 ?? NaN;
    if (wrk) console.log(`      wrk, 1 connection, p50: no-op memo off ${fmt(wrkP50('dlhub no-op memo off'))}, memo hit ${fmt(wrkP50('dlhub no-op memo hit'))}, Flask ${fmt(wrkP50('Flask no-op'))}, node:http floor ${fmt(wrkP50('node:http floor'))}`);
    console.log(`      memo hit request p50: iris ${fmt(irisHit?.p50 ?? NaN)}, pipeline ${fmt(pipeHit?.p50 ?? NaN)}`);
    console.log(`      node:http floor p50 ${fmt(floorRow?.p50 ?? NaN)}, p99 ${fmt(floorRow?.p99 ?? NaN)} (a bare Node server on this machine in this run: the least any Node door can take)`);
    for (const r of REFERENCES) console.log(r);
  } finally {
    for (const c of clients) c.close();
    if (service) await service.stop().catch(() => undefined);
    if (flask) spawnSync('docker', ['rm', '-f', flask.id], { stdio: 'ignore' });
    floor?.stop();
    // Workers the service left behind (it stops them itself; this only sweeps a crash's leftovers), then only the
    // images this run's builds created: a tag that existed before the run is someone else's.
    const left = spawnSync('docker', ['ps', '-aq', '--filter', `label=org.dlhub.home=${home}`], { encoding: 'utf8' }).stdout.trim();
    if (left) spawnSync('docker', ['rm', '-f', ...left.split('\n')], { stdio: 'ignore' });
    const mine = [...imageTags()].filter((t) => !before.has(t) && built.some((b) => t.startsWith(`dlhub/${b}:`)));
    if (mine.length) spawnSync('docker', ['rmi', ...mine], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
