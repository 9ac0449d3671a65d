// The window's speed in Chromium, over `dlhub serve --ui` with a generated catalog (100,000 records by
// default; DLHUB_BENCH_RECORDS to change): the catalog's first paint from a cold page load, the time
// from each keystroke in the search box to its results painted, and the initial JavaScript, gzipped.
// Targets (the desktop issue): first paint < 1 s, keystroke -> painted < 50 ms, JS < 300 KB gzipped.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { Catalog } from '../main/catalog/catalog.js';
import { homePaths } from '../main/storage/home.js';
import { generateRecords } from './catalog-records.js';
import { BIN, ROOT } from './service.js';
import { summarize } from './stats.js';

const N = Number(process.env['DLHUB_BENCH_RECORDS'] ?? 100_000);
const CHROMIUM = process.env['DLHUB_CHROMIUM'] ?? '/usr/bin/chromium';
const WORDS = ['crystal', 'neural', 'protein', 'battery', 'galaxy'];

/** Run in the page: type each word letter by letter; per keystroke, the time until its results are painted. */
const TYPE_AND_TIME = `async (words) => {
  const input = document.getElementById('search');
  const count = () => document.querySelector('[aria-live="polite"]')?.textContent ?? '';
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const times = [];
  for (const word of words) {
    for (let i = 1; i <= word.length; i++) {
      const q = word.slice(0, i);
      const t0 = performance.now();
      setter.call(input, q);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      while (!count().includes('"' + q + '"')) await new Promise((r) => setTimeout(r, 0));
      await frame();
      times.push(performance.now() - t0);
    }
  }
  return times;
}`;

/** Measure and print the window's figures. */
export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-window-bench-'));
  const js = readdirSync(join(ROOT, 'dist', 'renderer', 'assets')).filter((f) => f.endsWith('.js'));
  const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(join(ROOT, 'dist', 'renderer', 'assets', f))).length, 0);
  const file = join(dir, 'catalog.jsonl');
  writeFileSync(file, generateRecords(N).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const catalog = Catalog.open(homePaths(dir));
  await catalog.import(file);
  catalog.close();
  rmSync(file);
  const child = spawn(process.execPath, [BIN, 'serve', '--ui', '--http', '127.0.0.1:0'], { env: { ...process.env, DLHUB_HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const started = Date.now();
    let signIn: string | undefined;
    while (!(signIn = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out)?.[0])) {
      if (Date.now() - started > 60_000 || child.exitCode !== null) throw new Error(`dlhub serve --ui did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    const t0 = Date.now();
    await page.goto(signIn);
    await page.locator('[data-testid="hits"] li').first().waitFor({ timeout: 60_000 });
    const firstResults = Date.now() - t0;
    const fcp = await page.evaluate<number>(`performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1`);
    // One untimed query warms the service's catalog (its first search opens the saved index).
    await page.locator('#search').fill('warm');
    await page.getByText('match "warm"').waitFor({ timeout: 60_000 });
    const keys = await page.evaluate<number[]>(`(${TYPE_AND_TIME})(${JSON.stringify(WORDS)})`);
    const k = summarize(keys);
    console.log(`window: ${N} catalog records, Chromium ${browser.version()} headless, ${keys.length} keystrokes`);
    console.table([
      { what: 'initial JavaScript, gzipped', value: `${(gzipped / 1024).toFixed(1)} KB`, target: '< 300 KB' },
      { what: 'first contentful paint, cold page', value: `${fcp.toFixed(0)} ms`, target: '< 1000 ms' },
      { what: 'sign-in address to first results shown', value: `${firstResults} ms`, target: '-' },
      { what: 'keystroke -> results painted, p50', value: `${k.p50.toFixed(1)} ms`, target: '< 50 ms' },
      { what: 'keystroke -> results painted, p95', value: `${k.p95.toFixed(1)} ms`, target: '-' },
      { what: 'keystroke -> results painted, max', value: `${Math.max(...keys).toFixed(1)} ms`, target: '-' },
    ]);
  } finally {
    await browser.close();
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('window.bench.js')) await main();
