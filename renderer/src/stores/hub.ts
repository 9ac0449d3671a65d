// The hub as the window sees it: the address and who is signed in, online or offline, the last
// sync, the outbox, and the actions (sign in and out, publish, pull, sync, send the outbox). Every
// call goes through the contract's operations, as the CLI's do.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { HubStatus, HubWorkOutcome, OutboxItem, PullOutcome, SyncOutcome } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** Hub state. */
export interface HubState {
  status: HubStatus | undefined;
  outbox: OutboxItem[];
  busy: string | undefined;
  error: ShownError | undefined;
  /** What the last action did, in words. */
  notice: string | undefined;
  refresh: () => Promise<void>;
  login: (hub: string, user: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  publish: (name: string, visibility: string) => Promise<HubWorkOutcome | undefined>;
  pull: (ref: string) => Promise<PullOutcome | undefined>;
  sync: () => Promise<SyncOutcome | undefined>;
  drain: () => Promise<void>;
}

/** What a publish did, in words. */
export function workNotice(r: HubWorkOutcome): string {
  const what = `${r.owner ? `${r.owner}/` : ''}${r.name}${r.version ? `@${r.version}` : ''}`;
  if (r.status === 'queued') return `The hub cannot be reached: ${what} waits in the outbox and is sent when it is back.`;
  if (r.status === 'unchanged') return `${what} is already on the hub with this content.`;
  return r.status === 'shared' ? `Shared ${what}.` : `Published ${what}.`;
}

/** The hub store over `ops`. */
export function createHubStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<HubState> {
  const store = createStore<HubState>()((set, get) => {
    /** Run one action: busy while it runs, its error shown, the status refreshed after. */
    async function act<T>(label: string, fn: () => Promise<T>, notice: (r: T) => string): Promise<T | undefined> {
      set({ busy: label, error: undefined, notice: undefined });
      try {
        const r = await fn();
        set({ notice: notice(r) });
        return r;
      } catch (err) {
        set({ error: shownError(err) });
        report(err);
        return undefined;
      } finally {
        set({ busy: undefined });
        await get().refresh();
      }
    }
    return {
      status: undefined,
      outbox: [],
      busy: undefined,
      error: undefined,
      notice: undefined,
      async refresh() {
        try {
          const [status, outbox] = await Promise.all([ops.hubStatus({}), ops.listOutbox({})]);
          set({ status, outbox: outbox.items });
        } catch (err) {
          set({ error: shownError(err) });
        }
      },
      login: async (hub, user, password) => void (await act('login', () => ops.hubLogin({ hub, user, password }), (r) => `Signed in to ${r.hub} as ${r.user}.`)),
      logout: async () => void (await act('logout', () => ops.hubLogout({}), (r) => (r.removed ? 'Signed out.' : (r.note ?? 'Not signed in.')))),
      publish: (name, visibility) => act('publish', () => ops.publishServable({ name, visibility }), workNotice),
      pull: (ref) => act('pull', () => ops.pullServable({ ref }), (r) => `Pulled ${r.owner}/${r.name}@${r.version}; it runs here offline.`),
      sync: () => act('sync', () => ops.syncCatalog({}), (r) => `Synced: ${r.upserted} added or updated, ${r.removed} removed.`),
      drain: async () => void (await act('drain', () => ops.drainOutbox({}), (r) => `Sent ${r.sent ?? 0} from the outbox${r.failed ? `, ${r.failed} failed` : ''}.`)),
    };
  });
  return store;
}
