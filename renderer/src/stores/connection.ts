// Whether the service answers. A failed call anywhere reports here; while the service is down the
// store retries by itself and the banner says when the next try is.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Ops } from '../client/ops.js';
import { isUnreachable, shownError } from '../lib/errors.js';

/** The service as the window sees it. */
export interface ConnectionState {
  status: 'checking' | 'up' | 'down' | 'signed-out';
  message: string | undefined;
  /** Seconds until the next automatic try while down. */
  retryInSeconds: number;
  /** Ask the service now. */
  check: () => Promise<void>;
  /** A call failed: a missing service or a refused sign-in changes the state. */
  report: (err: unknown) => void;
  /** Stop the retry timer (on unload, in tests). */
  stop: () => void;
}

/** Options for tests: a shorter retry. */
export interface ConnectionOptions {
  retrySeconds?: number;
}

/** The connection store over `ops`. */
export function createConnectionStore(ops: Ops, opts: ConnectionOptions = {}): StoreApi<ConnectionState> {
  const every = opts.retrySeconds ?? 3;
  let timer: ReturnType<typeof setInterval> | undefined;
  const store = createStore<ConnectionState>()((set, get) => {
    const schedule = (): void => {
      if (timer) return;
      set({ retryInSeconds: every });
      timer = setInterval(() => {
        const left = get().retryInSeconds - 1;
        if (left > 0) set({ retryInSeconds: left });
        else {
          set({ retryInSeconds: every });
          void get().check();
        }
      }, 1000);
    };
    const unschedule = (): void => {
      if (timer) clearInterval(timer);
      timer = undefined;
    };
    return {
      status: 'checking',
      message: undefined,
      retryInSeconds: 0,
      async check() {
        try {
          await ops.status({});
          unschedule();
          set({ status: 'up', message: undefined });
        } catch (err) {
          get().report(err);
        }
      },
      report(err) {
        const e = shownError(err);
        if (isUnreachable(e)) {
          set({ status: 'down', message: e.message });
          schedule();
        } else if (e.code === 'UNAUTHORIZED') {
          unschedule();
          set({ status: 'signed-out', message: e.message });
        }
      },
      stop: unschedule,
    };
  });
  return store;
}
