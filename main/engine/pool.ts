import type { Runtime, Worker, WorkerSpec } from '../runtime/runtime.js';

interface Slot {
  worker: Worker | undefined;
  starting: Promise<Worker> | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  inFlight: number;
}

/**
 * Warm workers, one per (runtime, servable build). A worker is started on first use, kept
 * while calls arrive, stopped after `idleMs` without calls, and dropped as soon as it dies so
 * the next call starts a fresh one.
 */
export class WorkerPool {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly idleMs: number) {}

  /** Borrow the warm worker for `key`, starting one through `runtime` when there is none. */
  async acquire(key: string, runtime: Runtime, spec: WorkerSpec): Promise<{ worker: Worker; release: () => void }> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { worker: undefined, starting: undefined, idleTimer: undefined, inFlight: 0 };
      this.slots.set(key, slot);
    }
    if (slot.idleTimer) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    slot.inFlight += 1;
    try {
      const worker = slot.worker ?? (await this.start(key, slot, runtime, spec));
      let released = false;
      return {
        worker,
        release: () => {
          if (released) return;
          released = true;
          this.release(key, slot);
        },
      };
    } catch (err) {
      this.release(key, slot);
      throw err;
    }
  }

  private start(key: string, slot: Slot, runtime: Runtime, spec: WorkerSpec): Promise<Worker> {
    // Concurrent first calls share one start instead of racing to start several workers.
    slot.starting ??= runtime.start(spec).then(
      (worker) => {
        slot.worker = worker;
        slot.starting = undefined;
        void worker.exited.then(() => {
          if (slot.worker === worker) slot.worker = undefined;
        });
        return worker;
      },
      (err: unknown) => {
        slot.starting = undefined;
        throw err;
      },
    );
    return slot.starting;
  }

  private release(key: string, slot: Slot): void {
    slot.inFlight -= 1;
    if (slot.inFlight > 0 || !slot.worker) return;
    slot.idleTimer = setTimeout(() => void this.stopKey(key), this.idleMs);
    // An idle worker must not keep a CLI process alive.
    slot.idleTimer.unref();
  }

  /** Stop and forget the worker for `key` (e.g. after it misbehaved). */
  async stopKey(key: string): Promise<void> {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    const worker = slot.worker ?? (await slot.starting?.catch(() => undefined));
    await worker?.stop();
  }

  /** Keys of the workers that are running now. */
  running(): string[] {
    return [...this.slots.entries()].filter(([, s]) => s.worker !== undefined).map(([k]) => k);
  }

  /** Stop every worker; used at shutdown. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((k) => this.stopKey(k)));
  }
}
