/**
 * The calls this process answers at once (DLHUB_MAX_CONCURRENCY), shared by direct runs and tasks:
 * a run that finds no slot is refused with BUSY; a task waits in the scheduler's queue for one.
 */
export class Slots {
  private used = 0;
  private readonly freed: (() => void)[] = [];

  constructor(readonly max: number) {}

  /** Take a slot if one is free. */
  tryTake(): boolean {
    if (this.used >= this.max) return false;
    this.used += 1;
    return true;
  }

  /** Give a slot back and tell whoever waits for one. */
  release(): void {
    this.used -= 1;
    for (const listener of this.freed) listener();
  }

  /** Slots in use. */
  get inUse(): number {
    return this.used;
  }

  /** Call `listener` each time a slot is given back. */
  onFree(listener: () => void): void {
    this.freed.push(listener);
  }
}
