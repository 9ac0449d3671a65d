// A finished task's answers, fetched when the user opens them on Tasks (never for every row).
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { RunOutcome } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** What is known of one task's answers. */
export type AnswersEntry = { state: 'loading' } | { state: 'loaded'; outcome: RunOutcome } | { state: 'failed'; error: ShownError };

/** Answers state. */
export interface AnswersState {
  byTask: Record<string, AnswersEntry>;
  /** Fetch a finished task's answers once. */
  open: (id: string) => Promise<void>;
}

/** The answers store over `ops`. */
export function createAnswersStore(ops: Ops): StoreApi<AnswersState> {
  return createStore<AnswersState>()((set, get) => {
    const put = (id: string, e: AnswersEntry): void => set({ byTask: { ...get().byTask, [id]: e } });
    return {
      byTask: {},
      async open(id) {
        const known = get().byTask[id];
        if (known && known.state !== 'failed') return;
        put(id, { state: 'loading' });
        try {
          put(id, { state: 'loaded', outcome: await ops.getResult({ id }) });
        } catch (err) {
          put(id, { state: 'failed', error: shownError(err) });
        }
      },
    };
  });
}
