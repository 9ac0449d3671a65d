import { availableParallelism, loadavg } from 'node:os';

/** Percentiles of a list of durations in milliseconds. */
export function summarize(samples: number[]): { n: number; p50: number; p95: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}

/** Time `n` sequential calls of `fn`, after `warmup` untimed ones. */
export async function timeCalls(n: number, fn: () => unknown, warmup = Math.min(50, n)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** Format a duration in ms with a unit that keeps 3 significant figures readable. */
export function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return `${(ms * 1000).toFixed(1)} µs`;
  if (ms < 1000) return `${ms.toFixed(2)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Print rows of (label, samples) as a table of p50/p95/p99, side by side. */
export function printTable(title: string, rows: { label: string; samples: number[] }[]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.label.length), 10);
  console.log(`${'case'.padEnd(w)}  ${'n'.padStart(6)}  ${'p50'.padStart(10)}  ${'p95'.padStart(10)}  ${'p99'.padStart(10)}`);
  for (const r of rows) {
    const s = summarize(r.samples);
    console.log(`${r.label.padEnd(w)}  ${String(s.n).padStart(6)}  ${fmt(s.p50).padStart(10)}  ${fmt(s.p95).padStart(10)}  ${fmt(s.p99).padStart(10)}`);
  }
}

/** One line on the machine a benchmark ran on: CPUs and load average (figures on a shared, loaded machine vary). */
export function machineLine(): string {
  const [one, five] = loadavg();
  return `machine: ${availableParallelism()} CPUs, load average ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min); node ${process.version}`;
}
