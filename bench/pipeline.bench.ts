// The formation-enthalpy pipeline against its baseline, side by side in one process: one pipeline
// call (steps chained inside the engine) vs the caller making the three calls itself and passing
// each output on; memo off (every step runs in a warm worker) and memo on (every step a hit); in
// process (no door) and through the local HTTP API on loopback, where the pipeline saves two round trips.
// BENCH_RUNTIME=docker|host (default host), BENCH_N calls per case (default 300).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dlhub } from '../main/api/dlhub.js';
import { createHttpDoor, listenOnTcp } from '../main/api/doors/http-door.js';
import { DLHubClient } from '../main/api/sdk.js';
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
    const opts = (noCache: boolean) => ({ runtime: RUNTIME, noCache } as const);
    type Calls = { pipeline: (noCache: boolean) => () => Promise<unknown>; byHand: (noCache: boolean) => () => Promise<unknown> };
    const inProcess: Calls = {
      pipeline: (noCache: boolean) => () => api.runServable({ name: 'formation-enthalpy', input, ...opts(noCache) }),
      byHand: (noCache: boolean) => async () => {
        const a = await api.runServable({ name: 'fe-parse', input, ...opts(noCache) });
        const b = await api.runServable({ name: 'fe-features', input: a.output, ...opts(noCache) });
        return api.runServable({ name: 'fe-predict', method: 'predict', input: [b.output], ...opts(noCache) });
      },
    };
    const token = 'pipeline-bench';
    const hosts = new Set<string>();
    const door = createHttpDoor(api, { guard: { token, hosts, origins: new Set() } });
    const port = await listenOnTcp(door, '127.0.0.1', 0);
    hosts.add(`127.0.0.1:${port}`);
    const client = DLHubClient.http({ baseUrl: `http://127.0.0.1:${port}`, token });
    const overHttp: Calls = {
      pipeline: (noCache: boolean) => () => client.run('formation-enthalpy', input, opts(noCache)),
      byHand: (noCache: boolean) => async () => {
        const a = await client.run('fe-parse', input, opts(noCache));
        const b = await client.run('fe-features', a, opts(noCache));
        return client.run('fe-predict', [b], { ...opts(noCache), method: 'predict' });
      },
    };
    // The two sides alternate call by call, so a slow spell of this shared machine hits both alike.
    const sideBySide = async (calls: Calls, noCache: boolean): Promise<[number[], number[]]> => {
      const a: number[] = [];
      const b: number[] = [];
      const one = calls.pipeline(noCache);
      const three = calls.byHand(noCache);
      await timeCalls(Math.min(50, N), async () => { await one(); await three(); }, 0);
      for (let i = 0; i < N; i++) {
        let t = performance.now();
        await one();
        a.push(performance.now() - t);
        t = performance.now();
        await three();
        b.push(performance.now() - t);
      }
      return [a, b];
    };
    try {
      for (const [where, calls] of [['in process', inProcess], ['HTTP API on loopback', overHttp]] as [string, Calls][]) {
        const [offPipe, offHand] = await sideBySide(calls, true);
        const [hitPipe, hitHand] = await sideBySide(calls, false);
        const rows = [
          { label: 'pipeline, memo off', samples: offPipe },
          { label: 'three calls by the caller, memo off', samples: offHand },
          { label: 'pipeline, memo hit (every step)', samples: hitPipe },
          { label: 'three calls by the caller, memo hit', samples: hitHand },
        ];
        printTable(`formation-enthalpy pipeline vs three sequential calls, ${RUNTIME} runtime, ${where} (${N} calls each)`, rows);
        const p50 = rows.map((r) => summarize(r.samples).p50);
        console.log(`${where}, p50 pipeline vs by hand: memo off ${fmt(p50[0] ?? NaN)} vs ${fmt(p50[1] ?? NaN)}; memo hit ${fmt(p50[2] ?? NaN)} vs ${fmt(p50[3] ?? NaN)}`);
      }
    } finally {
      await client.close();
      await door.stop(1000);
    }
  } finally {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
