// state.db's schema steps (catalog, tasks) applied by several processes opening a new home at once.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { stateMigrations } from '../../../main/storage/state-db.js';
import { tempDir } from '../../helpers/cli.js';

const root = resolve(import.meta.dirname, '../../..');

function run(script: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => done({ code, stderr }));
  });
}

describe('state.db migrations', () => {
  const work = tempDir('dlhub-migrate-');
  afterAll(() => work.cleanup());

  it('are applied exactly once when eight processes open a new file together', async () => {
    const built = join(root, 'dist/main/storage/state-db.js');
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, 'main/storage/sqlite.ts')).mtimeMs) {
      throw new Error('dist/ is older than main/storage/: run `npm run build` before this test.');
    }
    const file = join(work.dir, 'state.db');
    const script = `const { openStateDb } = await import(${JSON.stringify(pathToFileURL(built).href)}); openStateDb(${JSON.stringify(file)}).close();`;
    const results = await Promise.all(Array.from({ length: 8 }, () => run(script)));
    expect(results.map((r) => r.stderr)).toEqual(Array.from({ length: 8 }, () => ''));
    expect(results.map((r) => r.code)).toEqual(Array.from({ length: 8 }, () => 0));
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(Math.max(...stateMigrations.map((m) => m.version)));
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(['catalog_records', 'tasks']));
    } finally {
      db.close();
    }
  });
});
