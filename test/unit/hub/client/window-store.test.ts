// The window's hub store over a fake `Ops`: actions call the contract's hub operations, say what
// happened in words (queued while the hub is away, published, pulled), show errors, and refresh the
// online badge, last sync and outbox after each action.
import { describe, expect, it } from 'vitest';
import type { Ops } from '../../../../renderer/src/client/ops.js';
import { createHubStore, progressText, workNotice } from '../../../../renderer/src/stores/hub.js';

function fakeOps(impl: Partial<Record<keyof Ops, (...a: never[]) => unknown>>): Ops {
  return new Proxy({} as Ops, { get: (_t, op: string) => impl[op as keyof Ops] ?? (() => Promise.reject(new Error(`unexpected call ${op}`))) });
}

const status = { hub: 'http://127.0.0.1:8770', user: 'alice', online: false, lastSync: '2026-12-07T05:00:00.000Z', queued: 1, failed: 0 };
const queuedItem = { id: 1, kind: 'publish' as const, name: 'iris', detail: 'private', status: 'queued' as const, attempts: 1, createdAt: '', updatedAt: '' };

describe('hub store', () => {
  it('publishes, says the work was queued while the hub is away, and shows the outbox after', async () => {
    const calls: unknown[] = [];
    const store = createHubStore(fakeOps({
      publishServable: ((req: unknown) => {
        calls.push(req);
        return Promise.resolve({ status: 'queued', name: 'iris', outboxId: 1, reason: 'The hub cannot be reached' });
      }),
      hubStatus: (() => Promise.resolve(status)),
      listOutbox: (() => Promise.resolve({ items: [queuedItem] })),
    }));
    const r = await store.getState().publish('iris', 'private');
    expect(r?.status).toBe('queued');
    expect(calls).toEqual([{ name: 'iris', visibility: 'private' }]);
    const s = store.getState();
    expect(s.notice).toContain('waits in the outbox');
    expect(s.busy).toBeUndefined();
    expect(s.status).toEqual(status);
    expect(s.outbox).toEqual([queuedItem]);
  });

  it('shows a refused sign-in as an error and keeps the state signed out', async () => {
    const refused = Object.assign(new Error('wrong user or password'), { code: 'UNAUTHORIZED', hint: 'Check the password.' });
    const store = createHubStore(fakeOps({
      hubLogin: (() => Promise.reject(refused)),
      hubStatus: (() => Promise.resolve({ online: true, queued: 0, failed: 0, hub: 'http://h' })),
      listOutbox: (() => Promise.resolve({ items: [] })),
    }));
    await store.getState().login('http://h', 'alice', 'nope');
    expect(store.getState().error?.message).toContain('wrong user or password');
    expect(store.getState().status?.user).toBeUndefined();
  });

  it('keeps the latest progress of a publish while it runs, for whom, and clears it after', async () => {
    let release: () => void = () => undefined;
    const store = createHubStore(fakeOps({
      publishServable: ((_req: unknown, ctx: { onProgress?: (e: unknown) => void }) => {
        ctx.onProgress?.({ phase: 'push', step: 10e6, total: 80e6, message: '1/3 layers' });
        ctx.onProgress?.({ phase: 'push', step: 40e6, total: 80e6, message: '2/3 layers' });
        return new Promise((done) => {
          release = () => done({ status: 'published', name: 'iris', owner: 'alice', version: '1' });
        });
      }),
      hubStatus: (() => Promise.resolve({ ...status, queued: 0 })),
      listOutbox: (() => Promise.resolve({ items: [] })),
    }));
    const running = store.getState().publish('iris', 'group:lab');
    expect(store.getState()).toMatchObject({ busy: 'publish', busyWith: 'iris', progress: { step: 40e6, message: '2/3 layers' } });
    expect(progressText(store.getState().progress, 'publish')).toBe('Pushing the image: 2/3 layers, 40 MB of 80 MB');
    release();
    await running;
    expect(store.getState()).toMatchObject({ busy: undefined, busyWith: undefined, progress: undefined, notice: 'Published alice/iris@1.' });
  });

  it('says work waits while the outbox has queued or running entries, and not once all is sent', async () => {
    let items = [queuedItem];
    let queued = 1;
    const store = createHubStore(fakeOps({
      hubStatus: (() => Promise.resolve({ ...status, queued })),
      listOutbox: (() => Promise.resolve({ items })),
    }));
    await store.getState().refresh();
    expect(store.getState().waiting()).toBe(true);
    items = [{ ...queuedItem, status: 'done' as never }];
    queued = 0;
    await store.getState().refresh();
    expect(store.getState().waiting()).toBe(false);
    expect(store.getState().notice).toBe('What waited in the outbox has been sent to the hub.');
  });

  it('words a pull\'s steps: the hub\'s answer, then the image\'s bytes', () => {
    expect(progressText(undefined, 'pull')).toBe('Asking the hub…');
    expect(progressText({ phase: 'pull', step: 0, total: 1, message: 'Asking http://h for alice/noop' }, 'pull')).toBe('Asking http://h for alice/noop');
    expect(progressText({ phase: 'pull', step: 5e5, total: 2e6, message: '0/2 layers' }, 'pull')).toBe('Pulling the image: 0/2 layers, 0.5 MB of 2.0 MB');
  });

  it('words each outcome of a publish or share', () => {
    expect(workNotice({ status: 'published', name: 'iris', owner: 'alice', version: '2' })).toBe('Published alice/iris@2.');
    expect(workNotice({ status: 'unchanged', name: 'iris', owner: 'alice', version: '2' })).toContain('already on the hub');
    expect(workNotice({ status: 'shared', name: 'iris', owner: 'alice' })).toBe('Shared alice/iris.');
  });
});
