import { InputError, ModelError, TaskError, WorkerError, toDlhubError, type DlhubError } from '../errors.js';
import type { Runtime, Worker, WorkerSpecBase } from '../runtime/runtime.js';
import { stuckError } from './limits.js';
import type { WorkerStatus } from '../contract/index.js';

/** How the pool sizes and feeds its workers. */
export interface PoolOptions {
  idleMs: number;
  /** Warm replicas allowed for one servable. */
  replicasFor: (servable: string) => number;
  /** Workers allowed for all servables together. */
  maxWorkers: number;
  /** Most queued single calls merged into one batch request. */
  batchMax: number;
  /** Longest a call that queued behind a busy worker is held back to fill a batch. */
  batchDelayMs: number;
}

/** Where a group's workers come from. */
export interface GroupSource {
  /** Servable name (for stopServable and status). */
  servable: string;
  runtime: Runtime;
  spec: WorkerSpecBase;
}

/** One item's answer: an output plus its stored frame, or the typed error it raised. */
export type ItemResult = { ok: true; output: unknown; raw: Buffer; inferenceMs?: number | undefined } | { ok: false; error: DlhubError };

/** One call as the engine hands it to the pool. */
export interface PoolCall {
  method: string;
  inputs: unknown[];
  /** A single call may be merged with others into one batch request; an explicit batch is sent as it is. */
  single: boolean;
  parameters?: Record<string, unknown> | undefined;
  /** Give up after this long: the call rejects with `onTimeout()`, and the worker is stopped if nobody else waits on it. */
  timeoutMs?: number | undefined;
  onTimeout?: (() => DlhubError) | undefined;
  signal?: AbortSignal | undefined;
}

interface Job {
  call: PoolCall;
  /** No idle worker was there when it arrived: only such calls may be held back to fill a batch. */
  queuedBehindBusy: boolean;
  enqueuedAt: number;
  done: boolean;
  resolve: (items: ItemResult[]) => void;
  reject: (err: DlhubError) => void;
  cleanup: () => void;
}

interface Replica {
  index: number;
  worker: Worker | undefined;
  starting: Promise<Worker> | undefined;
  /** Jobs of the request it is answering now; empty when idle. */
  current: Job[];
  /** When it was sent the request it is answering now. */
  busySince: number;
  calls: number;
  startedAt: Date;
  idleTimer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

interface Group {
  key: string;
  source: GroupSource;
  replicas: Replica[];
  queue: Job[];
  nextIndex: number;
  holdTimer: NodeJS.Timeout | undefined;
  /** After a failed start, no further replica is started before this time (the ones running serve meanwhile). */
  noStartUntil: number;
}

// A replica that failed to start is not retried at once while other replicas serve the queue.
const START_RETRY_MS = 5000;

function cancelledError(): DlhubError {
  return new TaskError('CANCELLED', 'The call was cancelled.', { hint: 'Run it again if you still need the answer.' });
}

/** An error that belongs to one input rather than to the worker: other items of a batch still have answers. */
function isItemError(err: unknown): boolean {
  return err instanceof ModelError || err instanceof InputError;
}

/**
 * Warm workers: per servable build 1..N replicas, each answering one request at a time. A call
 * goes to an idle replica at once; when all are busy a new replica starts (within the per-servable
 * and machine-wide caps) or the call queues, and queued single calls are sent together as one
 * batch when a replica frees up (Clipper-style adaptive batching). A crashed worker is dropped and
 * replaced on demand; idle replicas stop after `idleMs`.
 */
export class WorkerPool {
  private readonly groups = new Map<string, Group>();
  private readonly counters = { started: 0, requests: 0, items: 0 };
  private closed = false;
  /** Workers being stopped; stopAll waits for them too, so a closing process leaves no container behind. */
  private readonly stopping = new Set<Promise<void>>();

  constructor(private readonly opts: PoolOptions) {}

  /** Answer `call` on a worker of `key`, started from `source` when needed. Resolves with one result per input. */
  call(key: string, source: GroupSource, call: PoolCall): Promise<ItemResult[]> {
    if (this.closed) {
      return Promise.reject(new WorkerError('RUNNER_DIED', `The engine is closing; "${source.servable}" was not started.`, { hint: 'Run it again once DLHub is running.' }));
    }
    let group = this.groups.get(key);
    if (!group) {
      group = { key, source, replicas: [], queue: [], nextIndex: 0, holdTimer: undefined, noStartUntil: 0 };
      this.groups.set(key, group);
    }
    const g = group;
    return new Promise<ItemResult[]>((resolve, reject) => {
      if (call.signal?.aborted) return reject(cancelledError());
      const timers: NodeJS.Timeout[] = [];
      const job: Job = {
        call,
        queuedBehindBusy: !g.replicas.some((r) => r.worker && r.current.length === 0),
        enqueuedAt: performance.now(),
        done: false,
        resolve: (items) => {
          if (job.done) return;
          job.done = true;
          job.cleanup();
          resolve(items);
        },
        reject: (err) => {
          if (job.done) return;
          job.done = true;
          job.cleanup();
          reject(err);
        },
        cleanup: () => {
          for (const t of timers) clearTimeout(t);
          call.signal?.removeEventListener('abort', onAbort);
        },
      };
      const giveUp = (err: DlhubError): boolean => {
        if (job.done) return false;
        job.reject(err);
        const queued = g.queue.indexOf(job);
        if (queued >= 0) g.queue.splice(queued, 1);
        this.abandonIfUnwanted(g);
        return queued >= 0;
      };
      const onAbort = (): void => {
        giveUp(cancelledError());
      };
      call.signal?.addEventListener('abort', onAbort, { once: true });
      if (call.timeoutMs !== undefined && call.timeoutMs > 0) {
        const limit = call.timeoutMs;
        const t = setTimeout(() => {
          const error = call.onTimeout?.() ?? cancelledError();
          if (giveUp(error)) this.replaceStuck(g, limit);
        }, limit);
        t.unref();
        timers.push(t);
      }
      g.queue.push(job);
      this.dispatch(g);
    });
  }

  /** A replica whose every caller gave up (timeout, cancel) is answering for nobody: stop it so it cannot hold the slot. */
  private abandonIfUnwanted(g: Group): void {
    for (const r of g.replicas) {
      if (r.current.length > 0 && r.current.every((j) => j.done)) void this.dropReplica(g, r);
    }
  }

  /**
   * A call ran out of time while still queued: every replica was busy all along. A replica that has
   * been answering one request for longer than that call's whole limit is stuck by the caller's own
   * measure (a hung model, or a call whose caller left without cancelling): stop and replace it, so
   * the calls behind it are not stuck too. Its own callers get TIMEOUT saying why.
   */
  private replaceStuck(g: Group, limitMs: number): void {
    const now = performance.now();
    for (const r of [...g.replicas]) {
      if (r.current.length === 0 || now - r.busySince < limitMs) continue;
      const error = stuckError(g.source.servable, now - r.busySince, limitMs);
      for (const j of r.current) j.reject(error);
      void this.dropReplica(g, r);
    }
  }

  private dispatch(g: Group): void {
    if (g.holdTimer) {
      clearTimeout(g.holdTimer);
      g.holdTimer = undefined;
    }
    while (g.queue.length > 0) {
      const idle = g.replicas.filter((r) => r.worker && r.current.length === 0 && !r.stopped).sort((a, b) => a.calls - b.calls)[0];
      if (idle) {
        const jobs = this.takeJobs(g);
        if (!jobs) return; // held back to fill a batch; a timer comes back
        this.send(g, idle, jobs);
        continue;
      }
      const starting = g.replicas.filter((r) => r.starting !== undefined).length;
      if (starting < g.queue.length && this.canStart(g)) {
        this.startReplica(g);
        continue;
      }
      return;
    }
  }

  /** The next request for a free replica: one job, or several queued single calls merged into one batch. */
  private takeJobs(g: Group): Job[] | undefined {
    const first = g.queue[0];
    if (!first) return undefined;
    if (!first.call.single || this.opts.batchMax <= 1) return [g.queue.shift() as Job];
    const paramsKey = JSON.stringify(first.call.parameters ?? null);
    const fits = (j: Job): boolean => j.call.single && j.call.method === first.call.method && JSON.stringify(j.call.parameters ?? null) === paramsKey;
    // Replicas still starting will take a share: one slow call must not hold the others in its batch while they could run beside it.
    const starting = g.replicas.filter((r) => r.starting !== undefined).length;
    const candidates = g.queue.filter(fits);
    const matching = candidates.slice(0, Math.min(this.opts.batchMax, Math.ceil(candidates.length / (1 + starting))));
    const heldFor = performance.now() - first.enqueuedAt;
    // Clipper's added delay: only for calls that already waited behind a busy worker, never for one that found it idle.
    if (first.queuedBehindBusy && matching.length < this.opts.batchMax && heldFor < this.opts.batchDelayMs) {
      g.holdTimer = setTimeout(() => this.dispatch(g), this.opts.batchDelayMs - heldFor);
      g.holdTimer.unref();
      return undefined;
    }
    g.queue = g.queue.filter((j) => !matching.includes(j));
    return matching;
  }

  private totalWorkers(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.replicas.length;
    return n;
  }

  private canStart(g: Group): boolean {
    if (g.replicas.length >= Math.max(1, this.opts.replicasFor(g.source.servable))) return false;
    if (g.replicas.length > 0 && performance.now() < g.noStartUntil) return false;
    if (this.totalWorkers() < this.opts.maxWorkers) return true;
    // At the machine-wide cap: make room by stopping an idle replica of another servable, if there is one.
    for (const other of this.groups.values()) {
      if (other === g) continue;
      const idle = other.replicas.find((r) => r.worker && r.current.length === 0);
      if (idle) {
        void this.dropReplica(other, idle);
        return true;
      }
    }
    return false;
  }

  private startReplica(g: Group): void {
    const r: Replica = { index: g.nextIndex++, worker: undefined, starting: undefined, current: [], busySince: 0, calls: 0, startedAt: new Date(), idleTimer: undefined, stopped: false };
    g.replicas.push(r);
    this.counters.started += 1;
    r.starting = g.source.runtime.start(g.source.spec);
    r.starting.then(
      (worker) => {
        r.starting = undefined;
        if (r.stopped) {
          void this.track(worker.stop());
          return;
        }
        r.worker = worker;
        // A crashed worker, or one whose connection failed (a forged frame), is forgotten at once; the next call starts a replacement.
        const gone = (): void => {
          if (!r.stopped) void this.dropReplica(g, r);
        };
        void worker.exited.then(gone);
        void worker.connection.closed.then(gone);
        this.dispatch(g);
        if (r.current.length === 0) this.armIdle(g, r);
      },
      (err: unknown) => {
        r.starting = undefined;
        this.removeReplica(g, r);
        g.noStartUntil = performance.now() + START_RETRY_MS;
        // With no replica left, a start failure answers the calls waiting: starting again would fail the same way.
        if (g.replicas.length === 0) {
          const error = toDlhubError(err);
          for (const j of g.queue.splice(0)) j.reject(error);
        }
        this.pumpAll();
      },
    );
  }

  private send(g: Group, r: Replica, jobs: Job[]): void {
    const worker = r.worker;
    if (!worker) return;
    if (r.idleTimer) {
      clearTimeout(r.idleTimer);
      r.idleTimer = undefined;
    }
    r.current = jobs;
    r.busySince = performance.now();
    r.calls += jobs.length;
    this.counters.requests += 1;
    this.counters.items += jobs.length;
    void this.answer(worker, jobs).then(
      (perJob) => jobs.forEach((j, i) => j.resolve(perJob[i] ?? [])),
      (err: unknown) => {
        const error = toDlhubError(err);
        for (const j of jobs) j.reject(error);
        // The worker itself failed (died, broke the protocol): its connection answers every later call with
        // the same error, so it must not take the next one; the queue goes to a replacement.
        if (error instanceof WorkerError) void this.dropReplica(g, r);
      },
    ).finally(() => {
      r.current = [];
      if (r.stopped || !r.worker) return;
      this.dispatch(g);
      if (r.current.length === 0) this.armIdle(g, r);
      this.pumpAll();
    });
  }

  /** Send the jobs as one request; a batch whose model raised is retried item by item, so one bad input fails only itself. */
  private async answer(worker: Worker, jobs: Job[]): Promise<ItemResult[][]> {
    const first = jobs[0];
    if (!first) return [];
    const { method, parameters } = first.call;
    const opts = parameters ? { parameters } : undefined;
    const inputs = jobs.flatMap((j) => j.call.inputs);
    if (jobs.length === 1 && first.call.single) {
      const r = await worker.connection.run(method, inputs[0], opts);
      return [[{ ok: true, output: r.output, raw: r.raw, inferenceMs: r.inferenceMs }]];
    }
    let items: ItemResult[];
    try {
      const r = await worker.connection.runBatch(method, inputs, opts);
      // The runner times the batch as a whole: each item carries an equal share, so the calls merged into it add up right.
      const share = r.inferenceMs === undefined ? undefined : r.inferenceMs / inputs.length;
      items = r.outputs.map((output, i) => ({ ok: true as const, output, raw: r.raws[i] as Buffer, inferenceMs: share }));
    } catch (err) {
      if (!isItemError(err)) throw err;
      items = [];
      for (const input of inputs) {
        try {
          const r = await worker.connection.run(method, input, opts);
          items.push({ ok: true, output: r.output, raw: r.raw, inferenceMs: r.inferenceMs });
        } catch (itemErr) {
          if (!isItemError(itemErr)) throw itemErr;
          items.push({ ok: false, error: toDlhubError(itemErr) });
        }
      }
    }
    const out: ItemResult[][] = [];
    let at = 0;
    for (const j of jobs) {
      out.push(items.slice(at, at + j.call.inputs.length));
      at += j.call.inputs.length;
    }
    return out;
  }

  private armIdle(g: Group, r: Replica): void {
    if (r.idleTimer) clearTimeout(r.idleTimer);
    r.idleTimer = setTimeout(() => {
      if (r.current.length === 0) void this.dropReplica(g, r);
    }, this.opts.idleMs);
    // An idle worker must not keep a CLI process alive.
    r.idleTimer.unref();
  }

  /** Calls of other servables may be waiting for a machine-wide slot that just freed. */
  private pumpAll(): void {
    for (const g of this.groups.values()) if (g.queue.length > 0) this.dispatch(g);
  }

  private removeReplica(g: Group, r: Replica): void {
    r.stopped = true;
    if (r.idleTimer) clearTimeout(r.idleTimer);
    g.replicas = g.replicas.filter((x) => x !== r);
    if (g.replicas.length === 0 && g.queue.length === 0 && this.groups.get(g.key) === g) this.groups.delete(g.key);
  }

  /** Stop one replica and forget it; queued calls go to the others or to a replacement. */
  private dropReplica(g: Group, r: Replica): Promise<void> {
    if (r.stopped) return Promise.resolve();
    this.removeReplica(g, r);
    const worker = r.worker;
    r.worker = undefined;
    const stopping = worker ? worker.stop() : (r.starting?.then((w) => w.stop(), () => undefined) ?? Promise.resolve());
    const done = this.track(stopping);
    // Calls waiting behind this replica (or for a machine-wide slot) get a replacement.
    queueMicrotask(() => this.pumpAll());
    return done;
  }

  private async stopGroup(g: Group, why: string): Promise<void> {
    this.groups.delete(g.key);
    if (g.holdTimer) clearTimeout(g.holdTimer);
    const queued = g.queue.splice(0);
    for (const j of queued) {
      j.reject(new WorkerError('RUNNER_DIED', `The workers of "${g.source.servable}" were stopped (${why}) before this call ran.`, { hint: 'Run it again.' }));
    }
    await Promise.all([...g.replicas].map((r) => this.dropReplica(g, r)));
  }

  /** Stop only the workers of servable `name` (e.g. for `dlhub rm`); other servables' calls go on. */
  async stopServable(name: string, why = 'its servable was stopped'): Promise<void> {
    await Promise.all([...this.groups.values()].filter((g) => g.source.servable === name).map((g) => this.stopGroup(g, why)));
  }

  /** Every worker, for `dlhub status`. */
  workers(): WorkerStatus[] {
    const out: WorkerStatus[] = [];
    for (const g of this.groups.values()) {
      for (const r of g.replicas) {
        out.push({
          servable: g.source.servable,
          runtime: g.source.runtime.name,
          replica: r.index,
          state: r.worker ? (r.current.length > 0 ? 'busy' : 'idle') : 'starting',
          calls: r.calls,
          startedAt: r.startedAt.toISOString(),
        });
      }
    }
    return out;
  }

  /** Since this pool was made: workers started, requests sent to workers, and calls those requests answered (requests < calls when calls were batched). */
  stats(): { started: number; requests: number; calls: number } {
    return { started: this.counters.started, requests: this.counters.requests, calls: this.counters.items };
  }

  /** Calls waiting for a worker. */
  queued(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.queue.length;
    return n;
  }

  /** Stop every worker and take no more calls; used at shutdown. */
  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.groups.values()].map((g) => this.stopGroup(g, 'the engine closed')));
    // Replicas dropped earlier (a cancel, a timeout, an idle stop) may still be shutting down.
    while (this.stopping.size > 0) await Promise.all([...this.stopping]);
  }

  /** Remember a worker's stop until it settles; never rejects. */
  private track(stop: Promise<void>): Promise<void> {
    const done = stop.catch(() => undefined);
    this.stopping.add(done);
    void done.then(() => this.stopping.delete(done));
    return done;
  }
}
