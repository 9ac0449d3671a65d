// 10,000 iris rows (BENCH_ROWS) through a single-node Slurm cluster started on this machine (pilot
// jobs on the host runtime, the spool on local disk) beside the same batch on the local Docker
// runtime, in the same run: submit to first answer, total, rows per second. Needs root, slurm-wlm and
// munge (scripts/setup.sh) and a Docker engine.
import { mkdtempSync, rmSync } from 'node:fs';
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

function iris(n: number): number[][][] {
  return Array.from({ length: n }, (_, i) => [[4.3 + (i % 36) / 10, 2.0 + (i % 24) / 10, 1.0 + (i % 59) / 10, 0.1 + (i % 25) / 10]]);
}

function row(name: string, firstMs: number | undefined, totalMs: number, rows: number): string {
  return `${name.padEnd(44)} ${(firstMs === undefined ? '-' : firstMs.toFixed(0)).padStart(10)} ${totalMs.toFixed(0).padStart(10)} ${(rows / (totalMs / 1000)).toFixed(0).padStart(10)}`;
}

/** Benchmark entry point (also run by `npm run bench hpc`). */
export async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'dlhub-bench-hpc-'));
  const home = join(tmp, 'home');
  const slurm = await startSlurm(join(tmp, 'slurm'));
  process.env['SLURM_CONF'] = slurm.conf;
  const api = new Dlhub({ home, settings: { idleMs: 600_000 } });
  try {
    await api.buildServable({ dir: join(ROOT, 'examples', 'iris') });
    const cluster = await api.addCluster({ name: 'local', scheduler: 'slurm', pilots: 2 });
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
