// The change feed's page is sent as text with each record's stored metadata spliced in: what a
// client reads must be exactly the page the hub's operation answers, whatever the names, versions
// and metadata hold (quotes, backslashes, "metadata" inside strings, non-ASCII).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { spliceJson } from '../../../hub/json-text.js';
import { startHub, type RunningHub } from '../../../hub/server.js';
import { hashPassword } from '../../../hub/secrets.js';
import { createHubService } from '../../../hub/service.js';
import { tempDir } from '../../helpers/home.js';

describe('spliceJson', () => {
  it('reads back as the value with the JSON text in place of null at its key', () => {
    const json = fc.jsonValue();
    fc.assert(fc.property(fc.string(), fc.string(), json, json, (owner, version, metadata, rest) => {
      const value = { cursor: '1', owner, version, record: { owner, metadata: null, rest } };
      const text = spliceJson(value, 'metadata', JSON.stringify(metadata));
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ ...value, record: { ...value.record, metadata } })));
    }), { numRuns: 300 });
  });

  it('refuses a value with no null at the key', () => {
    expect(() => spliceJson({ metadata: 1 }, 'metadata', '{}')).toThrow(/no metadata/);
  });
});

describe('the feed as sent', () => {
  const dir = tempDir('dlhub-feed-text-');
  let hub: RunningHub;

  beforeAll(async () => {
    hub = await startHub({ home: join(dir.path, 'hub'), port: 0, registry: 'none', ratePerMinute: 0 });
    await hub.store.addUser({ name: 'alice', passwordHash: await hashPassword('pw'), clientId: null, secretHash: null }, Date.now());
    const odd = ['plain', 'with "quotes" and \\ backslashes', '"metadata":null', 'ünïcödé ✓ 𝔘', 'line\nbreak\u0001'];
    for (const [i, title] of odd.entries()) {
      await hub.store.publish({
        user: 'alice', owner: 'alice', name: `m-${i}`, version: undefined, metadata: { dlhub: { name: `m-${i}`, note: title }, datacite: { titles: [{ title }] }, n: [i, 1.5, null, true] },
        repository: `alice/m-${i}`, digest: `sha256:${'ab'.repeat(32)}`, contentKey: `k${i}`, visibility: 'public', idempotencyKey: undefined, now: Date.now(),
      });
    }
    await hub.store.deleteVersion('alice', 'm-1', '1', Date.now());
  }, 60_000);

  afterAll(async () => {
    await hub?.stop();
    dir.remove();
  });

  it('is the page the operation answers, records and tombstones alike, page by page', async () => {
    for (const [since, limit] of [['0', 100], ['0', 2], ['2', 3], ['6', 10]] as const) {
      const body = await (await fetch(`${hub.url}/v1/changes?since=${since}&limit=${limit}`)).text();
      const inProcess = await createHubService({ store: hub.store, registryAddress: undefined, signer: undefined }).changes({ since, limit }, { caller: undefined });
      expect(JSON.parse(body)).toEqual({ result: JSON.parse(JSON.stringify(inProcess)) as unknown });
    }
    const all = JSON.parse(await (await fetch(`${hub.url}/v1/changes?since=0&limit=100`)).text()) as { result: { changes: { deleted?: true; record?: { metadata: { datacite: { titles: { title: string }[] } } } }[] } };
    expect(all.result.changes.map((c) => c.deleted ? 'gone' : c.record?.metadata.datacite.titles[0]?.title)).toEqual([
      'plain', '"metadata":null', 'ünïcödé ✓ 𝔘', 'line\nbreak\u0001', 'gone',
    ]);
  });
});
