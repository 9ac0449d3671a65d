// IPC handlers generated from the operations table: one channel per operation, each checking that
// the sender is the app's own top frame, then calling the engine's client with a cancel signal and
// a progress listener; progress events and stream items go back to the page by call id. Answers
// are the doors' envelope ({result} or {error}) with values through the codec, as over HTTP.
import type { OpName } from '../main/contract/operations.js';
import { OP_NAMES, OPERATIONS } from '../main/contract/operations.js';
import { ServiceError, toDlhubError } from '../main/errors.js';
import { fromWire, toWire } from '../main/api/codec.js';
import { ipcChannel, trustedSender } from './security.js';

/** What a handler learns of its caller (Electron's IpcMainInvokeEvent, as much as is used). */
export interface IpcCaller {
  senderFrame: { url: string; parent: unknown } | null;
  /** Send an event to the page (progress, stream items). */
  send(event: unknown): void;
}

/** The engine as the handlers call it: any client of the operations table. */
export type Engine = Record<OpName, (req: unknown, ctx: { signal?: AbortSignal; onProgress?: (e: unknown) => void }) => unknown>;

/** A handler: (caller, request, callId) -> envelope. */
export type IpcHandler = (caller: IpcCaller, request: unknown, callId: unknown) => Promise<{ result?: unknown; error?: unknown }>;

/** The handlers by channel, and the cancel function for a call id. */
export function ipcHandlers(engine: Engine): { handlers: Map<string, IpcHandler>; cancel: (callId: unknown) => void } {
  const running = new Map<string, AbortController>();
  const handlers = new Map<string, IpcHandler>();
  for (const op of OP_NAMES) {
    const kind = OPERATIONS[op].kind as string;
    handlers.set(ipcChannel(op), async (caller, request, callId) => {
      if (!trustedSender(caller.senderFrame)) {
        return { error: new ServiceError('UNAUTHORIZED', 'This IPC call did not come from the DLHub window.', { hint: 'Only the app\'s own page may call the engine.' }).toJSON() };
      }
      const id = typeof callId === 'string' && callId.length <= 64 ? callId : undefined;
      const ctl = new AbortController();
      if (id) running.set(id, ctl);
      try {
        const req = fromWire(request ?? {});
        const ctx = { signal: ctl.signal, onProgress: (e: unknown) => caller.send({ callId: id, progress: toWire(e) }) };
        if (kind === 'stream') {
          for await (const item of engine[op](req, ctx) as AsyncIterable<unknown>) caller.send({ callId: id, item: toWire(item) });
          return { result: null };
        }
        return { result: toWire(await engine[op](req, ctx)) };
      } catch (err) {
        return { error: toDlhubError(err).toJSON() };
      } finally {
        if (id) running.delete(id);
      }
    });
  }
  return {
    handlers,
    cancel(callId) {
      if (typeof callId === 'string') running.get(callId)?.abort();
    },
  };
}
