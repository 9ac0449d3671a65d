// The settings screen's state: runtimes with whether each is available and why not, the memo
// cache's size (and clearing it), the data folder, and the engine's limits.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OpResponse } from '../../../main/contract/index.js';
import type { Ops, RuntimeAvailability } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** Settings state. */
export interface SettingsState {
  runtimes: RuntimeAvailability[] | undefined;
  status: OpResponse<'status'> | undefined;
  cache: OpResponse<'cacheStats'> | undefined;
  error: ShownError | undefined;
  clearing: boolean;
  /** How many entries the last clear removed. */
  cleared: number | undefined;
  load: () => Promise<void>;
  clearCache: () => Promise<void>;
}

/** The folder that holds memo.db: the data folder ($DLHUB_HOME). */
export function dataFolder(cacheFile: string | undefined): string | undefined {
  if (!cacheFile) return undefined;
  const i = Math.max(cacheFile.lastIndexOf('/'), cacheFile.lastIndexOf('\\'));
  return i > 0 ? cacheFile.slice(0, i) : cacheFile;
}

/** The settings store over `ops`. */
export function createSettingsStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<SettingsState> {
  return createStore<SettingsState>()((set) => ({
    runtimes: undefined,
    status: undefined,
    cache: undefined,
    error: undefined,
    clearing: false,
    cleared: undefined,
    async load() {
      try {
        const [status, runtimes] = await Promise.all([ops.status({}), ops.listRuntimes ? ops.listRuntimes({}) : Promise.resolve(undefined)]);
        set({ status, cache: status.cache, runtimes, error: undefined });
      } catch (err) {
        set({ error: shownError(err) });
        report(err);
      }
    },
    async clearCache() {
      set({ clearing: true });
      try {
        const { removed } = await ops.cacheClear({});
        const cache = await ops.cacheStats({});
        set({ cache, cleared: removed, clearing: false });
      } catch (err) {
        set({ error: shownError(err), clearing: false });
        report(err);
      }
    },
  }));
}
