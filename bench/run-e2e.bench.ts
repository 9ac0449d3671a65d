// End to end: `node bin/dlhub.js run noop --input …` answered from the memo cache by a fresh process,
// process start to answer, without and with `dlhub serve` running; beside bare `node` start-up and the in-process
// memo hit measured in this run. BENCH_RUNS (default 15) fresh processes per case; BENCH_PROFILE=1 also records a
// CPU profile of one fresh process and prints where its time went (by module and by function).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dlhub } from '../main/api/dlhub.js';
import { BIN, ROOT, dlhub, dlhubEnv, startService } from './service.js';
import { fmt, machineLine, summarize, timeCalls } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);
const INPUT = '"e2e memo hit"';
/** The bar `dlhub search` has for the same start-to-answer figure; `run` has none of its own. */
const BAR_MS = 500;

/** One fresh process: time to the answer on stdout and to exit, both from spawn. */
interface Fresh {
  answerMs: number;
  exitMs: number;
  stdout: string;
}

function fresh(args: string[], env: NodeJS.ProcessEnv, answer: string | undefined): Promise<Fresh> {
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    let answerMs = NaN;
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (Number.isNaN(answerMs) && answer !== undefined && stdout.includes(answer)) answerMs = performance.now() - started;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const exitMs = performance.now() - started;
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stdout}${stderr}`));
      else resolveRun({ answerMs: answer === undefined ? exitMs : answerMs, exitMs, stdout });
    });
  });
}

async function freshRuns(args: string[], env: NodeJS.ProcessEnv, answer: string | undefined, check: (f: Fresh) => void): Promise<Fresh[]> {
  await fresh(args, env, answer); // page cache and the OS's first-exec costs out of the figures
  const out: Fresh[] = [];
  for (let i = 0; i < RUNS; i++) {
    const f = await fresh(args, env, answer);
    check(f);
    out.push(f);
  }
  return out;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/**
 * Where a fresh process's CPU time went, from a V8 .cpuprofile: inclusive time per npm package (its loading shows as
 * node's module compiler under the package's own frames, so self time alone would hide it) and self time per function.
 */
function printProfile(file: string, wallMs: number): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { url, functionName, lineNumber } = n.callFrame;
    const fn = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(byId.get(x)?.callFrame.url ?? '')?.[1];
      if (pkg && !seen.has(pkg)) {
        seen.add(pkg);
        byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
      }
    }
  }
  const profiled = (prof.endTime - prof.startTime) / 1000;
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  console.log(`\nCPU profile of one fresh \`dlhub run\` (memo hit, no service): ${fmt(wallMs)} wall, ${fmt(profiled)} profiled (the rest is node start-up before the profiler)`);
  console.log('  inclusive time by npm package (loading and running; its dependencies count in it too):');
  for (const [m, ms] of top(byPackage, 10)) console.log(`    ${fmt(ms).padStart(10)}  ${m}`);
  console.log('  self time by function:');
  for (const [f, ms] of top(byFunction, 10)) console.log(`    ${fmt(ms).padStart(10)}  ${f}`);
}

function row(label: string, samples: number[], note = ''): void {
  const s = summarize(samples);
  console.log(`${label.padEnd(52)}  ${String(s.n).padStart(4)}  ${fmt(s.p50).padStart(10)}  ${fmt(Math.min(...samples)).padStart(10)}${note ? `  ${note}` : ''}`);
}

/** Build noop, fill the memo with one run, then time fresh memo-hit processes without and with the service. */
export async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'dlhub-bench-run-e2e-'));
  const scratch = mkdtempSync(join(tmpdir(), 'dlhub-bench-run-e2e-prof-'));
  const imagesBefore = new Set(spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
  try {
    dlhub(home, ['build', join(ROOT, 'examples', 'noop')]);
    const args = [BIN, 'run', 'noop', '--input', INPUT];
    const env = dlhubEnv(home);
    const first = dlhub(home, ['run', 'noop', '--input', INPUT]);
    if (!first.includes('hello world')) throw new Error(`the first run answered ${first}`);
    const isHit = (f: Fresh) => {
      if (!f.stdout.includes('hello world') || !f.stdout.includes('memo cache hit')) throw new Error(`not a memo hit: ${f.stdout}`);
    };

    const floor = await freshRuns(['-e', '0'], env, undefined, () => undefined);
    const alone = await freshRuns(args, env, 'hello world', isHit);

    // In process, same home: the memo hit itself, and a fresh Dlhub's first call (open + hit) with modules loaded.
    const openStart = performance.now();
    const api = new Dlhub({ home });
    let inProcess: number[];
    let firstCall: number;
    try {
      const r = await api.runServable({ name: 'noop', input: JSON.parse(INPUT) as unknown });
      firstCall = performance.now() - openStart;
      if (r.cached !== true) throw new Error('in-process call was not a memo hit');
      inProcess = await timeCalls(500, () => api.runServable({ name: 'noop', input: JSON.parse(INPUT) as unknown }));
    } finally {
      await api.close();
    }

    const service = await startService(home, {}, false);
    let served: Fresh[];
    try {
      served = await freshRuns(args, env, 'hello world', isHit);
    } finally {
      await service.stop();
    }

    console.log(`\n${machineLine()}`);
    console.log(`\`dlhub run noop --input ${INPUT}\`, memo hit, fresh process per run (${RUNS} runs after one untimed)`);
    console.log(`${'case'.padEnd(52)}  ${'n'.padStart(4)}  ${'p50'.padStart(10)}  ${'min'.padStart(10)}`);
    row('bare `node -e 0` (process floor)', floor.map((f) => f.exitMs));
    row('dlhub run, no service: start to answer', alone.map((f) => f.answerMs));
    row('dlhub run, no service: start to exit', alone.map((f) => f.exitMs));
    row('dlhub run, `dlhub serve` running: start to answer', served.map((f) => f.answerMs));
    row('dlhub run, `dlhub serve` running: start to exit', served.map((f) => f.exitMs));
    row('in process: new Dlhub + first call (modules loaded)', [firstCall]);
    row('in process: memo hit, warm Dlhub', inProcess);
    for (const [what, runs] of [['no service', alone], ['service running', served]] as const) {
      const p50 = summarize(runs.map((f) => f.answerMs)).p50;
      console.log(`${p50 < BAR_MS ? 'PASS' : 'MISS'}  ${what}: start to answer p50 ${fmt(p50)} < ${BAR_MS} ms (the bar set for \`dlhub search\`; none is set for \`run\`)`);
    }

    if (process.env['BENCH_PROFILE'] === '1') {
      const t = performance.now();
      await fresh(['--cpu-prof', `--cpu-prof-dir=${scratch}`, ...args], env, 'hello world');
      const wall = performance.now() - t;
      const file = readdirSync(scratch).find((f) => f.endsWith('.cpuprofile'));
      if (file) printProfile(join(scratch, file), wall);
    }
  } finally {
    const left = spawnSync('docker', ['ps', '-aq', '--filter', `label=org.dlhub.home=${home}`], { encoding: 'utf8' }).stdout.trim();
    if (left) spawnSync('docker', ['rm', '-f', ...left.split('\n')], { stdio: 'ignore' });
    const mine = spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((t) => t.startsWith('dlhub/noop:') && !imagesBefore.has(t));
    if (mine.length) spawnSync('docker', ['rmi', ...mine], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
