// Load tools that did not come from this project, run against a URL: autocannon (npm) and, when on
// PATH, Debian's wrk; each answers one row of percentiles and requests per second.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fmt, summarize } from './stats.js';

/** One load-tool figure. */
export interface LoadRow {
  tool: string;
  target: string;
  connections: number;
  p50: number;
  p99: number;
  rps: number;
  non2xx: number;
}

export interface LoadTarget {
  name: string;
  url: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * autocannon keeps latencies in an integer-millisecond histogram, too coarse for sub-millisecond answers, so the
 * percentiles here come from its per-response event (float ms from process.hrtime); req/s from its own result.
 */
export async function runAutocannon(t: LoadTarget, connections: number, seconds: number): Promise<LoadRow> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolveRun, reject) => {
    const opts = { url: t.url, method: 'POST' as const, body: t.body, headers: { ...t.headers, 'content-type': 'application/json' }, connections, duration: seconds };
    const instance = autocannon(opts, (err: Error | null, r: autocannon.Result) => (err ? reject(err) : resolveRun(r)));
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode === 200) times.push(responseTime);
    });
  });
  const s = summarize(times);
  return { tool: 'autocannon', target: t.name, connections, p50: s.p50, p99: s.p99, rps: result.requests.average, non2xx: result.non2xx + result.errors };
}

export function wrkPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** wrk with a Lua script for the POST body and headers; its done() prints µs percentiles as one JSON line. */
export function runWrk(wrk: string, dir: string, t: LoadTarget, connections: number, seconds: number): LoadRow {
  const headers = { ...t.headers, 'Content-Type': 'application/json' };
  const lua = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(t.body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("WRKJSON {\\"p50\\":%d,\\"p99\\":%d,\\"requests\\":%d,\\"duration\\":%d,\\"errors\\":%d}\\n",',
    '    latency:percentile(50), latency:percentile(99), summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout))',
    'end',
  ].join('\n');
  const script = join(dir, `wrk-${t.name.replace(/\W+/g, '-')}.lua`);
  writeFileSync(script, lua);
  const r = spawnSync(wrk, ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, t.url], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk gave no figures: ${r.stdout}\n${r.stderr}`);
  const j = JSON.parse(line.slice(8)) as { p50: number; p99: number; requests: number; duration: number; errors: number };
  return { tool: 'wrk', target: t.name, connections, p50: j.p50 / 1000, p99: j.p99 / 1000, rps: j.requests / (j.duration / 1e6), non2xx: j.errors };
}

export function printLoad(rows: LoadRow[]): void {
  const w = Math.max(...rows.map((r) => r.target.length));
  console.log(`${'tool'.padEnd(10)}  ${'case'.padEnd(w)}  ${'conns'.padStart(5)}  ${'p50'.padStart(10)}  ${'p99'.padStart(10)}  ${'req/s'.padStart(9)}  errors`);
  for (const r of rows) {
    console.log(`${r.tool.padEnd(10)}  ${r.target.padEnd(w)}  ${String(r.connections).padStart(5)}  ${fmt(r.p50).padStart(10)}  ${fmt(r.p99).padStart(10)}  ${r.rps.toFixed(0).padStart(9)}  ${r.non2xx}`);
  }
}
