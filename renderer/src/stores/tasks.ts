// The tasks screen's state: recent tasks (kept by the service across restarts), updated live from
// the watchTasks stream where the service has it, else by asking again every few seconds; cancel and retry.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OpRequest } from '../../../main/contract/index.js';
import type { Ops, TaskInfoValue } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** Tasks state. */
export interface TasksState {
  tasks: TaskInfoValue[];
  loaded: boolean;
  live: 'stream' | 'polling' | 'off';
  error: ShownError | undefined;
  /** Calls this window submitted, by task id: what Retry sends again. */
  requests: Record<string, OpRequest<'submitTask'>>;
  load: () => Promise<void>;
  /** Keep the list live until `stop()`. */
  watch: () => void;
  stop: () => void;
  cancel: (id: string) => Promise<void>;
  retry: (id: string) => Promise<void>;
  /** Remember a call submitted elsewhere in the window so it can be retried. */
  remember: (id: string, req: OpRequest<'submitTask'>) => void;
}

/** Put a task's new state in the list (newest first). */
export function mergeTask(list: TaskInfoValue[], t: TaskInfoValue): TaskInfoValue[] {
  const i = list.findIndex((x) => x.id === t.id);
  if (i >= 0) return list.map((x, j) => (j === i ? t : x));
  return [t, ...list];
}

/** The tasks store over `ops`. */
export function createTasksStore(ops: Ops, opts: { pollMs?: number; report?: (err: unknown) => void } = {}): StoreApi<TasksState> {
  const report = opts.report ?? (() => {});
  let abort: AbortController | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  return createStore<TasksState>()((set, get) => ({
    tasks: [],
    loaded: false,
    live: 'off',
    error: undefined,
    requests: {},
    async load() {
      try {
        const tasks = await ops.listTasks({ limit: 200 });
        set({ tasks, loaded: true, error: undefined });
      } catch (err) {
        set({ error: shownError(err), loaded: true });
        report(err);
      }
    },
    watch() {
      get().stop();
      void get().load();
      const watchTasks = ops.watchTasks;
      if (watchTasks) {
        const ctl = new AbortController();
        abort = ctl;
        set({ live: 'stream' });
        void (async () => {
          try {
            for await (const t of watchTasks({}, { signal: ctl.signal })) set({ tasks: mergeTask(get().tasks, t) });
          } catch (err) {
            if (ctl.signal.aborted) return;
            report(err);
          }
          // The stream ended (service restarted): fall back to asking until watch() is called again.
          if (!ctl.signal.aborted) startPolling();
        })();
        return;
      }
      startPolling();
      function startPolling(): void {
        set({ live: 'polling' });
        poll = setInterval(() => void get().load(), opts.pollMs ?? 2000);
      }
    },
    stop() {
      abort?.abort();
      abort = undefined;
      if (poll) clearInterval(poll);
      poll = undefined;
      set({ live: 'off' });
    },
    async cancel(id) {
      try {
        const t = await ops.cancelTask({ id });
        set({ tasks: mergeTask(get().tasks, t) });
      } catch (err) {
        set({ error: shownError(err) });
        report(err);
      }
    },
    async retry(id) {
      const req = get().requests[id];
      if (!req) return;
      try {
        const t = await ops.submitTask(req);
        set({ tasks: mergeTask(get().tasks, t), requests: { ...get().requests, [t.id]: req } });
      } catch (err) {
        set({ error: shownError(err) });
        report(err);
      }
    },
    remember(id, req) {
      set({ requests: { ...get().requests, [id]: req } });
    },
  }));
}
