// The formation-enthalpy pipeline against its baseline, side by side in one process: one pipeline
// call (steps chained inside the engine) vs the caller making the three calls itself and passing
// each output on; memo off (every step runs in a warm worker) and memo on (every step a hit).
// BENCH_RUNTIME=docker|host (default host), BENCH_N calls per case (default 300).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dlhub } from '../main/api/dlhub.js';
import { printTable, summarize, fmt, timeCalls } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..', import.meta.dirname.includes('/dist/') ? '..' : '');
const EXAMPLE = join(ROOT, 'examples', 'formation-enthalpy');
const N = Number(process.env['BENCH_N'] ?? 300);
const RUNTIME = process.env['BENCH_RUNTIME'] === 'docker' ? 'docker' : 'host';

/** Benchmark entry point (also run by `npm run bench pipeline`). */
export async function main(): Promise<void> {
  if (!existsSync(join(EXAMPLE, 'predict', 'model.pkl'))) execFileSync('/usr/bin/python3', [join(EXAMPLE, 'predict', 'train.py')], { stdio: 'ignore' });
  const home = mkdtempSync(join(tmpdir(), 'dlhub-bench-pipeline-'));
  const api = new Dlhub({ home, settings: { idleMs: 600_000 } });
  try {
    for (const dir of ['parse', 'features', 'predict', '.']) {
      await api.buildServable({ dir: join(EXAMPLE, dir), runtime: RUNTIME === 'host' ? 'host' : undefined });
    }
    const input = 'Fe2O3';
    const pipeline = (noCache: boolean) => () => api.runServable({ name: 'formation-enthalpy', input, runtime: RUNTIME, noCache });
    const byHand = (noCache: boolean) => async () => {
      const a = await api.runServable({ name: 'fe-parse', input, runtime: RUNTIME, noCache });
      const b = await api.runServable({ name: 'fe-features', input: a.output, runtime: RUNTIME, noCache });
      return api.runServable({ name: 'fe-predict', method: 'predict', input: [b.output], runtime: RUNTIME, noCache });
    };
    // Interleaved per case so a slow spell of the machine hits both sides alike.
    const rows = [
      { label: 'pipeline, memo off', samples: await timeCalls(N, pipeline(true)) },
      { label: 'three calls by the caller, memo off', samples: await timeCalls(N, byHand(true)) },
      { label: 'pipeline, memo hit (every step)', samples: await timeCalls(N, pipeline(false)) },
      { label: 'three calls by the caller, memo hit', samples: await timeCalls(N, byHand(false)) },
    ];
    printTable(`formation-enthalpy pipeline vs three sequential calls, ${RUNTIME} runtime, in process (${N} calls each)`, rows);
    const p50 = rows.map((r) => summarize(r.samples).p50);
    console.log(`pipeline / by hand, p50: memo off ${fmt(p50[0] ?? NaN)} vs ${fmt(p50[1] ?? NaN)}; memo hit ${fmt(p50[2] ?? NaN)} vs ${fmt(p50[3] ?? NaN)}`);
  } finally {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
