// The hub as the window sees it: the address and who is signed in, online or offline, the last
// sync, the outbox, and the actions (sign in and out, publish, pull, sync, send the outbox), with
// the live progress of a publish's push or a pull. Every call goes through the contract's
// operations, as the CLI's do.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { HubStatus, HubWorkOutcome, OutboxItem, ProgressEvent, PublishRepositoryOutcome, PullOutcome, SyncOutcome } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** Hub state. */
export interface HubState {
  status: HubStatus | undefined;
  outbox: OutboxItem[];
  busy: string | undefined;
  /** What the action running now is doing: publish or pull, for the servable named. */
  busyWith: string | undefined;
  /** The latest progress event of a publish or pull in progress. */
  progress: ProgressEvent | undefined;
  error: ShownError | undefined;
  /** What the last action did, in words. */
  notice: string | undefined;
  refresh: () => Promise<void>;
  login: (hub: string, user: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  publish: (name: string, visibility: string) => Promise<HubWorkOutcome | undefined>;
  pull: (ref: string) => Promise<PullOutcome | undefined>;
  /** Publish from a git repository (a URL, or a folder on the serving machine) with dlhub.json at its root. */
  publishRepo: (repo: string, ref: string, visibility: string) => Promise<PublishRepositoryOutcome | undefined>;
  sync: () => Promise<SyncOutcome | undefined>;
  drain: () => Promise<void>;
  /** Forget the last action's words and error (a new screen or a new build starts afresh). */
  clearNotice: () => void;
  /** Whether work still waits for the hub (the window then looks again every few seconds). */
  waiting: () => boolean;
}

/** What a publish did, in words. */
export function workNotice(r: HubWorkOutcome): string {
  const what = `${r.owner ? `${r.owner}/` : ''}${r.name}${r.version ? `@${r.version}` : ''}`;
  if (r.status === 'queued') return `The hub cannot be reached: ${what} waits in the outbox and is sent when it is back.`;
  if (r.status === 'unchanged') return `${what} is already on the hub with this content.`;
  return r.status === 'shared' ? `Shared ${what}.` : `Published ${what}.`;
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
}

/** A progress event in words: the image's layers and bytes, or the step's own message. */
export function progressText(e: ProgressEvent | undefined, action: string): string {
  if (!e) return action === 'pull' ? 'Asking the hub…' : 'Starting…';
  if (e.phase === 'push' || (e.phase === 'pull' && e.total > 1)) {
    const verb = e.phase === 'push' ? 'Pushing the image' : 'Pulling the image';
    return e.total > 0 ? `${verb}: ${e.message}, ${megabytes(e.step)} of ${megabytes(e.total)}` : `${verb}: ${e.message}`;
  }
  return e.message;
}

/** What a sync did, in words. */
export function syncNotice(r: SyncOutcome): string {
  return `Synced: ${r.upserted} added or updated, ${r.removed} removed.`;
}

/** The hub store over `ops`; `catalogChanged` hears of a sync, pull or publish from git that changed what the catalog holds. */
export function createHubStore(ops: Ops, report: (err: unknown) => void = () => {}, catalogChanged: () => void = () => {}): StoreApi<HubState> {
  const store = createStore<HubState>()((set, get) => {
    const onProgress = (e: ProgressEvent): void => set({ progress: e });
    /** Tell the catalog when an action that adds to it succeeded. */
    const changes = async <T>(p: Promise<T | undefined>): Promise<T | undefined> => {
      const r = await p;
      if (r !== undefined) catalogChanged();
      return r;
    };
    /** Run one action: busy while it runs, its error shown, the status refreshed after. */
    async function act<T>(label: string, fn: () => Promise<T>, notice: (r: T) => string, busyWith?: string): Promise<T | undefined> {
      set({ busy: label, busyWith, progress: undefined, error: undefined, notice: undefined });
      try {
        const r = await fn();
        // The badge, last sync and outbox are brought up to date before the words say what happened.
        await get().refresh();
        set({ notice: notice(r) });
        return r;
      } catch (err) {
        await get().refresh();
        set({ error: shownError(err) });
        report(err);
        return undefined;
      } finally {
        set({ busy: undefined, busyWith: undefined, progress: undefined });
      }
    }
    return {
      status: undefined,
      outbox: [],
      busy: undefined,
      busyWith: undefined,
      progress: undefined,
      error: undefined,
      notice: undefined,
      async refresh() {
        try {
          const [status, outbox] = await Promise.all([ops.hubStatus({}), ops.listOutbox({})]);
          const wasWaiting = get().waiting();
          set({ status, outbox: outbox.items });
          // "Waits in the outbox" is no longer true once the service has sent it by itself.
          if (wasWaiting && !get().waiting()) set({ notice: 'What waited in the outbox has been sent to the hub.' });
        } catch (err) {
          set({ error: shownError(err) });
        }
      },
      async login(hub, user, password) {
        const who = await act('login', () => ops.hubLogin({ hub, user, password }), (r) => `Signed in to ${r.hub} as ${r.user}.`);
        if (!who) return;
        // A new sign-in brings the hub's catalog in at once, as "Sync now" does, rather than at the next timed sync.
        const signedIn = get().notice ?? '';
        const synced = await get().sync();
        set({ notice: synced ? `${signedIn} ${syncNotice(synced)}` : signedIn });
      },
      logout: async () => void (await act('logout', () => ops.hubLogout({}), (r) => (r.removed ? 'Signed out.' : (r.note ?? 'Not signed in.')))),
      publish: (name, visibility) => act('publish', () => ops.publishServable({ name, visibility }, { onProgress }), workNotice, name),
      publishRepo: (repo, ref, visibility) => changes(act('publish-repo', () => ops.publishRepository({ repo, ...(ref ? { ref } : {}), ...(visibility ? { visibility } : {}) }, { onProgress }), (r) => `${r.repository} at ${r.commit.slice(0, 12)}: ${workNotice(r.publish)}`, repo)),
      pull: (ref) => changes(act('pull', () => ops.pullServable({ ref }, { onProgress }), (r) => `Pulled ${r.owner}/${r.name}@${r.version}; it runs here offline as ${r.name}.`, ref)),
      sync: () => changes(act('sync', () => ops.syncCatalog({}), syncNotice)),
      drain: async () => void (await act('drain', () => ops.drainOutbox({}), (r) => `Sent ${r.sent ?? 0} from the outbox${r.failed ? `, ${r.failed} failed` : ''}.`)),
      clearNotice: () => set({ notice: undefined, error: undefined }),
      waiting: () => (get().status?.queued ?? 0) > 0 || get().outbox.some((i) => i.status === 'queued' || i.status === 'running'),
    };
  });
  return store;
}
