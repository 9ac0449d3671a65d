// Asynchronous tasks: recorded in state.db, run in this process as concurrency slots free up, kept
// across restarts. A task's answers are written as soon as its worker gives them, so a process
// killed mid-task leaves them for the next one.
import { LimitError, TaskError, WorkerError, errorFromJSON, toDlhubError, type ErrorJSON } from '../errors.js';
import type { HomePaths } from '../storage/home.js';
import { getLocalCached } from '../servable/registry.js';
import { decodeStoredResult, encodeResultFrame, encodeValue } from '../runtime/protocol/values.js';
import type { RunPath } from './run-path.js';
import type { Settings } from './settings.js';
import type { Slots } from './slots.js';
import { isFinished, TaskStore, type Orphan, type OrphanVerdict } from './task-store.js';
import type { RunOutcome, RunRequest, TaskInfo, TaskProgress, TaskStatus } from '../contract/index.js';
import type { AnswerPart, ClaimedTask, StoredOutcome, StoredRequest } from './types.js';

interface RunningTask {
  controller: AbortController;
  deterministic: boolean;
  /** Answers already kept in state.db for it. */
  parts: number;
  done: Promise<void>;
}

const POLL_MS = 100;
const CANCEL_POLL_MS = 500;
// setTimeout fires at once for delays over 2^31-1 ms; a wait of Infinity sleeps in pieces of this size.
const MAX_SLEEP_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function frameOf(value: unknown): Buffer {
  const encoded = encodeValue(value);
  return encodeResultFrame(encoded.json, encoded.buffers);
}

/** The error of a task whose process went away before it finished, when it is not run again. */
function orphanError(r: { id: string; servable: string; ownerPid: number | null }): ErrorJSON {
  const who = r.ownerPid === null ? 'the process running it closed' : `the process running it (pid ${r.ownerPid}) stopped`;
  return new WorkerError('RUNNER_DIED', `Task ${r.id} did not finish: ${who}, and servable "${r.servable}" is not deterministic, so it was not run again.`, {
    hint: 'Submit it again if you still want an answer.',
    details: { task: r.id, ownerPid: r.ownerPid },
  }).toJSON() as unknown as ErrorJSON;
}

/**
 * What becomes of a task whose process is gone. Answers its worker had given are kept: when they
 * answer every input the task succeeds with them, whatever the servable. Otherwise a deterministic
 * task (or one that never started) runs again; a non-deterministic one is not run twice: a batch
 * keeps the answers it has and the other inputs fail with RUNNER_DIED, a single call fails.
 */
export function orphanVerdict(o: Orphan): OrphanVerdict {
  if (o.parts.length === 0) {
    return o.status === 'running' && !o.deterministic ? { kind: 'fail', error: orphanError(o) } : { kind: 'rerun' };
  }
  const count = o.batch ? (decodeStoredResult(o.input()) as unknown[]).length : 1;
  const outputs: unknown[] = new Array<unknown>(count).fill(null);
  const errors: (ErrorJSON | null)[] = new Array<ErrorJSON | null>(count).fill(null);
  const answered = new Array<boolean>(count).fill(false);
  let elapsedMs = 0;
  let runtime = '';
  for (const part of o.parts) {
    const answer = decodeStoredResult(part.answer) as { outputs: unknown[]; errors: (ErrorJSON | null)[] };
    part.items.forEach((i, j) => {
      if (i < 0 || i >= count) return;
      outputs[i] = answer.outputs[j] ?? null;
      errors[i] = answer.errors[j] ?? null;
      answered[i] = true;
    });
    elapsedMs = Math.max(elapsedMs, part.elapsedMs);
    runtime = part.runtime;
  }
  const complete = answered.every(Boolean);
  if (!complete && o.deterministic) return { kind: 'rerun' };
  if (!complete) {
    const lost = orphanError(o);
    answered.forEach((done, i) => {
      if (!done) errors[i] = lost;
    });
  }
  const outcome: StoredOutcome = {
    servable: o.servable,
    method: o.method ?? '',
    runtime,
    cached: o.batch ? outputs.map(() => false) : false,
    elapsedMs,
    ...(errors.some((e) => e !== null) ? { errors } : {}),
  };
  return { kind: 'succeed', outcome, output: frameOf(o.batch ? outputs : outputs[0]) };
}

/** Records, runs, recovers and reports asynchronous tasks; `subscribe` hears every state change made here. */
export class TaskScheduler {
  private store: TaskStore | undefined;
  private recovered = false;
  private adopted = false;
  private closing = false;
  private readonly queue: string[] = [];
  private readonly running = new Map<string, RunningTask>();
  private readonly listeners = new Set<(t: TaskInfo) => void>();
  /** How far each task running here has got (not kept in state.db: another process sees none). */
  private readonly progress = new Map<string, TaskProgress>();

  constructor(
    private readonly paths: HomePaths,
    private readonly settings: Settings,
    private readonly runPath: RunPath,
    private readonly slots: Slots,
  ) {
    slots.onFree(() => this.pump());
  }

  /** Call `listener` with the task's new state on every change this process makes (or sees first); returns the unsubscribe. */
  subscribe(listener: (t: TaskInfo) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(ids: readonly string[]): void {
    if (this.listeners.size === 0 || !this.store) return;
    for (const id of ids) {
      let info: TaskInfo;
      try {
        info = this.withProgress(this.store.get(id));
      } catch {
        continue; // the store is closing with the engine
      }
      for (const listener of [...this.listeners]) {
        try {
          listener(info);
        } catch {
          // A listener's own failure (a closed stream, say) must not stop the tasks.
        }
      }
    }
  }

  /** The task with its progress while it runs here. */
  private withProgress(t: TaskInfo): TaskInfo {
    const p = this.progress.get(t.id);
    return p && t.status === 'running' ? { ...t, progress: p } : t;
  }

  private db(): TaskStore {
    this.store ??= new TaskStore(this.paths.stateDb);
    if (!this.recovered) {
      this.recovered = true;
      this.emit(this.store.recover(false, orphanVerdict).settled);
    }
    return this.store;
  }

  /**
   * Take over the tasks of processes that are gone (see orphanVerdict). `dlhub serve` calls this at
   * start; submit and a waiting result call it lazily. Returns the ids taken over to run here.
   */
  recover(): string[] {
    const store = this.db();
    this.adopted = true;
    const { adopted, settled } = store.recover(true, orphanVerdict);
    this.emit([...settled, ...adopted]);
    this.queue.push(...adopted);
    this.pump();
    return adopted;
  }

  /** Record a task and return at once; it runs in this process as soon as a concurrency slot is free. */
  submit(req: RunRequest): TaskInfo {
    const store = this.db();
    if (!this.adopted) this.recover();
    // Refuse a bad input now, not when the task runs.
    const { servable, method, batch } = this.runPath.check(req);
    const request: StoredRequest = { name: req.name, method: req.method, noCache: req.noCache, runtime: req.runtime, on: req.on, parameters: req.parameters, timeoutMs: req.timeoutMs };
    const info = store.insert({
      servable: servable.name,
      method,
      batch,
      deterministic: servable.metadata.servable.deterministic !== false,
      request,
      input: frameOf(batch ? req.inputs : req.input),
    });
    this.emit([info.id]);
    this.queue.push(info.id);
    this.pump();
    return info;
  }

  /** One task's state; TASK_NOT_FOUND when the id is unknown. */
  get(id: string): TaskInfo {
    return this.withProgress(this.db().get(id));
  }

  /** Tasks, newest first. */
  list(filter: { status?: TaskStatus | undefined; limit?: number | undefined } = {}): TaskInfo[] {
    return this.db().list(filter).map((t) => this.withProgress(t));
  }

  /** How many tasks are in each status. */
  counts(): Record<TaskStatus, number> {
    return this.db().counts();
  }

  /** Tasks waiting here for a concurrency slot. */
  queued(): number {
    return this.queue.length;
  }

  /**
   * The answer of a task, waiting up to `waitMs` (default 0; Infinity waits for it). A failed task
   * re-raises its typed error; a cancelled one raises CANCELLED; one still unfinished raises TIMEOUT
   * with its status in the details.
   */
  async result(id: string, opts: { waitMs?: number } = {}): Promise<RunOutcome> {
    const store = this.db();
    const waitMs = opts.waitMs ?? 0;
    if (waitMs > 0 && !this.adopted) this.recover();
    const deadline = performance.now() + waitMs;
    for (;;) {
      const { info, outcome, output } = store.result(id);
      if (info.status === 'succeeded' && outcome && output) return { ...outcome, output: decodeStoredResult(output) };
      if (isFinished(info.status)) {
        throw errorFromJSON(info.error ?? { code: 'INTERNAL', message: `Task ${id} ${info.status} without a recorded error.` });
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new LimitError('TIMEOUT', `Task ${id} is still ${info.status}${waitMs > 0 ? ` after waiting ${Math.round(waitMs)} ms` : ''}.`, {
          hint: 'Ask again later (`dlhub task ID --wait` waits for it), or cancel it with `dlhub cancel ID`.',
          details: { limit: 'wait', task: id, status: info.status, waitMs },
        });
      }
      // A task running here wakes the waiter when it ends; one in another process is polled.
      const local = this.running.get(id);
      await (local ? Promise.race([local.done, sleep(Math.min(left, MAX_SLEEP_MS))]) : sleep(Math.min(POLL_MS, left)));
    }
  }

  /** Cancel a task that has not finished (a running one here has its worker stopped); returns its state. */
  cancel(id: string): TaskInfo {
    const store = this.db();
    const error = new TaskError('CANCELLED', `Task ${id} was cancelled.`, { hint: 'Submit it again if you still want an answer.', details: { task: id } });
    if (store.cancel(id, error.toJSON() as unknown as ErrorJSON)) this.emit([id]);
    this.running.get(id)?.controller.abort();
    return store.get(id);
  }

  private pump(): void {
    while (!this.closing && this.queue.length > 0 && this.store && this.slots.tryTake()) {
      const id = this.queue.shift() as string;
      const claimed = this.store.claim(id);
      if (!claimed) {
        this.slots.release();
        continue;
      }
      this.emit([id]);
      const entry: RunningTask = { controller: new AbortController(), deterministic: true, parts: 0, done: Promise.resolve() };
      entry.done = this.runTask(claimed, entry).finally(() => {
        this.running.delete(id);
        this.slots.release();
      });
      this.running.set(id, entry);
    }
  }

  private async runTask(task: ClaimedTask, entry: RunningTask): Promise<void> {
    const store = this.store;
    if (!store) return;
    const r = task.request;
    // A cancel from another process (a CLI without the service) only reaches state.db: watch for it, so the worker stops here too.
    const watch = setInterval(() => {
      try {
        if (store.status(task.id) === 'cancelled' && !entry.controller.signal.aborted) {
          entry.controller.abort();
          this.emit([task.id]);
        }
      } catch {
        // The store may be closing with the engine; the task ends with it.
      }
    }, CANCEL_POLL_MS);
    watch.unref();
    try {
      const value = decodeStoredResult(task.input);
      entry.deterministic = getLocalCached(this.paths, r.name).metadata.servable.deterministic !== false;
      const req: RunRequest = { ...r, ...(task.batch ? { inputs: value as unknown[] } : { input: value }) };
      const keep = (part: AnswerPart): void => {
        if (store.savePart(task.id, { items: part.indices, runtime: part.runtime, elapsedMs: part.elapsedMs, answer: frameOf({ outputs: part.outputs, errors: part.errors }) })) entry.parts += 1;
      };
      const outcome = await this.runPath.execute(req, {
        timeoutMs: r.timeoutMs ?? this.settings.timeoutMs, fromSetting: r.timeoutMs === undefined, signal: entry.controller.signal, onPart: keep,
        onProgress: (p) => {
          this.progress.set(task.id, p);
          this.emit([task.id]);
        },
      });
      const { output, ...stored } = outcome;
      if (store.succeed(task.id, stored, frameOf(output))) this.emit([task.id]);
    } catch (err) {
      if (this.closing) {
        // This process is going away mid-task: a deterministic task, or one with answers kept, is handed
        // to the next process (which finishes it from those answers); others fail with the reason.
        if (entry.deterministic || entry.parts > 0) store.release(task.id, true);
        else store.fail(task.id, orphanError({ id: task.id, servable: r.name, ownerPid: null }));
        this.emit([task.id]);
        return;
      }
      if (store.fail(task.id, toDlhubError(err).toJSON() as unknown as ErrorJSON)) this.emit([task.id]);
    } finally {
      clearInterval(watch);
      this.progress.delete(task.id);
    }
  }

  /** Stop taking tasks and hand queued ones to the next process that opens this home. */
  stop(): void {
    this.closing = true;
    const queued = this.queue.splice(0);
    for (const id of queued) this.store?.release(id, false);
    this.emit(queued);
  }

  /** Wait for tasks still running here to end (the pool has been stopped), then close state.db. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.running.values()].map((t) => t.done.catch(() => undefined)));
    this.store?.close();
    this.store = undefined;
  }
}
