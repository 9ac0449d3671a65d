// 10,000 iris rows (BENCH_ROWS) through a single-node Slurm cluster started on this machine (pilot
// jobs on the host runtime, the spool on local disk) beside the same batch on the local Docker
// runtime, in the same run: submit to first answer, total, rows per second. Then the memory a
// 100,000-row batch (BENCH_MEMORY_ROWS) holds in the desktop process: `dlhub run --batch FILE --on`
// as a process of its own (its peak RSS beside the same command with one row), and the engine in
// this process (process.memoryUsage sampled during the call). BENCH_PART=speed or memory runs one
// part. Needs root, slurm-wlm and munge (scripts/setup.sh) and, for the speed part, a Docker engine.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dlhub } from '../main/api/dlhub.js';
import { runOnCluster } from '../main/cluster/batch.js';
import { RuntimeRegistry } from '../main/runtime/registry.js';
import { getLocal } from '../main/servable/registry.js';
import { homePaths } from '../main/storage/home.js';
import { startSlurm } from '../test/helpers/slurm.js';

const ROOT = resolve(import.meta.dirname, '..', import.meta.dirname.includes('/dist/') ? '..' : '');
const ROWS = Number(process.env['BENCH_ROWS'] ?? 10_000);
const MEMORY_ROWS = Number(process.env['BENCH_MEMORY_ROWS'] ?? 100_000);
const PART = process.env['BENCH_PART'];
const MB = 1024 * 1024;

function iris(n: number): number[][][] {
  return Array.from({ length: n }, (_, i) => [[4.3 + (i % 36) / 10, 2.0 + (i % 24) / 10, 1.0 + (i % 59) / 10, 0.1 + (i % 25) / 10]]);
}

function row(name: string, firstMs: number | undefined, totalMs: number, rows: number): string {
  return `${name.padEnd(44)} ${(firstMs === undefined ? '-' : firstMs.toFixed(0)).padStart(10)} ${totalMs.toFixed(0).padStart(10)} ${(rows / (totalMs / 1000)).toFixed(0).padStart(10)}`;
}

/** A kB figure of /proc/PID/status (VmRSS, VmHWM), in bytes; undefined once the process is gone. */
function procStatus(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Run `dlhub ARGS` as its own process (answers to a file), sampling its RSS; its peak RSS (VmHWM) and wall time. */
async function cliPeak(args: string[], env: Record<string, string>, out: string): Promise<{ peak: number; ms: number; code: number | null }> {
  const fd = openSync(out, 'w');
  const t = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'dlhub.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, procStatus(child.pid ?? 0, 'VmHWM') ?? 0);
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  return { peak, ms: performance.now() - t, code };
}

/** Call `fn` while sampling this process's RSS and heap every 50 ms; the peaks above what was held before. */
async function sampled<T>(fn: () => Promise<T>): Promise<{ value: T; rss: number; heap: number; ms: number }> {
  globalThis.gc?.();
  const before = process.memoryUsage();
  let rss = before.rss;
  let heap = before.heapUsed + before.external;
  const sample = (): void => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed + m.external);
  };
  const timer = setInterval(sample, 50);
  const t = performance.now();
  try {
    const value = await fn();
    sample();
    return { value, rss: rss - before.rss, heap: heap - before.heapUsed - before.external, ms: performance.now() - t };
  } finally {
    clearInterval(timer);
  }
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** The memory a MEMORY_ROWS batch holds in the desktop process (the CLI's own, and the engine's in this one). */
async function memoryPart(api: Dlhub, home: string, tmp: string, slurmConf: string): Promise<void> {
  const file = join(tmp, 'rows.json');
  writeFileSync(file, JSON.stringify(iris(MEMORY_ROWS)));
  const one = join(tmp, 'one.json');
  writeFileSync(one, JSON.stringify(iris(1)));
  const env = { DLHUB_HOME: home, SLURM_CONF: slurmConf, DLHUB_NO_SERVICE: '1' };
  const lines = [`${'case'.padEnd(58)} ${'peak'.padStart(10)} ${'seconds'.padStart(8)}`];
  // With the memo on, as a user runs it (nothing is there yet: every row is sent, and its answer kept).
  const base = await cliPeak(['run', 'iris', '--batch', one, '--on', 'local', '--no-cache', '--json'], env, join(tmp, 'one.out'));
  lines.push(`${'dlhub run --batch (1 row) --on local: peak RSS'.padEnd(58)} ${mb(base.peak).padStart(10)} ${(base.ms / 1000).toFixed(1).padStart(8)}`);
  // BENCH_MEMO=0: the same without the memo, to tell its share.
  const memo = process.env['BENCH_MEMO'] === '0' ? ['--no-cache'] : [];
  const big = await cliPeak(['run', 'iris', '--batch', file, '--on', 'local', ...memo, '--json'], env, join(tmp, 'rows.out'));
  if (big.code !== 0) throw new Error(`dlhub run --batch of ${MEMORY_ROWS} rows exited ${big.code}`);
  lines.push(`${`dlhub run --batch (${MEMORY_ROWS} rows, ${mb(statSync(file).size)} file) --on local`.padEnd(58)} ${mb(big.peak).padStart(10)} ${(big.ms / 1000).toFixed(1).padStart(8)}`);
  lines.push(`${'  held by the batch (peak RSS above the 1-row run)'.padEnd(58)} ${mb(big.peak - base.peak).padStart(10)}`);
  const answered = (JSON.parse(readFileSync(join(tmp, 'rows.out'), 'utf8')) as { output: unknown[] }).output.length;
  if (answered !== MEMORY_ROWS) throw new Error(`${answered} answers for ${MEMORY_ROWS} rows`);

  // The engine in this process (the service's case): the inputs already held by the caller, then the
  // call (memo off: the rows are in it now).
  const inputs = iris(MEMORY_ROWS);
  const s = await sampled(() => api.runServable({ name: 'iris', inputs, on: 'local', noCache: true }));
  lines.push(`${`engine in process (${MEMORY_ROWS} rows): RSS / heap+external peak above before`.padEnd(58)} ${`${mb(s.rss)} / ${mb(s.heap)}`.padStart(10)} ${(s.ms / 1000).toFixed(1).padStart(8)}`);
  console.log(lines.join('\n'));
}

/** Benchmark entry point (also run by `npm run bench hpc`). */
export async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'dlhub-bench-hpc-'));
  const home = join(tmp, 'home');
  const slurm = await startSlurm(join(tmp, 'slurm'));
  process.env['SLURM_CONF'] = slurm.conf;
  const api = new Dlhub({ home, settings: { idleMs: 600_000 } });
  try {
    await api.buildServable({ dir: join(ROOT, 'examples', 'iris'), ...(PART === 'memory' ? { runtime: 'host' as const } : {}) });
    const cluster = await api.addCluster({ name: 'local', scheduler: 'slurm', pilots: 2, runtime: 'host' });
    if (PART !== 'speed') await memoryPart(api, home, tmp, slurm.conf);
    if (PART === 'memory') return;
    const inputs = iris(ROWS);
    const lines = [`${'case'.padEnd(44)} ${'first ms'.padStart(10)} ${'total ms'.padStart(10)} ${'rows/s'.padStart(10)}`];

    // Docker: a cold worker's first answer (one row), then the whole batch on the warm worker.
    let t = performance.now();
    await api.runServable({ name: 'iris', inputs: inputs.slice(0, 1), runtime: 'docker', noCache: true });
    const dockerFirst = performance.now() - t;
    t = performance.now();
    await api.runServable({ name: 'iris', inputs, runtime: 'docker', noCache: true });
    lines.push(row('docker, local (first = cold 1-row call)', dockerFirst, performance.now() - t, ROWS));

    // The cluster through the engine (`on`), end to end: chunks, sbatch, pilots, gather into the memo.
    t = performance.now();
    // With the memo on (nothing is there yet): the answers land in it, so the last case below is all hits.
    await api.runServable({ name: 'iris', inputs, on: 'local' });
    lines.push(row(`slurm, ${cluster.pilots} pilots on host (engine, total)`, undefined, performance.now() - t, ROWS));

    // The same batch by the cluster module alone, for submit to first answer.
    const paths = homePaths(home);
    const registry = RuntimeRegistry.standard({ home, runDir: paths.run, logDir: paths.logs, defaults: { memoryBytes: 0, pidsLimit: 0 } });
    const spec = await registry.get('host').workerSpec(getLocal(paths, 'iris'), { memoryBytes: 0, pidsLimit: 0 });
    t = performance.now();
    const stats = await runOnCluster({ cluster, spec, method: 'run', inputs, gpus: 0, onItems: () => undefined });
    lines.push(row(`slurm, ${cluster.pilots} pilots, ${stats.chunks} chunks (spool only)`, stats.firstAnswerMs, performance.now() - t, ROWS));

    // Answered again: every row a memo hit, nothing sent to the cluster.
    t = performance.now();
    const hit = await api.runServable({ name: 'iris', inputs, on: 'local' });
    const hits = Array.isArray(hit.cached) ? hit.cached.filter(Boolean).length : 0;
    lines.push(row(`slurm, again (${hits} memo hits, no job)`, undefined, performance.now() - t, ROWS));
    console.log(lines.join('\n'));
  } finally {
    await api.close();
    await slurm.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
