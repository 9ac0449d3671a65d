// getLocalCached, the run path's view of a servable's records: a build or `rm` in this process is seen by the
// next call, and a rebuild by another process (which rewrites prepared.json behind our back) shortly after.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../main/errors.js';
import { getLocalCached, removeLocalFiles, servableRoot, writePrepared, type PreparedRecord } from '../../../main/servable/registry.js';
import { ensureHome, homePaths, type HomePaths } from '../../../main/storage/home.js';

let dir: string;
let paths: HomePaths;

function prepare(contentKey: string): PreparedRecord {
  const servableDir = join(servableRoot(paths, 'probe'), 'context', 'servable');
  mkdirSync(servableDir, { recursive: true });
  writeFileSync(join(servableDir, 'dlhub.json'), JSON.stringify({ dlhub: { name: 'probe' }, servable: { methods: {} } }));
  const record = { name: 'probe', version: '1', contentKey, tag: '', sourceDir: '/src', preparedAt: new Date().toISOString() };
  writePrepared(paths, record);
  return record;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dlhub-registry-'));
  paths = ensureHome(homePaths(dir));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('getLocalCached', () => {
  it('sees a rebuild and a removal made in this process on the very next call', () => {
    prepare('key-one');
    expect(getLocalCached(paths, 'probe').contentKey).toBe('key-one');
    prepare('key-two');
    expect(getLocalCached(paths, 'probe').contentKey).toBe('key-two');
    removeLocalFiles(paths, 'probe');
    expect(() => getLocalCached(paths, 'probe')).toThrow(NotFoundError);
  });

  it('sees a rebuild by another process (prepared.json rewritten directly) once its short recheck window has passed', async () => {
    const record = prepare('key-one');
    expect(getLocalCached(paths, 'probe').contentKey).toBe('key-one');
    writeFileSync(join(servableRoot(paths, 'probe'), 'prepared.json'), JSON.stringify({ ...record, contentKey: 'key-from-elsewhere' }));
    await sleep(300);
    expect(getLocalCached(paths, 'probe').contentKey).toBe('key-from-elsewhere');
  });
});
