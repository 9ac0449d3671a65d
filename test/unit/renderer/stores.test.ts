// The window's stores over a fake `Ops`: back-end calls happen in store actions, answers to older
// queries are dropped, publishing goes upload -> detect -> form -> build with progress, the
// connection store marks the service down and retries by itself, tasks merge live changes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ops, TaskInfoValue } from '../../../renderer/src/client/ops.js';
import { createCatalogStore, looksAdvanced, facetTerm } from '../../../renderer/src/stores/catalog.js';
import { createConnectionStore } from '../../../renderer/src/stores/connection.js';
import { createNavStore, formatHash, parseHash } from '../../../renderer/src/stores/nav.js';
import { createPublishStore } from '../../../renderer/src/stores/publish.js';
import { createServableStore } from '../../../renderer/src/stores/servable.js';
import { createTasksStore, mergeTask } from '../../../renderer/src/stores/tasks.js';
import { createSettingsStore, dataFolder } from '../../../renderer/src/stores/settings.js';

/** An Ops whose listed operations are the given fakes; any other call fails the test. */
function fakeOps(impl: Partial<Record<keyof Ops, (...a: never[]) => unknown>>): Ops {
  return new Proxy({} as Ops, {
    get: (_t, op: string) => impl[op as keyof Ops] ?? (op === 'watchTasks' || op === 'listRuntimes' ? undefined : () => Promise.reject(new Error(`unexpected call ${op}`))),
  });
}

const result = (query: string, names: string[]) => ({
  query, advanced: false, allVersions: false, total: names.length, page: 1, pageSize: 50,
  hits: names.map((name) => ({ servable: `me/${name}`, name, owner: 'me', version: '1', title: name, description: '', type: '', domains: [], creators: [], year: null, doi: '', methods: [], local: true, latest: true, score: 1 })),
  facets: { type: [], domains: [], creators: [], year: [] },
});

const unavailable = Object.assign(new Error('The DLHub service did not answer'), { code: 'SERVICE_UNAVAILABLE' });

afterEach(() => {
  vi.useRealTimers();
});

describe('catalog store', () => {
  it('cancels the older search and drops its answer when it arrives after a newer one', async () => {
    const pending: Record<string, (v: unknown) => void> = {};
    const signals: AbortSignal[] = [];
    const ops = fakeOps({
      searchCatalog: ((req: { query: string }, ctx: { signal: AbortSignal }) => {
        signals.push(ctx.signal);
        return new Promise((r) => (pending[req.query] = r));
      }),
    });
    const store = createCatalogStore(ops);
    const first = store.getState().setQuery('ir');
    const second = store.getState().setQuery('iris');
    pending['iris']?.(result('iris', ['iris']));
    await second;
    pending['ir']?.(result('ir', ['ir-old']));
    await first;
    expect(store.getState().result?.hits.map((h) => h.name)).toEqual(['iris']);
    expect(signals.map((sig) => sig.aborted)).toEqual([true, false]);
  });

  it('sends field syntax as an advanced query, keeps the query error with its position, and narrows by a facet', async () => {
    const seen: { query: string; advanced?: boolean }[] = [];
    const ops = fakeOps({
      searchCatalog: ((req: { query: string; advanced?: boolean }) => {
        seen.push(req);
        if (req.query.includes('(')) return Promise.reject(Object.assign(new Error('Expected )'), { code: 'QUERY_INVALID', details: { position: 12 } }));
        return Promise.resolve(result(req.query, []));
      }),
    });
    const store = createCatalogStore(ops);
    await store.getState().setQuery('dlhub.name:(x');
    expect(store.getState().error).toMatchObject({ code: 'QUERY_INVALID', details: { position: 12 } });
    await store.getState().setQuery('iris');
    expect(store.getState().error).toBeUndefined();
    await store.getState().addFacet('domains', 'biology');
    expect(seen.at(-1)).toEqual({ query: 'iris AND dlhub.domains:"biology"', advanced: true, allVersions: false, pageSize: 50 });
    expect(looksAdvanced('iris setosa')).toBe(false);
    expect(facetTerm('type', 'a "b"')).toBe('servable.type:"a \\"b\\""');
  });
});

describe('publish store', () => {
  const dropped = { label: 'My Model', files: [{ path: 'model.pkl', file: new Blob([new Uint8Array([1, 2, 3])]) }] };
  const read = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

  it('uploads, detects, checks the form, then builds with live progress', async () => {
    const calls: string[] = [];
    const ops = fakeOps({
      uploadFolder: ((req: { name: string; files: { path: string; data: Uint8Array }[] }) => {
        calls.push(`upload ${req.name} ${req.files.map((f) => `${f.path}:${f.data.length}`).join(',')}`);
        return Promise.resolve({ dir: '/home/staging/my-model-1', files: 1, bytes: 3 });
      }),
      initServable: ((req: { dir: string; name?: string; creators?: string[] }) => {
        calls.push(`init ${req.dir} ${req.name} ${(req.creators ?? []).join(';')}`);
        return Promise.resolve({ path: `${req.dir}/dlhub.json`, metadata: { datacite: { titles: [{ title: 'my-model' }] }, dlhub: { version: '0.1.0' } }, todo: [], detected: { type: 'sklearn', file: 'model.pkl', reason: 'a pickle' } });
      }),
      buildServable: ((req: { dir: string }, ctx: { onProgress: (e: unknown) => void }) => {
        calls.push(`build ${req.dir}`);
        ctx.onProgress({ phase: 'build', step: 1, total: 2, message: 'FROM base' });
        ctx.onProgress({ phase: 'build', step: 2, total: 2, message: 'COPY model' });
        return Promise.resolve({ name: 'my-model', contentKey: 'k' });
      }),
    });
    const store = createPublishStore(ops);
    await store.getState().dropFiles(dropped, read);
    expect(store.getState()).toMatchObject({ phase: 'form', dir: '/home/staging/my-model-1', fields: { name: 'my-model', title: 'my-model' } });
    await store.getState().build();
    expect(store.getState().fieldErrors).toEqual({ creators: expect.stringMatching(/at least one creator/) });
    expect(calls).toEqual(['upload My Model model.pkl:3', 'init /home/staging/my-model-1 my-model ']);
    store.getState().setField('creators', 'Doe, Jane');
    expect(store.getState().fieldErrors).toEqual({});
    await store.getState().build();
    expect(store.getState().phase).toBe('built');
    expect(store.getState().log.map((e) => e.message)).toEqual(['FROM base', 'COPY model']);
    expect(calls.slice(2)).toEqual(['init /home/staging/my-model-1 my-model Doe, Jane', 'build /home/staging/my-model-1']);
  });

  it('a drop past the limits is refused before anything is sent, with what to do', async () => {
    const store = createPublishStore(fakeOps({}));
    await store.getState().dropFiles({ label: 'x', files: [{ path: '../etc/passwd', file: new Blob(['x']) }] }, read);
    expect(store.getState()).toMatchObject({ phase: 'error', error: { code: 'DROP_REFUSED', hint: expect.stringMatching(/Rename/) } });
  });

  it('a folder with its own dlhub.json is built as it is', async () => {
    const ops = fakeOps({ uploadFolder: (() => Promise.resolve({ dir: '/s/x', files: 2, bytes: 4 })) });
    const store = createPublishStore(ops);
    await store.getState().dropFiles({ label: 'x', files: [{ path: 'dlhub.json', file: new Blob(['{}']) }, { path: 'model.pkl', file: new Blob(['ab']) }] }, read);
    expect(store.getState()).toMatchObject({ phase: 'form', ownMetadata: true });
  });
});

describe('connection store', () => {
  it('marks the service down on an unreachable call and retries by itself until it answers', async () => {
    vi.useFakeTimers();
    let up = false;
    const ops = fakeOps({ status: (() => (up ? Promise.resolve({}) : Promise.reject(unavailable))) });
    const store = createConnectionStore(ops, { retrySeconds: 2 });
    await store.getState().check();
    expect(store.getState()).toMatchObject({ status: 'down', retryInSeconds: 2 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.getState().retryInSeconds).toBe(1);
    up = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.getState().status).toBe('up');
    store.getState().stop();
  });

  it('a refused sign-in is "signed out", not down', () => {
    const store = createConnectionStore(fakeOps({}));
    store.getState().report(Object.assign(new Error('no'), { code: 'UNAUTHORIZED' }));
    expect(store.getState().status).toBe('signed-out');
  });
});

describe('servable store', () => {
  it('runs the chosen method on the form input and keeps the answer; a bad input never reaches the service', async () => {
    const runs: unknown[] = [];
    const ops = fakeOps({
      describeServable: (() => Promise.resolve({ name: 'iris', metadata: {}, methods: { predict: { input: { type: 'ndarray', shape: [null, 2] } }, run: { input: { type: 'ndarray', shape: [null, 2] } } }, deterministic: true })),
      runServable: ((req: unknown) => {
        runs.push(req);
        return Promise.resolve({ servable: 'iris', method: 'run', runtime: 'host', output: [1], cached: runs.length > 1, elapsedMs: 2 });
      }),
    });
    const store = createServableStore(ops);
    await store.getState().open('iris');
    expect(store.getState().method).toBe('run');
    store.getState().setText('1\t2\t3');
    await store.getState().run();
    expect(store.getState().fieldError).toBe('Row 1 has 3 values; each row needs 2.');
    expect(runs).toEqual([]);
    store.getState().setText('1\t2');
    await store.getState().run();
    await store.getState().run();
    expect(runs).toEqual([{ name: 'iris', method: 'run', input: [[1, 2]] }, { name: 'iris', method: 'run', input: [[1, 2]] }]);
    expect(store.getState().result?.cached).toBe(true);
  });
});

describe('tasks and settings stores', () => {
  const task = (id: string, status: TaskInfoValue['status']): TaskInfoValue => ({ id, servable: 'napper', status, batch: false, createdAt: '2026-01-01T00:00:00Z', restarts: 0 });

  it('merges live task changes and retries a call this window submitted', async () => {
    expect(mergeTask([task('a', 'running')], task('a', 'cancelled')).map((t) => t.status)).toEqual(['cancelled']);
    expect(mergeTask([task('a', 'running')], task('b', 'pending')).map((t) => t.id)).toEqual(['b', 'a']);
    const submitted: unknown[] = [];
    const ops = fakeOps({ submitTask: ((req: unknown) => (submitted.push(req), Promise.resolve(task('c', 'pending')))) });
    const store = createTasksStore(ops);
    store.getState().remember('a', { name: 'napper', method: 'nap', input: 5 });
    await store.getState().retry('a');
    expect(submitted).toEqual([{ name: 'napper', method: 'nap', input: 5 }]);
    expect(store.getState().tasks.map((t) => t.id)).toEqual(['c']);
  });

  it('follows the watchTasks stream when the service has it', async () => {
    async function* items() {
      yield task('a', 'running');
      yield task('a', 'succeeded');
    }
    const ops = fakeOps({ listTasks: (() => Promise.resolve([])), watchTasks: (() => items()) });
    const store = createTasksStore(ops);
    store.getState().watch();
    await vi.waitFor(() => expect(store.getState().tasks.map((t) => t.status)).toEqual(['succeeded']));
    store.getState().stop();
  });

  it('settings: clearing the cache reads its figures again; the data folder is memo.db\'s', async () => {
    const stats = (entries: number) => ({ file: '/home/me/.dlhub/memo.db', entries, bytes: entries * 10, budgetBytes: 100, hits: 0, misses: 0, servables: [] });
    let entries = 3;
    const ops = fakeOps({ cacheClear: (() => ((entries = 0), Promise.resolve({ removed: 3 }))), cacheStats: (() => Promise.resolve(stats(entries))) });
    const store = createSettingsStore(ops);
    await store.getState().clearCache();
    expect(store.getState()).toMatchObject({ cleared: 3, cache: { entries: 0 } });
    expect(dataFolder('/home/me/.dlhub/memo.db')).toBe('/home/me/.dlhub');
  });
});

describe('nav store', () => {
  it('keeps the screen in the address hash', () => {
    expect(parseHash('#/servable/me/iris')).toEqual({ screen: 'servable', name: 'me/iris' });
    expect(parseHash('#/nowhere')).toEqual({ screen: 'catalog' });
    expect(formatHash({ screen: 'servable', name: 'a b' })).toBe('#/servable/a%20b');
    const hashes: string[] = [];
    const nav = createNavStore('#/tasks', (h) => hashes.push(h));
    expect(nav.getState().route).toEqual({ screen: 'tasks' });
    nav.getState().go({ screen: 'settings' });
    expect(hashes).toEqual(['#/settings']);
  });
});
