import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
const distMemo = join(root, 'dist/main/memo');

/**
 * The compiled memo modules a child process imports. `npm test` builds them first; a missing or stale build
 * fails loudly here instead of testing old code.
 */
export function memoDistUrls(): { cache: string; key: string } {
  const cache = join(distMemo, 'memo-cache.js');
  if (!existsSync(cache)) throw new Error(`${cache} is missing: run \`npm run build\` (or \`npx tsc -p tsconfig.build.json\`) before this test.`);
  const built = statSync(cache).mtimeMs;
  const srcDir = join(root, 'main/memo');
  const newest = Math.max(...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (newest > built) throw new Error(`${distMemo} is older than main/memo/: run \`npm run build\` before this test.`);
  return { cache: pathToFileURL(cache).href, key: pathToFileURL(join(distMemo, 'key.js')).href };
}

/** What a child writer does; `who` names its keys so the parent can tell writers apart. */
export interface MemoChildConfig {
  file: string;
  budgetBytes: number;
  who: string;
  /** Stop after this many puts; omit to write until killed. */
  count?: number;
  minSize: number;
  maxSize: number;
  /** Other writers whose entries this child reads and checks while writing. */
  peers?: string[];
}

// Plain ESM run with `node -e`: it mirrors the app's write path by using the compiled MemoCache itself.
// The value for (who, i) is the same function as testValue() in memo-fixtures.ts, so any process can check any entry.
const CHILD_SCRIPT = `
import { createHash } from 'node:crypto';
const cfg = JSON.parse(process.env.DLHUB_MEMO_CHILD);
const { MemoCache } = await import(cfg.urls.cache);
const { memoKey } = await import(cfg.urls.key);
const keyOf = (who, i) => memoKey({ digest: 'sha256:test', method: 'run', input: { json: { who, i }, buffers: [] } });
const valueOf = (who, i, size) => {
  const seed = createHash('sha256').update(who + ':' + i).digest();
  const out = Buffer.allocUnsafe(size);
  for (let off = 0; off < size; off += seed.length) seed.copy(out, off, 0, Math.min(seed.length, size - off));
  return out;
};
const sizeOf = (i) => cfg.minSize + ((i * 7919) % (cfg.maxSize - cfg.minSize + 1));
const cache = MemoCache.open(cfg.file, { budgetBytes: cfg.budgetBytes });
let hits = 0, peerHits = 0;
const fail = (msg) => { process.stderr.write(msg + '\\n'); process.exit(2); };
for (let i = 0; cfg.count === undefined || i < cfg.count; i++) {
  cache.put(keyOf(cfg.who, i), { servable: 'servable-' + cfg.who, method: 'run', value: valueOf(cfg.who, i, sizeOf(i)) });
  if (i === 0) process.stdout.write('ready\\n');
  const back = cache.get(keyOf(cfg.who, i));
  if (back) hits++;
  if (back && !back.equals(valueOf(cfg.who, i, sizeOf(i)))) fail(cfg.who + ': wrong value for own entry ' + i);
  for (const peer of cfg.peers ?? []) {
    const j = Math.floor(Math.random() * (i + 1));
    const got = cache.get(keyOf(peer, j));
    if (got) { hits++; peerHits++; }
    if (got && !got.equals(valueOf(peer, j, sizeOf(j)))) fail(cfg.who + ': wrong value for ' + peer + ' entry ' + j);
  }
}
cache.close();
process.stdout.write(JSON.stringify({ hits, peerHits }) + '\\n');
`;

/** A running child writer: resolves `ready` after its first put, `exit` with its code, signal and output. */
export interface MemoChild {
  pid: number;
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** Start a Node child that writes (and reads back) memo entries through the compiled MemoCache. */
export function spawnMemoChild(config: MemoChildConfig): MemoChild {
  const env = { ...process.env, DLHUB_MEMO_CHILD: JSON.stringify({ ...config, urls: memoDistUrls() }) };
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((res) => (markReady = res));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) => {
    child.on('close', (code, signal) => {
      markReady();
      res({ code, signal, stdout, stderr });
    });
  });
  return { pid: child.pid ?? -1, ready, exit, kill: () => child.kill('SIGKILL') };
}
