// Every example in the README runs as written: its shell blocks line by line (with `dlhub` the
// checkout's bin/dlhub.js and a temporary home), its HTTP answer compared with the answer the README
// shows, and its TypeScript SDK block compiled and run against a real service.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../helpers/docker.js';
import { outcome, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/dlhub.js');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The first fenced block of `lang` after the heading `heading`. */
function block(heading: string, lang: string): string {
  const at = README.indexOf(`${heading}\n`);
  if (at < 0) throw new Error(`README has no heading "${heading}"`);
  const open = README.indexOf('```' + lang + '\n', at);
  const close = README.indexOf('\n```', open + 3);
  return README.slice(open + lang.length + 4, close);
}

/** Run shell text with `dlhub` as this checkout's command; answers what it printed. */
function sh(text: string, env: Record<string, string>, cwd: string): Promise<CliResult> {
  const script = `set -e -o pipefail\ndlhub() { "${process.execPath}" "${BIN}" "$@"; }\n${text}\n`;
  return outcome(spawn('bash', ['-c', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The README's command lines of a block: comments dropped, continuation lines joined. */
function commands(text: string): string[] {
  return text.replace(/\\\n\s*/g, '').split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}

/** Does `actual` have the shape `pattern` shows, where "…" in the pattern stands for any value? */
function matches(actual: unknown, pattern: unknown): boolean {
  if (pattern === '…') return true;
  if (Array.isArray(pattern)) return Array.isArray(actual) && actual.length === pattern.length && pattern.every((p, i) => matches(actual[i], p));
  if (pattern !== null && typeof pattern === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const keys = Object.keys(pattern);
    return keys.length === Object.keys(actual).length && keys.every((k) => matches((actual as Record<string, unknown>)[k], (pattern as Record<string, unknown>)[k]));
  }
  return actual === pattern;
}

describe('the README examples, run as written', () => {
  const tmp = tempDir('dlhub-readme-');
  const home = join(tmp.path, 'home');
  const work = join(tmp.path, 'work');
  const env = { DLHUB_HOME: home, DLHUB_NO_SERVICE: '1', DLHUB_RATE_LIMIT: 'off' };
  let service: ChildProcess | undefined;

  beforeAll(async () => {
    await requireDocker();
    mkdirSync(join(work, 'my-model'), { recursive: true });
    copyFileSync(join(ROOT, 'examples/iris/model.pkl'), join(work, 'my-model/model.pkl'));
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service?.once('exit', r));
    }
    tmp.remove();
  });

  it('"A model in one minute": init, build, run, and the repeat answered by the memo cache', async () => {
    const lines = commands(block('## A model in one minute', 'sh'));
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(['init', 'build', 'run', 'run']);
    const outputs: string[] = [];
    for (const line of lines) {
      const r = await sh(line, env, work);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      outputs.push(r.stdout + r.stderr);
    }
    expect(JSON.parse(readFileSync(join(work, 'my-model/dlhub.json'), 'utf8')).datacite.titles[0].title).toBe('Iris classifier');
    expect(outputs[3]).toMatch(/cache/i);
    expect(outputs[2]).not.toMatch(/memo cache/i);
  });

  it('"HTTP API": the curl call answers what the README shows', async () => {
    const text = block('### HTTP API', 'sh');
    const port = await freePort();
    const lines = commands(text).map((l) => l.replaceAll('8765', String(port)).replaceAll('~/.dlhub', home));
    const serveLine = lines.find((l) => l.startsWith('dlhub serve'));
    expect(serveLine).toBeDefined();
    service = spawn(process.execPath, [BIN, ...serveLine!.replace(/#.*/, '').trim().split(/\s+/).slice(1)], { env: { ...process.env, ...env }, stdio: 'ignore' });
    await waitFor('the service to write its token', () => existsSync(join(home, 'run/api-token')) && existsSync(join(home, 'run/api-url')), { timeoutMs: 60_000 });
    const r = await sh(lines.filter((l) => l !== serveLine).join('\n'), env, work);
    expect(r.code, r.stderr).toBe(0);
    const shown = /^# (\{.*\})$/m.exec(text)?.[1];
    expect(shown, 'the README shows the answer as a comment').toBeDefined();
    const pattern: unknown = JSON.parse(shown!.replaceAll(/:…/g, ':"…"'));
    const actual: unknown = JSON.parse(r.stdout);
    expect(matches(actual, pattern), `README shows ${shown}\nthe server answered ${r.stdout}`).toBe(true);
  });

  it('"TypeScript SDK": the block compiles and prints what its comments say, in process and over HTTP', async () => {
    expect(service, 'the HTTP API example started the service').toBeDefined();
    const build = await sh(`dlhub build ${join(ROOT, 'examples/noop')}`, env, work);
    expect(build.code, build.stderr).toBe(0);
    const source = block('### TypeScript SDK', 'ts').replaceAll("'./main/", `'${join(ROOT, 'dist/main')}/`);
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
    const file = join(tmp.path, 'sdk-example.mjs');
    writeFileSync(file, js);
    const r = await sh(`"${process.execPath}" "${file}"`, env, work);
    expect(r.code, r.stderr).toBe(0);
    const printed = r.stdout.trim().split('\n');
    expect(printed[0]).toBe('hello world');
    expect(printed.at(-1)).toBe('hello world');
    expect(r.stdout).toContain("[ 'hello world', 'hello world' ]");
    expect(r.stdout).toMatch(/pending: false/);
  });

  it('"Catalog and offline search": every line runs, the export reads back in', async () => {
    const records = join(ROOT, 'test/fixtures/dlhub/records/search-records.jsonl');
    const seeded = await sh(`dlhub catalog import ${records}`, env, work);
    expect(seeded.code, seeded.stderr).toBe(0);
    for (const line of commands(block('### Catalog and offline search', 'sh'))) {
      const r = await sh(line, env, work);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
    }
    expect(existsSync(join(work, 'usb.jsonl'))).toBe(true);
  });

  it('"Instruments (gRPC)": the account lines run and list the account', async () => {
    const lines = commands(block('### Instruments (gRPC)', 'sh')).filter((l) => !l.startsWith('dlhub serve'));
    const r = await sh(lines.join('\n'), env, work);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('lab1');
  });
});
