// The HTTP API transport on fetch: the same in Node (the SDK) and in a browser (the window's
// renderer, where the session cookie stands in for the token). Browser-safe: no node: import.
import { ServiceError, errorMessage } from '../../errors.js';
import type { OpName } from '../../contract/operations.js';
import type { CallContext } from '../operations.js';
import { NDJSON, openEnvelope } from './envelope.js';
import { answerFromParts, itemsFromParts, type Transport } from './client.js';
import { ndjsonLines, wireRequest } from './wire.js';
import { cancelledByCaller } from './cancelled.js';

/** Where the HTTP API is and how to call it. */
export interface HttpOptions {
  /** e.g. http://127.0.0.1:8765 ('' in a page served by the API itself: same origin). */
  baseUrl: string;
  /** The bearer token; a browser-mode page goes without (its cookie is sent instead). */
  token?: string | undefined;
  /** Give up on a call after this long (0 or unset: never); streams are not limited. */
  timeoutMs?: number | undefined;
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch | undefined;
}

function unavailable(o: HttpOptions, err: unknown): ServiceError {
  return new ServiceError('SERVICE_UNAVAILABLE', `The dlhub service at ${o.baseUrl || 'this page\'s origin'} did not answer: ${errorMessage(err)}.`, {
    hint: 'Check that `dlhub serve --http` is running at that address.',
  });
}

/** Text chunks of a fetch body (a browser and Node alike). */
async function* text(body: ReadableStream<Uint8Array> | null): AsyncIterable<string> {
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield decoder.decode(value, { stream: true });
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  } finally {
    // Cancelling the body closes the connection: the service then stops sending (and cancels the call).
    await reader.cancel().catch(() => undefined);
  }
}

/** A transport to the HTTP API at `baseUrl`. */
export function httpTransport(o: HttpOptions): Transport {
  const base = o.baseUrl.replace(/\/$/, '');
  const doFetch = o.fetch ?? globalThis.fetch.bind(globalThis);

  async function send(op: OpName, req: object, ctx: CallContext, progress: boolean, timeout: boolean): Promise<Response> {
    const wire = wireRequest(op, req, progress);
    const headers: Record<string, string> = { ...wire.headers };
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    const signals = [ctx.signal, timeout && o.timeoutMs ? AbortSignal.timeout(o.timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    try {
      return await doFetch(`${base}${wire.path}`, { method: wire.method, headers, ...(wire.body === undefined ? {} : { body: wire.body }), ...(signal ? { signal } : {}) });
    } catch (err) {
      throw failure(err, ctx);
    }
  }

  function failure(err: unknown, ctx: CallContext): Error {
    if (ctx.signal?.aborted) return cancelledByCaller();
    return unavailable(o, (err as { name?: string }).name === 'TimeoutError' ? new Error(`no answer within ${o.timeoutMs} ms`) : err);
  }

  async function whole(res: Response, ctx: CallContext): Promise<unknown> {
    let body: string;
    try {
      body = await res.text();
    } catch (err) {
      throw failure(err, ctx);
    }
    try {
      return JSON.parse(body) as unknown;
    } catch (err) {
      throw new ServiceError('SERVICE_UNAVAILABLE', `The dlhub service answered something that is not JSON (HTTP ${res.status}): ${errorMessage(err)}.`, { hint: 'Check that the address points at `dlhub serve --http`.' });
    }
  }

  async function* guarded(chunks: AsyncIterable<string>, ctx: CallContext): AsyncIterable<string> {
    try {
      yield* chunks;
    } catch (err) {
      throw failure(err, ctx);
    }
  }

  const isParts = (res: Response): boolean => (res.headers.get('content-type') ?? '').startsWith(NDJSON);

  return {
    async call(op, req, ctx) {
      const res = await send(op, req, ctx, ctx.onProgress !== undefined, true);
      if (isParts(res)) return answerFromParts(ndjsonLines(guarded(text(res.body), ctx)), ctx.onProgress);
      return openEnvelope(await whole(res, ctx));
    },
    async *stream(op, req, ctx) {
      const res = await send(op, req, ctx, false, false);
      if (!isParts(res)) return void openEnvelope(await whole(res, ctx));
      yield* itemsFromParts(ndjsonLines(guarded(text(res.body), ctx)));
    },
    close: async () => undefined,
  };
}
