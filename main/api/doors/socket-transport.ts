// The Node transport to the local service's Unix socket (the CLI's, and the SDK's when asked): the
// same HTTP requests as the HTTP API, without a token (the socket's mode 0600 is the guard).
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { existsSync } from 'node:fs';
import { ServiceError, errorMessage } from '../../errors.js';
import type { OpName } from '../../contract/operations.js';
import type { CallContext } from '../operations.js';
import { NDJSON, openEnvelope } from './envelope.js';
import { answerFromParts, itemsFromParts, type Transport } from './client.js';
import { ndjsonLines, wireRequest, type WireRequest } from './wire.js';
import { cancelledByCaller } from './cancelled.js';

/** Where the socket is, and how long a call may take (0 or unset: no limit). */
export interface SocketOptions {
  socketPath: string;
  timeoutMs?: number | undefined;
  /** A keep-alive agent for many calls (the SDK); one-shot CLI calls go without. */
  agent?: Agent | undefined;
}

function unavailable(socketPath: string, err: unknown): ServiceError {
  return new ServiceError('SERVICE_UNAVAILABLE', `The dlhub service at ${socketPath} did not answer: ${errorMessage(err)}.`, {
    hint: 'It may have stopped or crashed mid-call: start it again with `dlhub serve`, or set DLHUB_NO_SERVICE=1 to run without it.',
  });
}

/** Send one request; resolves with the response once its head arrives. */
function open(o: SocketOptions, wire: WireRequest, ctx: CallContext, timeout: boolean): { req: ClientRequest; res: Promise<IncomingMessage> } {
  const headers: Record<string, string | number> = { ...wire.headers };
  if (wire.body !== undefined) headers['content-length'] = Buffer.byteLength(wire.body);
  const req = request({ socketPath: o.socketPath, path: wire.path, method: wire.method, headers, ...(o.agent ? { agent: o.agent } : {}) });
  const res = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    // Every error of the request is handled (a later one, after the answer began, surfaces in the body's reader).
    req.on('error', (err) => reject(ctx.signal?.aborted ? cancelledByCaller() : unavailable(o.socketPath, err)));
  });
  const signal = ctx.signal;
  if (signal) {
    // Closing the connection is how the service learns that nobody waits for the answer.
    const cancel = (): void => void req.destroy(new Error('cancelled'));
    if (signal.aborted) cancel();
    else {
      signal.addEventListener('abort', cancel, { once: true });
      req.once('close', () => signal.removeEventListener('abort', cancel));
    }
  }
  if (timeout && o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
  req.end(wire.body);
  return { req, res };
}

/** The body's text chunks; a connection lost mid-answer is SERVICE_UNAVAILABLE (or CANCELLED when the caller left). */
async function* text(res: IncomingMessage, o: SocketOptions, ctx: CallContext): AsyncIterable<string> {
  res.setEncoding('utf8');
  try {
    for await (const chunk of res) yield chunk as string;
  } catch (err) {
    throw ctx.signal?.aborted ? cancelledByCaller() : unavailable(o.socketPath, err);
  }
  if (!res.complete) throw ctx.signal?.aborted ? cancelledByCaller() : unavailable(o.socketPath, new Error('the connection closed mid-answer'));
}

async function whole(res: IncomingMessage, o: SocketOptions, ctx: CallContext): Promise<unknown> {
  let body = '';
  for await (const chunk of text(res, o, ctx)) body += chunk;
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new ServiceError('SERVICE_UNAVAILABLE', `The dlhub service answered something that is not JSON (HTTP ${res.statusCode ?? '?'}): ${errorMessage(err)}.`, { hint: 'Check that the socket belongs to `dlhub serve`.' });
  }
}

function isParts(res: IncomingMessage): boolean {
  return (res.headers['content-type'] ?? '').startsWith(NDJSON);
}

/** A transport to the service on `socketPath`. */
export function socketTransport(o: SocketOptions): Transport {
  return {
    async call(op: OpName, req: object, ctx: CallContext): Promise<unknown> {
      const { res } = open(o, wireRequest(op, req, ctx.onProgress !== undefined), ctx, true);
      const answer = await res;
      if (isParts(answer)) return answerFromParts(ndjsonLines(text(answer, o, ctx)), ctx.onProgress);
      return openEnvelope(await whole(answer, o, ctx));
    },
    async *stream(op: OpName, req: object, ctx: CallContext): AsyncIterable<unknown> {
      const { req: sent, res } = open(o, wireRequest(op, req, false), ctx, false);
      try {
        const answer = await res;
        if (!isParts(answer)) return void openEnvelope(await whole(answer, o, ctx));
        yield* itemsFromParts(ndjsonLines(text(answer, o, ctx)));
      } finally {
        // The consumer stopped reading (or the stream ended): closing tells the service to stop sending.
        sent.destroy();
      }
    },
    close: async () => o.agent?.destroy(),
  };
}

/** Is a local service answering on this socket? Never throws. */
export async function serviceAnswers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    const { res } = open({ socketPath, timeoutMs: 1000 }, { method: 'GET', path: '/health', body: undefined, parts: false, headers: {} }, {}, true);
    const r = (await whole(await res, { socketPath }, {})) as { result?: unknown };
    return r.result !== undefined;
  } catch {
    return false;
  }
}
