// The engine's bounds on the host runtime: the batch size setting, a batch sent to its worker in
// parts, and a memo cache that cannot be written (a full disk) costing the caller nothing but the cache.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LimitError } from '../../main/errors.js';
import { buildEngineServables, openEngine } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';

describe('engine limits on the host runtime', () => {
  const work = tempDir('dlhub-engine-limits-');
  const home = join(work.path, 'home');
  const opened: { close: () => Promise<void> }[] = [];

  function engine(settings: Parameters<typeof openEngine>[1] = {}): ReturnType<typeof openEngine>['engine'] {
    const e = openEngine(home, { idleMs: 60_000, ...settings });
    opened.push(e);
    return e.engine;
  }

  beforeAll(async () => {
    await buildEngineServables(home, work.path, [['echo', 'echo'], ['double', 'double']], { hostOnly: true });
  });
  afterAll(async () => {
    await Promise.all(opened.map((e) => e.close()));
    work.remove();
  });

  it('refuses a batch over DLHUB_MAX_BATCH_ITEMS, as a run and as a task, with LIMIT_EXCEEDED naming the setting', async () => {
    const e = engine({ maxBatchItems: 4 });
    const err = await e.run({ name: 'echo', inputs: [1, 2, 3, 4, 5], runtime: 'host' }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { setting: 'DLHUB_MAX_BATCH_ITEMS', items: 5, max: 4 } });
    expect((err as LimitError).hint).toContain('DLHUB_MAX_BATCH_ITEMS');
    expect(() => e.submit({ name: 'echo', inputs: [1, 2, 3, 4, 5], runtime: 'host' })).toThrow(/at most 4/);
    await expect(e.run({ name: 'echo', inputs: [1, 2, 3, 4], runtime: 'host' })).resolves.toMatchObject({ output: [1, 2, 3, 4] });
  });

  it('sends a large batch to its worker in parts and answers every input in order', async () => {
    const e = engine();
    const inputs = Array.from({ length: 2500 }, (_, i) => i);
    const out = await e.run({ name: 'double', inputs, runtime: 'host', noCache: true });
    expect(out.output).toEqual(inputs.map((i) => i * 2));
    // Parts of at most 1024 inputs: the worker never holds the whole batch, nor its answers, at once.
    expect(e.pool.stats()).toMatchObject({ requests: 3, calls: 3 });
  });

  it('still answers when the memo cache cannot be written, saying the answer was not cached', async () => {
    const e = engine();
    // Another connection makes every new memo entry fail as a full disk would.
    const db = new Database(join(home, 'memo.db'));
    db.exec(`CREATE TRIGGER full_disk BEFORE INSERT ON entries BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;`);
    try {
      const out = await e.run({ name: 'double', input: 21, runtime: 'host' });
      expect(out).toMatchObject({ output: 42, cached: false });
      expect(out.warnings?.join('\n')).toMatch(/not saved in the memo cache.*disk is full/);
      const batch = await e.run({ name: 'double', inputs: [1, 2], runtime: 'host' });
      expect(batch).toMatchObject({ output: [2, 4], cached: [false, false] });
      expect(batch.warnings).toHaveLength(1);
    } finally {
      db.exec('DROP TRIGGER full_disk');
      db.close();
    }
    // Once the disk has room again, answers are kept as before.
    await e.run({ name: 'double', input: 21, runtime: 'host' });
    await expect(e.run({ name: 'double', input: 21, runtime: 'host' })).resolves.toMatchObject({ output: 42, cached: true });
  });
});
