// The hub store suites run each case on SQLite and on a real PostgreSQL (Debian's, a private cluster
// started here); this is their shared setting: both kinds of store and a publish to vary.
import { afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { tempDir } from './home.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import { openStore } from '../../hub/store/open.js';
import type { HubStore, PublishInput } from '../../hub/store/store.js';

/** A content digest made of one repeated hex character. */
export const digest = (c: string): string => `sha256:${c.repeat(64)}`;

/** alice publishing her `model`, with `over` changed. */
export function publishInput(over: Partial<PublishInput> = {}): PublishInput {
  return {
    user: 'alice', owner: 'alice', name: 'model', version: undefined, metadata: { dlhub: { name: 'model' } },
    repository: 'alice/model', digest: digest('a'), contentKey: 'k1', visibility: undefined, idempotencyKey: undefined, now: 1000, ...over,
  };
}

/**
 * For a suite (call at its top level): a temporary folder and a PostgreSQL started before the suite
 * and removed after it, and each kind of store by name, a fresh database at each open.
 */
export function hubStoreKinds(name: string): { home: { path: string }; kinds: Array<[string, () => Promise<HubStore>]> } {
  let pg: TestPostgres | undefined;
  const home = tempDir(`dlhub-hub-${name}-`);
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => {
    pg?.stop();
    home.remove();
  });
  let n = 0;
  return {
    home,
    kinds: [
      ['SQLite', () => openStore(home.path, join(home.path, `hub-${++n}.db`))],
      ['PostgreSQL', () => openStore(home.path, pg!.database(`${name}_${++n}`))],
    ],
  };
}
