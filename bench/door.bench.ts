// The HTTP door's own cost: a memo hit of the no-op servable through `dlhub serve --http` against a
// bare node:http server answering the same bytes, with the same sequential keep-alive client in the
// same run. Host runtime only (no Docker), so it runs in seconds. BENCH_N (default 3000) calls per case.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, machineLine, summarize } from './stats.js';
import { ROOT, dlhub, startService, type Service } from './service.js';
import { Client, startFloor } from './http-client.js';

const N = Number(process.env['BENCH_N'] ?? 3000);
const WARMUP = 200;

async function samples(client: Client, path: string, body: string, check: (text: string) => boolean): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) {
    const a = await client.post(path, body);
    if (a.status !== 200 || !check(a.text)) throw new Error(`${path}: HTTP ${a.status} ${a.text.slice(0, 300)}`);
  }
  const out: number[] = [];
  for (let i = 0; i < N; i++) out.push((await client.post(path, body)).ms);
  return out;
}

/** Memo hit over the HTTP API vs the node:http floor; prints p50, p99 and their ratio. */
export async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'dlhub-bench-door-'));
  let service: Service | undefined;
  let floor: { url: URL; stop: () => void } | undefined;
  const clients: Client[] = [];
  try {
    dlhub(home, ['build', join(ROOT, 'examples', 'noop'), '--runtime', 'host']);
    service = await startService(home);
    floor = await startFloor();
    const dl = new Client(service.url, { authorization: `Bearer ${service.token}` });
    const fx = new Client(floor.url, {});
    clients.push(dl, fx);
    const body = JSON.stringify({ input: 1, runtime: 'host' });
    // Interleaved rounds, so a slower moment of a loaded machine falls on both.
    const door: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < 3; round++) {
      door.push(...(await samples(dl, '/v1/servables/noop/run', body, (t) => t.includes('"cached":true') || t.includes('hello world'))));
      bare.push(...(await samples(fx, '/', body, (t) => t.includes('hello world'))));
    }
    const d = summarize(door);
    const b = summarize(bare);
    console.log(machineLine());
    console.log(`HTTP door, memo hit of noop (host runtime), ${door.length} sequential calls on one keep-alive connection`);
    console.log(`  dlhub serve --http   p50 ${fmt(d.p50)}  p99 ${fmt(d.p99)}`);
    console.log(`  node:http floor      p50 ${fmt(b.p50)}  p99 ${fmt(b.p99)}`);
    console.log(`  ratio p50 ${(d.p50 / b.p50).toFixed(2)}x (target <= 1.3x); the door and engine add ${fmt(d.p50 - b.p50)}`);
  } finally {
    for (const c of clients) c.close();
    floor?.stop();
    if (service) await service.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
