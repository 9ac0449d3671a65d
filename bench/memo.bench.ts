import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { memoKey } from '../main/memo/key.js';
import { MemoCache } from '../main/memo/memo-cache.js';

/** Latency percentiles of one measured path, in microseconds. */
export interface MemoBenchRow {
  path: string;
  ops: number;
  p50: number;
  p95: number;
  p99: number;
}

const OPS = 20_000;
const VALUE_BYTES = 1024;

// A typical small tabular input: a few named fields and a feature vector.
function inputOf(i: number): { json: unknown; buffers: Buffer[] } {
  return { json: { sample: `s-${i}`, features: [i, i * 0.5, i % 7, 1.25, -3, i / 3, 0, 42], options: { scale: true } }, buffers: [] };
}
function valueOf(i: number): Buffer {
  return Buffer.alloc(VALUE_BYTES, i % 251);
}
const keyOf = (i: number) => memoKey({ digest: 'sha256:bench', method: 'run', input: inputOf(i) });

function measure(path: string, ops: number, op: (i: number) => void): MemoBenchRow {
  for (let i = 0; i < Math.min(500, ops); i++) op(i); // warm the JIT and the statement caches
  const samples = new Float64Array(ops);
  for (let i = 0; i < ops; i++) {
    const start = process.hrtime.bigint();
    op(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  const at = (q: number) => Math.round((samples[Math.min(ops - 1, Math.floor(q * ops))] ?? 0) * 10) / 10;
  return { path, ops, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** Measure memo hits, misses (with their put) and an in-memory Map floor side by side; prints and returns the table. */
export function main(): MemoBenchRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-memo-bench-'));
  const cache = MemoCache.open(join(dir, 'memo.db'));
  try {
    // Warm-up ops use inputs past OPS so the measured misses are real misses.
    const rows: MemoBenchRow[] = [];
    rows.push(
      measure('memo miss: key + get + put', OPS, (i) => {
        const n = i + OPS;
        const key = keyOf(n);
        if (cache.get(key) === undefined) cache.put(key, { servable: 'bench/model', method: 'run', value: valueOf(n) });
      }),
    );
    rows.push(
      measure('memo hit: key + get', OPS, (i) => {
        if (cache.get(keyOf(i + OPS)) === undefined) throw new Error(`bench: entry ${i} missing`);
      }),
    );
    // A warm working set (the same 256 inputs asked again and again, as a service sees): the in-memory copy of hot
    // entries in front of SQLite, beside a second connection to the same file that reads SQLite every time (as before).
    const sqliteOnly = MemoCache.open(join(dir, 'memo.db'), { hotEntries: 0 });
    const warmKeys = Array.from({ length: 256 }, (_, i) => keyOf(i + OPS));
    try {
      rows.push(
        measure('warm hit: get, SQLite only (before)', OPS, (i) => {
          if (sqliteOnly.get(warmKeys[i % 256] as Buffer) === undefined) throw new Error(`bench: entry ${i} missing`);
        }),
      );
      rows.push(
        measure('warm hit: get, in-memory copy (now)', OPS, (i) => {
          if (cache.get(warmKeys[i % 256] as Buffer) === undefined) throw new Error(`bench: entry ${i} missing`);
        }),
      );
    } finally {
      sqliteOnly.close();
    }
    const map = new Map<string, Buffer>();
    for (let i = 0; i < OPS; i++) map.set(keyOf(i).toString('latin1'), valueOf(i));
    rows.push(
      measure('Map floor: key + Map.get', OPS, (i) => {
        if (map.get(keyOf(i).toString('latin1')) === undefined) throw new Error(`bench: map entry ${i} missing`);
      }),
    );
    const stats = cache.stats();
    console.log(`memo cache, ${OPS} ops, ${VALUE_BYTES} B values (${stats.entries} entries, ${(stats.bytes / 1048576).toFixed(1)} MiB)`);
    console.table(rows.map((r) => ({ path: r.path, 'p50 µs': r.p50, 'p95 µs': r.p95, 'p99 µs': r.p99 })));
    const hit = rows[1];
    if (hit) console.log(`target: hit p50 < 50 µs -> ${hit.p50 < 50 ? 'met' : 'MISSED'} (${hit.p50} µs)`);
    return rows;
  } finally {
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
