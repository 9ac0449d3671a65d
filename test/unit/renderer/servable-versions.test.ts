// The servable screen's store: the catalog's versions of a servable (picked, shown, never run as if
// built here), the version carried in the address, and a file dropped on a bytes input read as bytes.
import { describe, expect, it } from 'vitest';
import type { Ops } from '../../../renderer/src/client/ops.js';
import { formatHash, parseHash } from '../../../renderer/src/stores/nav.js';
import { createServableStore, versionsOf, type VersionRecord } from '../../../renderer/src/stores/servable.js';

/** An Ops whose listed operations are the given fakes; any other call fails the test. */
function fakeOps(impl: Partial<Record<keyof Ops, (...a: never[]) => unknown>>): Ops {
  return new Proxy({} as Ops, { get: (_t, op: string) => impl[op as keyof Ops] ?? (() => Promise.reject(new Error(`unexpected call ${op}`))) });
}

function hit(servable: string, version: string, over: Partial<VersionRecord> = {}): VersionRecord {
  const name = servable.split('/').pop() ?? servable;
  return { servable, name, owner: 'me', version, title: `${name} ${version}`, description: `record ${version}`, type: 'Python static method', domains: ['testing'], creators: ['Doe, Jane'], year: null, doi: '', methods: ['run'], local: false, latest: false, score: 1, ...over };
}

const description = (name: string, version: string, input: object = { type: 'list', item_type: { type: 'float' } }) => ({
  name,
  metadata: { datacite: { titles: [{ title: name }] }, dlhub: { name, version }, servable: { type: 'Python static method' } },
  methods: { run: { input, output: { type: 'list' } } },
  deterministic: true,
});

const searchAnswer = (hits: VersionRecord[]) => ({ query: '', advanced: true, allVersions: true, total: hits.length, page: 1, pageSize: 200, hits, facets: { type: [], domains: [], creators: [], year: [] } });

describe('servable versions', () => {
  it('lists every catalog version of the servable newest first, asking the catalog for all versions by name', async () => {
    const asked: unknown[] = [];
    const ops = fakeOps({
      describeServable: (() => Promise.resolve(description('me/napper', '1.10.0'))),
      searchCatalog: ((req: unknown) => {
        asked.push(req);
        return Promise.resolve(searchAnswer([hit('me/napper', '1.2.0'), hit('me/napper', '1.10.0', { latest: true, local: true }), hit('me/napper-two', '9.0.0'), hit('you/napper', '3.0.0')]));
      }),
    });
    const store = createServableStore(ops);
    await store.getState().open('me/napper');
    expect(asked).toEqual([{ query: 'dlhub.name:"napper"', advanced: true, allVersions: true, pageSize: 200 }]);
    // Another owner's napper and a longer name the text match also found are not versions of this one.
    expect(store.getState().versions.map((v) => v.version)).toEqual(['1.10.0', '1.2.0']);
    expect(store.getState().otherVersion()).toBeUndefined();
  });

  it('switches to an older version: its record is shown, running it is refused; the described version switches back', async () => {
    let runs = 0;
    const ops = fakeOps({
      describeServable: (() => Promise.resolve(description('napper', '2.0.0'))),
      searchCatalog: (() => Promise.resolve(searchAnswer([hit('me/napper', '2.0.0', { latest: true, local: true }), hit('me/napper', '1.0.0')]))),
      runServable: (() => {
        runs += 1;
        return Promise.resolve({ output: [4], method: 'run', elapsedMs: 1, cached: false, runtime: 'host' });
      }),
    });
    const store = createServableStore(ops);
    await store.getState().open('napper');
    store.getState().setText('2');
    store.getState().pickVersion('1.0.0');
    expect(store.getState().otherVersion()).toMatchObject({ version: '1.0.0', description: 'record 1.0.0' });
    await store.getState().run();
    expect(runs).toBe(0);
    store.getState().pickVersion('2.0.0');
    expect(store.getState().version).toBeUndefined();
    expect(store.getState().otherVersion()).toBeUndefined();
    await store.getState().run();
    expect(runs).toBe(1);
    expect(store.getState().result?.output).toEqual([4]);
  });

  it('a version picked before the description arrives (from the address) is kept; the described one means no switch', async () => {
    const ops = fakeOps({
      describeServable: (() => Promise.resolve(description('napper', '2.0.0'))),
      searchCatalog: (() => Promise.resolve(searchAnswer([hit('me/napper', '2.0.0', { local: true }), hit('me/napper', '1.0.0')]))),
    });
    const store = createServableStore(ops);
    const opened = store.getState().open('napper');
    store.getState().pickVersion('2.0.0');
    await opened;
    expect(store.getState().otherVersion()).toBeUndefined();
    store.getState().pickVersion('1.0.0');
    expect(store.getState().otherVersion()?.version).toBe('1.0.0');
  });

  it('opens without a version list when the catalog cannot answer', async () => {
    const ops = fakeOps({
      describeServable: (() => Promise.resolve(description('napper', '1.0.0'))),
      searchCatalog: (() => Promise.reject(new Error('catalog locked'))),
    });
    const store = createServableStore(ops);
    await store.getState().open('napper');
    expect(store.getState().description?.name).toBe('napper');
    expect(store.getState().versions).toEqual([]);
    expect(store.getState().loadError).toBeUndefined();
  });

  it('versionsOf takes the exact servable key first, else the bare name, each version once', () => {
    expect(versionsOf([hit('napper', '1', { owner: '' }), hit('napper', '1', { owner: '' }), hit('me/napper', '0.9')], 'napper').map((h) => h.version)).toEqual(['1']);
    expect(versionsOf([hit('me/napper', '1'), hit('me/napper', '0.9')], 'napper').map((h) => h.version)).toEqual(['1', '0.9']);
  });

  it('the address carries a version other than the newest, and reads it back', () => {
    const route = { screen: 'servable' as const, name: 'me/nap per', version: '1.0 beta' };
    expect(formatHash(route)).toBe('#/servable/me/nap%20per?version=1.0%20beta');
    expect(parseHash(formatHash(route))).toEqual(route);
    expect(parseHash('#/servable/napper')).toEqual({ screen: 'servable', name: 'napper' });
  });
});

describe('a file dropped on a bytes input', () => {
  const fileInput = { type: 'file', description: 'An image' };

  it('is read into bytes and becomes the input the run sends', async () => {
    const sent: unknown[] = [];
    const ops = fakeOps({
      describeServable: (() => Promise.resolve(description('reader', '1', fileInput))),
      searchCatalog: (() => Promise.resolve(searchAnswer([]))),
      runServable: ((req: { input: unknown }) => {
        sent.push(req.input);
        return Promise.resolve({ output: 3, method: 'run', elapsedMs: 1, cached: false, runtime: 'host' });
      }),
    });
    const store = createServableStore(ops);
    await store.getState().open('reader');
    expect(store.getState().field().kind).toBe('file');
    await store.getState().run();
    expect(store.getState().fieldError).toBe('Drop a file or choose one.');
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await store.getState().dropFile(new File([bytes], 'pixel.png'));
    expect(store.getState().fieldError).toBeUndefined();
    expect(store.getState().file?.name).toBe('pixel.png');
    await store.getState().run();
    expect(sent).toEqual([bytes]);
  });

  it('a file that cannot be read says so on the field', async () => {
    const ops = fakeOps({
      describeServable: (() => Promise.resolve(description('reader', '1', fileInput))),
      searchCatalog: (() => Promise.resolve(searchAnswer([]))),
    });
    const store = createServableStore(ops);
    await store.getState().open('reader');
    await store.getState().dropFile({ name: 'gone.bin', arrayBuffer: () => Promise.reject(new Error('the file was moved')) });
    expect(store.getState().file).toBeUndefined();
    expect(store.getState().fieldError).toBe('gone.bin could not be read: the file was moved');
  });
});
