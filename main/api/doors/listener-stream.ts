/** How many undelivered items a slow reader may leave waiting; past it, items of the same key are merged, then the oldest dropped. */
const MAX_WAITING = 10_000;

/**
 * Items a listener receives, as an async iterable that ends when `signal` aborts or the reader stops.
 * With `keyOf`, a waiting item is replaced by a newer one of the same key (a slow reader sees each
 * task's latest state rather than every step), so what waits stays bounded.
 */
export function listenerStream<T>(subscribe: (listener: (item: T) => void) => () => void, signal: AbortSignal | undefined, keyOf?: (item: T) => string): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const waiting = new Map<unknown, T>();
      let seq = 0;
      let wake: (() => void) | undefined;
      let done = false;
      const stop = (): void => {
        done = true;
        unsubscribe();
        wake?.();
      };
      const unsubscribe = subscribe((item) => {
        if (done) return;
        const key = keyOf ? keyOf(item) : seq++;
        waiting.delete(key);
        waiting.set(key, item);
        if (waiting.size > MAX_WAITING) waiting.delete(waiting.keys().next().value);
        wake?.();
      });
      if (signal?.aborted) stop();
      else signal?.addEventListener('abort', stop, { once: true });
      return {
        async next(): Promise<IteratorResult<T>> {
          while (!done && waiting.size === 0) await new Promise<void>((r) => (wake = r));
          wake = undefined;
          const first = waiting.entries().next();
          if (done || first.done) return { done: true, value: undefined };
          waiting.delete(first.value[0]);
          return { done: false, value: first.value[1] };
        },
        async return(): Promise<IteratorResult<T>> {
          signal?.removeEventListener('abort', stop);
          stop();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
