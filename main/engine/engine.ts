import type { MemoCache } from '../memo/memo-cache.js';
import { memoKey } from '../memo/key.js';
import { InputError, LimitError, NotFoundError, TaskError, WorkerError, errorFromJSON, toDlhubError, type ErrorJSON } from '../errors.js';
import type { HomePaths } from '../storage/home.js';
import { getLocalCached, type LocalServable } from '../servable/registry.js';
import { checkInput, checkInputSize } from '../servable/input-check.js';
import type { ArgumentType, MethodMetadata } from '../servable/metadata.js';
import { decodeStoredResult, encodeResultFrame, encodeValue } from '../runtime/protocol/values.js';
import type { RuntimeRegistry, RuntimeRecord } from '../runtime/registry.js';
import type { RuntimeName } from '../runtime/runtime.js';
import { WorkerPool, type ItemResult } from './pool.js';
import { isPipeline, runPipeline } from './pipeline.js';
import type { Settings } from './settings.js';
import { concurrencyError, RateLimiter, timeoutError } from './limits.js';
import { isFinished, TaskStore, type ClaimedTask, type StoredOutcome, type StoredRequest } from './task-store.js';
import type { EngineStatus, TaskInfo, TaskStatus } from './task-types.js';

/** One call of a servable, as every door (CLI, SDK, HTTP, gRPC) asks for it. */
export interface RunRequest {
  name: string;
  method?: string | undefined;
  /** One input; give `inputs` instead for a batch. */
  input?: unknown;
  inputs?: unknown[] | undefined;
  noCache?: boolean | undefined;
  runtime?: RuntimeName | undefined;
  parameters?: Record<string, unknown> | undefined;
}

/** What came back, and where it came from. */
export interface RunOutcome {
  servable: string;
  method: string;
  runtime: RuntimeName;
  /** The output, or one output per input for a batch (null where that input failed). */
  output: unknown;
  /** Whether the memo cache answered (per input for a batch). */
  cached: boolean | boolean[];
  elapsedMs: number;
  /**
   * The model's own time inside the runner for the inputs computed in this call, in ms (0 when the memo cache
   * answered them all); absent when a worker's runner predates the figure. At most elapsedMs.
   */
  inferenceMs?: number | undefined;
  /** Batch only, and only when some input failed: per input, the typed error it raised, or null. */
  errors?: (ErrorJSON | null)[] | undefined;
  /** A pipeline only: how each step went (pipeline.ts's StepOutcome). */
  steps?: { step: number; servable: string; method: string; runtime: RuntimeName; cached: boolean | boolean[]; elapsedMs: number }[] | undefined;
}

/** Per-call options the engine adds to a request. */
export interface CallOptions {
  /** Give up after this long with TIMEOUT; the worker that overran is stopped. Default: DLHUB_TIMEOUT_SECONDS. */
  timeoutMs?: number | undefined;
}

interface Prepared {
  key: Buffer | undefined;
  encoded: { json: unknown; buffers: Buffer[] };
}

interface Exec {
  timeoutMs: number | undefined;
  fromSetting: boolean;
  signal?: AbortSignal | undefined;
}

interface RunningTask {
  controller: AbortController;
  deterministic: boolean;
  done: Promise<void>;
}

const POLL_MS = 100;
const CANCEL_POLL_MS = 500;
// setTimeout fires at once for delays over 2^31-1 ms; a wait of Infinity sleeps in pieces of this size.
const MAX_SLEEP_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Runs servables: memo lookup, then a warm worker of the chosen runtime, through a pool with
 * replicas and adaptive batching. Also runs asynchronous tasks stored in state.db.
 */
export class Engine {
  readonly pool: WorkerPool;
  /** The client-side rate limit: the SDK and CLI doors call `take()` once per call (see limits.ts). */
  readonly limiter: RateLimiter;
  private inFlight = 0;
  private store: TaskStore | undefined;
  private recovered = false;
  private adopted = false;
  private closing = false;
  private readonly taskQueue: string[] = [];
  private readonly running = new Map<string, RunningTask>();

  constructor(
    private readonly paths: HomePaths,
    private readonly settings: Settings,
    private readonly memo: MemoCache,
    private readonly runtimes: RuntimeRegistry,
  ) {
    this.pool = new WorkerPool({
      idleMs: settings.idleMs,
      replicasFor: (name) => settings.replicas.perServable[name] ?? settings.replicas.default,
      maxWorkers: settings.maxWorkers,
      batchMax: settings.batchMax,
      batchDelayMs: settings.batchDelayMs,
    });
    this.limiter = new RateLimiter(settings.rateLimit);
  }

  /** Run one input or a batch; repeated inputs of deterministic servables come from the memo cache. */
  async run(req: RunRequest & CallOptions): Promise<RunOutcome> {
    if (this.inFlight >= this.settings.maxConcurrency) throw concurrencyError(this.settings.maxConcurrency);
    this.inFlight += 1;
    try {
      return await this.execute(req, { timeoutMs: req.timeoutMs ?? this.settings.timeoutMs, fromSetting: req.timeoutMs === undefined });
    } finally {
      this.inFlight -= 1;
      this.pumpTasks();
    }
  }

  private async execute(req: RunRequest, exec: Exec): Promise<RunOutcome> {
    const started = performance.now();
    const servable = getLocalCached(this.paths, req.name);
    // Pipelines (helper H6): a pipeline servable branches here to main/engine/pipeline.ts, before any runtime is chosen.
    if (isPipeline(servable.metadata)) return runPipeline((r, timeoutMs) => this.execute(r, { ...exec, timeoutMs }), servable, req, exec);
    const [methodName, method] = resolveMethod(servable, req.method);
    const batch = req.inputs !== undefined;
    const inputs = batch ? (req.inputs ?? []) : [req.input];
    if (batch && inputs.length === 0) {
      throw new InputError('INPUT_INVALID', 'The batch is empty.', { hint: 'Give at least one input in the batch.' });
    }
    const useMemo = !req.noCache && servable.metadata.servable.deterministic !== false && req.parameters === undefined;
    const prepared: Prepared[] = inputs.map((input, i) => this.prepare(input, method.input, batch ? `inputs[${i}]` : 'input'));
    const outputs: unknown[] = new Array<unknown>(inputs.length).fill(null);
    const cached: boolean[] = new Array<boolean>(inputs.length).fill(false);
    const errors: (ErrorJSON | null)[] = new Array<ErrorJSON | null>(inputs.length).fill(null);
    let misses = inputs.map((_, i) => i);
    let inferenceMs: number | undefined = 0;

    // A cached answer belongs to an image (or host build), not to a live engine: look it up before
    // probing any runtime, so a memo hit never pays for a ping or a worker.
    let record = this.runtimes.guess(servable, req.runtime);
    if (useMemo) misses = await this.lookup(servable, record, methodName, prepared, misses, outputs, cached);
    if (misses.length > 0) {
      const chosen = await this.runtimes.select(servable, req.runtime);
      if (useMemo && chosen !== record) misses = await this.lookup(servable, chosen, methodName, prepared, misses, outputs, cached);
      record = chosen;
    }

    if (misses.length > 0) {
      const items = await this.callWorker(servable, record, methodName, misses.map((i) => inputs[i]), !batch, req.parameters, exec);
      misses.forEach((i, j) => {
        const item = items[j];
        if (!item) return;
        if (item.ok) {
          outputs[i] = item.output;
          inferenceMs = inferenceMs === undefined || item.inferenceMs === undefined ? undefined : inferenceMs + item.inferenceMs;
          this.remember(prepared[i]?.key, servable.name, methodName, item.raw);
        } else {
          if (!batch) throw item.error;
          errors[i] = item.error.toJSON() as unknown as ErrorJSON;
        }
      });
    }
    const outcome: RunOutcome = {
      servable: servable.name,
      method: methodName,
      runtime: record.name,
      output: batch ? outputs : outputs[0],
      cached: batch ? cached : cached[0] ?? false,
      elapsedMs: performance.now() - started,
    };
    if (inferenceMs !== undefined) outcome.inferenceMs = inferenceMs;
    if (batch && errors.some((e) => e !== null)) outcome.errors = errors;
    return outcome;
  }

  private async callWorker(
    servable: LocalServable,
    record: RuntimeRecord,
    method: string,
    inputs: unknown[],
    single: boolean,
    parameters: Record<string, unknown> | undefined,
    exec: Exec,
  ): Promise<ItemResult[]> {
    const digest = await record.digest(servable);
    const key = `${record.name}:${servable.name}:${digest}`;
    const spec = await record.workerSpec(servable, { memoryBytes: this.settings.workerMemoryBytes, pidsLimit: this.settings.workerPidsLimit });
    const timeoutMs = exec.timeoutMs;
    return this.pool.call(key, { servable: servable.name, runtime: record.runtime, spec }, {
      method,
      inputs,
      single,
      parameters,
      timeoutMs,
      onTimeout: () => timeoutError(servable.name, timeoutMs ?? 0, exec.fromSetting),
      signal: exec.signal,
    });
  }

  /** Fill in memo hits among `indices` under the digest of `record`; returns the misses. */
  private async lookup(
    servable: LocalServable,
    record: RuntimeRecord,
    method: string,
    prepared: Prepared[],
    indices: number[],
    outputs: unknown[],
    cached: boolean[],
  ): Promise<number[]> {
    const digest = await record.digest(servable);
    const misses: number[] = [];
    for (const i of indices) {
      const p = prepared[i];
      if (!p) continue;
      p.key = memoKey({ digest, method, input: p.encoded });
      const hit = this.memo.get(p.key);
      if (hit) {
        outputs[i] = decodeStoredResult(hit);
        cached[i] = true;
      } else {
        misses.push(i);
      }
    }
    return misses;
  }

  private remember(key: Buffer | undefined, servable: string, method: string, value: Buffer | undefined): void {
    if (key && value) this.memo.put(key, { servable, method, value });
  }

  private prepare(input: unknown, type: ArgumentType | undefined, path: string): Prepared {
    if (type) checkInput(input, type, path);
    const encoded = encodeValue(input);
    const size = Buffer.byteLength(JSON.stringify(encoded.json) ?? '') + encoded.buffers.reduce((n: number, b: Buffer) => n + b.length, 0);
    checkInputSize(size, this.settings.maxInputBytes);
    return { encoded, key: undefined };
  }

  // ---- asynchronous tasks ----

  private tasksDb(): TaskStore {
    this.store ??= new TaskStore(this.paths.stateDb);
    if (!this.recovered) {
      this.recovered = true;
      this.store.recover(false, (r) => this.orphanError(r));
    }
    return this.store;
  }

  private orphanError(r: { id: string; servable: string; ownerPid: number | null }): ErrorJSON {
    const who = r.ownerPid === null ? 'the process running it closed' : `the process running it (pid ${r.ownerPid}) stopped`;
    return new WorkerError('RUNNER_DIED', `Task ${r.id} did not finish: ${who}, and servable "${r.servable}" is not deterministic, so it was not run again.`, {
      hint: 'Submit it again if you still want an answer.',
      details: { task: r.id, ownerPid: r.ownerPid },
    }).toJSON() as unknown as ErrorJSON;
  }

  /**
   * Take over the tasks of processes that are gone: unfinished tasks of deterministic servables (and
   * any that never started) run again here; non-deterministic ones that were running are marked
   * failed with the reason. `dlhub serve` calls this at start; submit and a waiting result call it lazily.
   */
  recover(): string[] {
    const store = this.tasksDb();
    this.adopted = true;
    const ids = store.recover(true, (r) => this.orphanError(r));
    this.taskQueue.push(...ids);
    this.pumpTasks();
    return ids;
  }

  /** Record a task and return at once; it runs in this process as soon as a concurrency slot is free. */
  submit(req: RunRequest & CallOptions): TaskInfo {
    const store = this.tasksDb();
    if (!this.adopted) this.recover();
    const servable = getLocalCached(this.paths, req.name);
    const [methodName, method] = resolveMethod(servable, req.method);
    const batch = req.inputs !== undefined;
    const inputs = batch ? (req.inputs ?? []) : [req.input];
    if (batch && inputs.length === 0) {
      throw new InputError('INPUT_INVALID', 'The batch is empty.', { hint: 'Give at least one input in the batch.' });
    }
    // Refuse a bad input now, not when the task runs.
    inputs.forEach((input, i) => this.prepare(input, method.input, batch ? `inputs[${i}]` : 'input'));
    const encoded = encodeValue(batch ? inputs : req.input);
    const request: StoredRequest = { name: req.name, method: req.method, noCache: req.noCache, runtime: req.runtime, parameters: req.parameters, timeoutMs: req.timeoutMs };
    const info = store.insert({
      servable: servable.name,
      method: methodName,
      batch,
      deterministic: servable.metadata.servable.deterministic !== false,
      request,
      input: encodeResultFrame(encoded.json, encoded.buffers),
    });
    this.taskQueue.push(info.id);
    this.pumpTasks();
    return info;
  }

  /** One task's state; TASK_NOT_FOUND when the id is unknown. */
  task(id: string): TaskInfo {
    return this.tasksDb().get(id);
  }

  /** Tasks, newest first. */
  tasks(filter: { status?: TaskStatus; limit?: number } = {}): TaskInfo[] {
    return this.tasksDb().list(filter);
  }

  /**
   * The answer of a task, waiting up to `waitMs` (default 0; Infinity waits for it). A failed task
   * re-raises its typed error; a cancelled one raises CANCELLED; one still unfinished raises TIMEOUT
   * with its status in the details.
   */
  async result(id: string, opts: { waitMs?: number } = {}): Promise<RunOutcome> {
    const store = this.tasksDb();
    const waitMs = opts.waitMs ?? 0;
    if (waitMs > 0 && !this.adopted) this.recover();
    const deadline = performance.now() + waitMs;
    for (;;) {
      const { info, outcome, output } = store.result(id);
      if (info.status === 'succeeded' && outcome && output) {
        return { ...outcome, runtime: outcome.runtime as RuntimeName, output: decodeStoredResult(output), ...(outcome.errors ? { errors: outcome.errors } : {}) };
      }
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
    const store = this.tasksDb();
    const error = new TaskError('CANCELLED', `Task ${id} was cancelled.`, { hint: 'Submit it again if you still want an answer.', details: { task: id } });
    store.cancel(id, error.toJSON() as unknown as ErrorJSON);
    this.running.get(id)?.controller.abort();
    return store.get(id);
  }

  /** Workers, queue, task counts and limits, for `dlhub status`. */
  status(): EngineStatus {
    return {
      workers: this.pool.workers(),
      queued: this.pool.queued() + this.taskQueue.length,
      inFlight: this.inFlight,
      tasks: this.tasksDb().counts(),
      limits: {
        maxConcurrency: this.settings.maxConcurrency,
        maxReplicasPerServable: this.settings.replicas.default,
        maxReplicasTotal: this.settings.maxWorkers,
        rateLimit: this.settings.rateLimit,
        timeoutMs: this.settings.timeoutMs,
      },
    };
  }

  /** Stop the workers of one servable only (e.g. before `dlhub rm`); calls to other servables go on. */
  async stopServable(name: string): Promise<void> {
    await this.pool.stopServable(name);
  }

  private pumpTasks(): void {
    while (!this.closing && this.taskQueue.length > 0 && this.inFlight < this.settings.maxConcurrency && this.store) {
      const id = this.taskQueue.shift() as string;
      const claimed = this.store.claim(id);
      if (!claimed) continue;
      this.inFlight += 1;
      const controller = new AbortController();
      const entry: RunningTask = { controller, deterministic: true, done: Promise.resolve() };
      entry.done = this.runTask(claimed, entry).finally(() => {
        this.running.delete(id);
        this.inFlight -= 1;
        this.pumpTasks();
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
        if (store.status(task.id) === 'cancelled') entry.controller.abort();
      } catch {
        // The store may be closing with the engine; the task ends with it.
      }
    }, CANCEL_POLL_MS);
    watch.unref();
    try {
      const value = decodeStoredResult(task.input);
      const servable = getLocalCached(this.paths, r.name);
      entry.deterministic = servable.metadata.servable.deterministic !== false;
      const req: RunRequest = {
        name: r.name,
        method: r.method,
        noCache: r.noCache,
        runtime: r.runtime as RuntimeName | undefined,
        parameters: r.parameters,
        ...(task.batch ? { inputs: value as unknown[] } : { input: value }),
      };
      const outcome = await this.execute(req, { timeoutMs: r.timeoutMs ?? this.settings.timeoutMs, fromSetting: r.timeoutMs === undefined, signal: entry.controller.signal });
      const encoded = encodeValue(outcome.output);
      const steps = outcome.steps;
      const stored: StoredOutcome = {
        servable: outcome.servable, method: outcome.method, runtime: outcome.runtime, cached: outcome.cached, elapsedMs: outcome.elapsedMs,
        errors: outcome.errors, inferenceMs: outcome.inferenceMs, ...(steps ? { steps } : {}),
      };
      store.succeed(task.id, stored, encodeResultFrame(encoded.json, encoded.buffers));
    } catch (err) {
      if (this.closing) {
        // This process is going away mid-task: a deterministic task is handed to the next process, others fail with the reason.
        if (entry.deterministic) store.release(task.id, true);
        else store.fail(task.id, this.orphanError({ id: task.id, servable: r.name, ownerPid: null }));
        return;
      }
      store.fail(task.id, toDlhubError(err).toJSON() as unknown as ErrorJSON);
    } finally {
      clearInterval(watch);
    }
  }

  /**
   * Stop every warm worker, after letting calls in flight finish for up to `drainMs` (default 0);
   * tasks not finished here are handed to the next process that opens this home.
   */
  async close(opts: { drainMs?: number } = {}): Promise<void> {
    this.closing = true;
    for (const id of this.taskQueue.splice(0)) this.store?.release(id, false);
    // A graceful stop (SIGINT to `dlhub serve`) lets calls in flight finish first, up to drainMs.
    const until = performance.now() + (opts.drainMs ?? 0);
    while (this.inFlight > 0 && performance.now() < until) await sleep(Math.min(20, until - performance.now()));
    await this.pool.stopAll();
    await Promise.all([...this.running.values()].map((t) => t.done.catch(() => undefined)));
    this.store?.close();
    this.store = undefined;
  }
}

/** The method to call: the one named, else `run` (DLHub's default), else the first one declared. */
export function resolveMethod(servable: LocalServable, requested: string | undefined): [string, MethodMetadata] {
  const methods = servable.metadata.servable.methods ?? {};
  const names = Object.keys(methods);
  const name = requested ?? (names.includes('run') ? 'run' : names[0]);
  const method = name === undefined ? undefined : methods[name];
  if (name === undefined || method === undefined) {
    throw new NotFoundError('METHOD_NOT_FOUND', `Servable "${servable.name}" has no method "${requested ?? ''}".`, {
      hint: names.length > 0 ? `Its methods are: ${names.join(', ')}. Choose one with --method.` : 'Its dlhub.json declares no methods under servable.methods.',
    });
  }
  return [name, method];
}
