import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { oracleMatch } from '../../helpers/catalog-oracle.js';
import type { OQuery, OracleRecord } from '../../helpers/catalog-oracle.js';
import { allKeys, tempHome, testRecords } from '../../helpers/catalog-fixtures.js';

const root = resolve(import.meta.dirname, '../../..');

// The child uses the compiled catalog, as the app would; a missing or stale build fails here instead of testing old code.
function distCatalogUrl(): string {
  const built = join(root, 'dist/main/catalog/catalog.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before this test.`);
  const src = join(root, 'main/catalog');
  const newest = Math.max(...readdirSync(src, { recursive: true }).map((f) => statSync(join(src, String(f))).mtimeMs));
  if (newest > statSync(built).mtimeMs) throw new Error('dist/main/catalog is older than main/catalog: run `npm run build` before this test.');
  return pathToFileURL(built).href;
}

// Adds records and saves the index after each, until killed.
const CHILD = `
const { Catalog } = await import(process.env.CATALOG_URL);
const { homePaths } = await import(process.env.HOME_URL);
const records = JSON.parse(process.env.RECORDS);
const c = Catalog.open(homePaths(process.env.DLHUB_HOME));
for (let i = 0; ; i++) {
  const md = structuredClone(records[i % records.length]);
  md.dlhub.version = '9.' + i + '.0';
  c.upsert(md, { local: i % 2 === 0 });
  c.flush();
  if (i === 0) process.stdout.write('saving\\n');
}
`;

let home: ReturnType<typeof tempHome>;
// The writer never stops by itself: one left running by a failed test is killed here.
let writer: ChildProcess | undefined;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => {
  writer?.kill('SIGKILL');
  home.cleanup();
});

it('detects an index save killed mid-write and never serves stale or torn results', async () => {
  const catalogUrl = distCatalogUrl();
  const seed = Catalog.open(home.paths);
  for (const md of testRecords(3000)) seed.upsert(md);
  seed.close();
  // Its stderr is copied, not handed over: a child left holding the test runner's output would keep the runner from exiting.
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, CATALOG_URL: catalogUrl, HOME_URL: pathToFileURL(join(root, 'dist/main/storage/home.js')).href, DLHUB_HOME: home.paths.root, RECORDS: JSON.stringify(testRecords(20, 5)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writer = child;
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  await new Promise<void>((ok, fail) => {
    child.stdout.once('data', () => ok());
    child.once('exit', (code) => fail(new Error(`child exited early with ${code}`)));
  });
  // Wait until a save is in flight (its temp file exists), then kill the writer there.
  const tmpPrefix = 'catalog-index.bin.tmp-';
  const deadline = Date.now() + 20_000;
  let inFlight = false;
  while (Date.now() < deadline && !inFlight) inFlight = readdirSync(home.paths.root).some((f) => f.startsWith(tmpPrefix));
  child.kill('SIGKILL');
  await new Promise((ok) => child.once('exit', ok));
  expect(inFlight).toBe(true);

  const c = Catalog.open(home.paths);
  try {
    // The saved index predates the child's last commits (or is missing): it is caught up or rebuilt, and the torn temp file is gone.
    expect(['caught-up', 'rebuilt']).toContain(c.indexStatus.source);
    expect(readdirSync(home.paths.root).filter((f) => f.startsWith(tmpPrefix))).toEqual([]);

    // Results equal a brute-force scan of what the database holds.
    const file = join(home.paths.root, 'all.jsonl');
    await c.export(file, { allVersions: true });
    const { readFileSync } = await import('node:fs');
    const mds = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as ServableMetadata);
    const records: OracleRecord[] = mds.map((md) => {
      const servable = md.dlhub.owner ? `${md.dlhub.owner}/${md.dlhub.name}` : md.dlhub.name;
      const e = c.get(servable, md.dlhub.version)!;
      return { key: `${servable}@${e.version}`, md, local: e.local, latest: e.latest };
    });
    const queries: [string, OQuery][] = [
      ['dlhub.local:true', { op: 'term', field: 'dlhub.local', value: 'true', quoted: false }],
      ['dlhub.version:9*', { op: 'term', field: 'dlhub.version', value: '9*', quoted: false }],
      ['crystal OR NOT servable.type:"Keras Model"', { op: 'or', kids: [{ op: 'term', field: null, value: 'crystal', quoted: false }, { op: 'not', kid: { op: 'term', field: 'servable.type', value: 'Keras Model', quoted: true } }] }],
    ];
    for (const [text, q] of queries) {
      for (const allVersions of [false, true]) {
        const expected = records.filter((r) => (allVersions || r.latest) && oracleMatch(r, q)).map((r) => r.key).sort();
        expect(allKeys(c, text, { advanced: true, allVersions }).sort(), text).toEqual(expected);
      }
    }
    expect(records.filter((r) => r.md.dlhub.version?.startsWith('9.')).length).toBeGreaterThan(0);
  } finally {
    c.close();
  }
}, 120_000);
