import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LimitError } from '../../../main/errors.js';
import { RateLimiter } from '../../../main/engine/limits.js';
import { loadSettings, parseRateLimit, parseReplicas } from '../../../main/engine/settings.js';

describe('the client-side rate limit', () => {
  it('allows DLHub\'s 20 calls in 10 s by default, refuses the 21st with RATE_LIMITED naming the setting, and frees up as the window moves', () => {
    let now = 0;
    const limiter = new RateLimiter(loadSettings({}).rateLimit, () => now);
    for (let i = 0; i < 20; i++) limiter.take();
    const err = (() => {
      try {
        limiter.take();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).code).toBe('RATE_LIMITED');
    expect((err as LimitError).message).toContain('20 calls in 10 s');
    expect((err as LimitError).hint).toContain('DLHUB_RATE_LIMIT');
    now = 9_999;
    expect(() => limiter.take()).toThrow(LimitError);
    now = 10_000;
    expect(() => limiter.take()).not.toThrow();
  });

  it('can be changed or turned off', () => {
    expect(parseRateLimit('100/5')).toEqual({ calls: 100, perSeconds: 5 });
    expect(parseRateLimit('off')).toBeUndefined();
    expect(parseRateLimit('0')).toBeUndefined();
    const off = new RateLimiter(parseRateLimit('off'), () => 0);
    for (let i = 0; i < 1000; i++) off.take();
  });

  it('never lets more than N calls through in any window of the given length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 60 }), (calls, gaps) => {
        let now = 0;
        const limiter = new RateLimiter({ calls, perSeconds: 1 }, () => now);
        const passed: number[] = [];
        for (const gap of gaps) {
          now += gap;
          try {
            limiter.take();
            passed.push(now);
          } catch (e) {
            if (!(e instanceof LimitError)) throw e;
          }
        }
        for (let i = calls; i < passed.length; i++) expect((passed[i] ?? 0) - (passed[i - calls] ?? 0)).toBeGreaterThanOrEqual(1000);
      }),
      { numRuns: 200 },
    );
  });
});

describe('engine settings from the environment', () => {
  it('reads replicas per servable with a default', () => {
    expect(parseReplicas('iris=3, noop=2, 4')).toEqual({ default: 4, perServable: { iris: 3, noop: 2 } });
    expect(parseReplicas(undefined)).toEqual({ default: 1, perServable: {} });
    // Nonsense is ignored rather than fatal.
    expect(parseReplicas('x=-1,0,abc')).toEqual({ default: 1, perServable: {} });
  });

  it('reads the pool, batching and limit settings', () => {
    const s = loadSettings({ DLHUB_MAX_WORKERS: '3', DLHUB_BATCH_MAX: '16', DLHUB_BATCH_DELAY_MS: '5', DLHUB_MAX_CONCURRENCY: '9', DLHUB_TIMEOUT_SECONDS: '2' });
    expect(s).toMatchObject({ maxWorkers: 3, batchMax: 16, batchDelayMs: 5, maxConcurrency: 9, timeoutMs: 2000 });
    expect(loadSettings({}).timeoutMs).toBeUndefined();
  });
});
