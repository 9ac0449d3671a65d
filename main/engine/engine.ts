// The engine as the API sees it: the run path and the task scheduler over one worker pool, sharing
// this process's concurrency slots.
import type { MemoCache } from '../memo/memo-cache.js';
import type { HomePaths } from '../storage/home.js';
import type { RuntimeRegistry } from '../runtime/registry.js';
import { WorkerPool } from './pool.js';
import { RunPath } from './run-path.js';
import type { Settings } from './settings.js';
import { busyError } from './limits.js';
import { Slots } from './slots.js';
import { TaskScheduler } from './task-scheduler.js';
import type { EngineStatus, RunOutcome, RunRequest, TaskInfo } from '../contract/index.js';
import type { RunContext } from './types.js';
import type { ClusterInfo } from '../contract/clusters.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Runs servables: memo lookup, then a warm worker of the chosen runtime, through a pool with
 * replicas and adaptive batching. Also runs asynchronous tasks stored in state.db (`tasks`).
 */
export class Engine {
  readonly pool: WorkerPool;
  /** Asynchronous tasks: submit, follow (`tasks.subscribe`), wait for, cancel. */
  readonly tasks: TaskScheduler;
  private readonly runPath: RunPath;
  private readonly slots: Slots;

  constructor(
    paths: HomePaths,
    private readonly settings: Settings,
    memo: MemoCache,
    runtimes: RuntimeRegistry,
    /** The cluster a call names with `on` (`dlhub cluster add`); none when clusters are not offered. */
    clusters?: (name: string) => ClusterInfo,
  ) {
    this.pool = new WorkerPool({
      idleMs: settings.idleMs,
      replicasFor: (name) => settings.replicas.perServable[name] ?? settings.replicas.default,
      maxWorkers: settings.maxWorkers,
      batchMax: settings.batchMax,
      batchDelayMs: settings.batchDelayMs,
    });
    this.slots = new Slots(settings.maxConcurrency);
    this.runPath = new RunPath(paths, settings, memo, runtimes, this.pool, clusters);
    this.tasks = new TaskScheduler(paths, settings, this.runPath, this.slots);
  }

  /**
   * Run one input or a batch; repeated inputs of deterministic servables come from the memo cache.
   * When `ctx.signal` aborts, a queued call is dropped and a running one abandons its worker (which
   * is stopped and replaced), with CANCELLED. At the concurrency cap the call is refused with BUSY.
   */
  async run(req: RunRequest, ctx: RunContext = {}): Promise<RunOutcome> {
    if (!this.slots.tryTake()) throw busyError(this.settings.maxConcurrency);
    try {
      return await this.runPath.execute(req, { timeoutMs: req.timeoutMs ?? this.settings.timeoutMs, fromSetting: req.timeoutMs === undefined, signal: ctx.signal });
    } finally {
      this.slots.release();
    }
  }

  /** Record a task and return at once (see TaskScheduler.submit). */
  submit(req: RunRequest): TaskInfo {
    return this.tasks.submit(req);
  }

  /** One task's state; TASK_NOT_FOUND when the id is unknown. */
  task(id: string): TaskInfo {
    return this.tasks.get(id);
  }

  /** The answer of a task, waiting up to `waitMs` (see TaskScheduler.result). */
  result(id: string, opts: { waitMs?: number } = {}): Promise<RunOutcome> {
    return this.tasks.result(id, opts);
  }

  /** Cancel a task that has not finished; returns its state. */
  cancel(id: string): TaskInfo {
    return this.tasks.cancel(id);
  }

  /** Take over the tasks of processes that are gone (see TaskScheduler.recover). */
  recover(): string[] {
    return this.tasks.recover();
  }

  /** Workers, queue, task counts and limits, for `dlhub status`. */
  status(): EngineStatus {
    return {
      workers: this.pool.workers(),
      queued: this.pool.queued() + this.tasks.queued(),
      inFlight: this.slots.inUse,
      tasks: this.tasks.counts(),
      limits: {
        maxConcurrency: this.settings.maxConcurrency,
        maxReplicasPerServable: this.settings.replicas.default,
        maxReplicasTotal: this.settings.maxWorkers,
        maxBatchItems: this.settings.maxBatchItems,
        rateLimit: this.settings.rateLimit,
        timeoutMs: this.settings.timeoutMs,
      },
    };
  }

  /** Stop the workers of one servable only (e.g. before `dlhub rm`); calls to other servables go on. */
  async stopServable(name: string): Promise<void> {
    await this.pool.stopServable(name);
  }

  /**
   * Stop every warm worker, after letting calls in flight finish for up to `drainMs` (default 0);
   * tasks not finished here are handed to the next process that opens this home.
   */
  async close(opts: { drainMs?: number } = {}): Promise<void> {
    this.tasks.stop();
    // A graceful stop (SIGINT to `dlhub serve`) lets calls in flight finish first, up to drainMs.
    const until = performance.now() + (opts.drainMs ?? 0);
    while (this.slots.inUse > 0 && performance.now() < until) await sleep(Math.min(20, until - performance.now()));
    await this.pool.stopAll();
    await this.tasks.close();
  }
}
