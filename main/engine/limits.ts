import { LimitError } from '../errors.js';

/**
 * DLHub's client-side rate limit (20 calls in 10 s by default), as a sliding window. It is applied
 * at the client doors (the SDK and the CLI's calls), not inside the engine: `dlhub serve` answers
 * several clients, each of which limits itself, as DLHub's SDK does.
 */
export class RateLimiter {
  private readonly stamps: number[] = [];

  constructor(
    readonly limit: { calls: number; perSeconds: number } | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Count one call, or throw RATE_LIMITED naming the limit and the setting that changes it. */
  take(): void {
    if (!this.limit) return;
    const t = this.now();
    const windowMs = this.limit.perSeconds * 1000;
    while (this.stamps.length > 0 && t - (this.stamps[0] ?? 0) >= windowMs) this.stamps.shift();
    if (this.stamps.length >= this.limit.calls) {
      const retryMs = Math.max(0, Math.ceil(windowMs - (t - (this.stamps[0] ?? t))));
      throw new LimitError('RATE_LIMITED', `Rate limit reached: at most ${this.limit.calls} calls in ${this.limit.perSeconds} s (retry in ${(retryMs / 1000).toFixed(1)} s).`, {
        hint: 'Wait and retry, send the inputs as one batch, or change the limit with DLHUB_RATE_LIMIT (e.g. DLHUB_RATE_LIMIT=100/10, or DLHUB_RATE_LIMIT=off).',
        details: { limit: 'rate', calls: this.limit.calls, perSeconds: this.limit.perSeconds, retryMs, setting: 'DLHUB_RATE_LIMIT' },
      });
    }
    this.stamps.push(t);
  }
}

/** The error for a call that ran past its time limit. */
export function timeoutError(servable: string, ms: number, fromSetting: boolean): LimitError {
  return new LimitError('TIMEOUT', `The call to "${servable}" did not finish within its time limit of ${ms / 1000} s (a worker still busy with it is stopped and replaced).`, {
    hint: fromSetting
      ? 'Raise the limit with DLHUB_TIMEOUT_SECONDS (0 for none), or pass a larger timeout for this call.'
      : 'Pass a larger timeout for this call (timeoutMs, or --timeout), or none.',
    details: { limit: 'timeout', timeoutMs: ms, setting: 'DLHUB_TIMEOUT_SECONDS' },
  });
}

/** The error for a call whose worker was replaced because a later call ran out of time waiting behind it. */
export function stuckError(servable: string, ranMs: number, limitMs: number): LimitError {
  return new LimitError('TIMEOUT', `The call to "${servable}" was stopped after ${Math.round(ranMs / 100) / 10} s: a call waiting for its worker ran out of its ${limitMs / 1000} s limit, so the stuck worker was replaced.`, {
    hint: 'Give this call a time limit of its own (timeoutMs, or --timeout) if it needs that long, or find why the model hangs on this input.',
    details: { limit: 'timeout', ranMs: Math.round(ranMs), waitingLimitMs: limitMs },
  });
}

/** The error for a call refused because the process answers as many calls as it may: retry shortly. */
export function busyError(max: number): LimitError {
  return new LimitError('BUSY', `Busy: this process answers at most ${max} calls at once; retry shortly.`, {
    hint: 'Retry shortly, send inputs as one batch, submit them as tasks (they queue), or raise DLHUB_MAX_CONCURRENCY.',
    details: { limit: 'concurrency', max, setting: 'DLHUB_MAX_CONCURRENCY' },
  });
}
