// The one client of the operations table: a proxy that implements `Operations` over any transport
// (in process, Unix socket, HTTP; IPC and gRPC next). Browser-safe: the window's renderer uses it.
import { ServiceError } from '../../errors.js';
import type { CallContext, OpName, OpRequest, OpResult } from '../../contract/operations.js';
import { ROUTES } from '../generated/routes.js';
import { fromWire } from '../codec.js';
import { openEnvelope } from './envelope.js';

/** How a client reaches the operations: one call answers once, one stream answers items as they come. */
export interface Transport {
  call(op: OpName, req: object, ctx: CallContext): Promise<unknown>;
  stream(op: OpName, req: object, ctx: CallContext): AsyncIterable<unknown>;
  /** Release connections (the in-process API stays the caller's to close). */
  close(): Promise<void>;
}

/** `Operations` as a client offers them: a request with no required field may be left out (`status()`, `listTasks()`). */
export type ClientOperations = {
  [K in OpName]: Partial<OpRequest<K>> extends OpRequest<K> ? (req?: OpRequest<K>, ctx?: CallContext) => OpResult<K> : (req: OpRequest<K>, ctx?: CallContext) => OpResult<K>;
};

/** Every operation of the table as a method, each one a call (or a stream) through `transport`. */
export function createClient(transport: Transport): ClientOperations {
  const ops: Record<string, (req?: object, ctx?: CallContext) => unknown> = {};
  for (const op of Object.keys(ROUTES) as OpName[]) {
    ops[op] = ROUTES[op].kind === 'stream'
      ? (req = {}, ctx = {}) => transport.stream(op, req, ctx)
      : (req = {}, ctx = {}) => transport.call(op, req, ctx);
  }
  return ops as unknown as ClientOperations;
}

/** The answer of a call that came in parts: its progress lines handed to `onProgress`, then its `{result}` or `{error}`. */
export async function answerFromParts(lines: AsyncIterable<unknown>, onProgress: CallContext['onProgress']): Promise<unknown> {
  for await (const line of lines) {
    const l = line as { progress?: unknown };
    if (l && typeof l === 'object' && 'progress' in l) onProgress?.(fromWire(l.progress) as never);
    else return openEnvelope(line);
  }
  throw cutShort();
}

/** The items of a stream that came in parts; an `{error}` line is thrown typed, a `{result}` line ends it. */
export async function* itemsFromParts(lines: AsyncIterable<unknown>): AsyncIterable<unknown> {
  for await (const line of lines) {
    const l = line as { item?: unknown };
    if (l && typeof l === 'object' && 'item' in l) yield fromWire(l.item);
    else {
      openEnvelope(line);
      return;
    }
  }
  throw cutShort();
}

function cutShort(): ServiceError {
  return new ServiceError('SERVICE_UNAVAILABLE', 'The service closed the answer before its last line.', { hint: 'It may have stopped mid-call: start it again with `dlhub serve`.' });
}
