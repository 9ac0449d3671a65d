// The operations over Electron's bridge: one call id per call, progress and stream items by id.
import { OPERATIONS, type OpName } from '../../../main/contract/index.js';
import type { BridgeEvent, DesktopBridge } from './bridge.js';
import { OpError } from './http-client.js';
import type { CallContext, Ops } from './ops.js';
import { fromWire, toWire } from './values.js';

let seq = 0;
const nextId = (): string => `c${Date.now().toString(36)}-${(seq += 1)}`;

/** Every operation over the preload's bridge. */
export function createIpcOps(bridge: DesktopBridge): Ops {
  const listeners = new Map<string, (e: BridgeEvent) => void>();
  bridge.onEvent((e) => listeners.get(e.callId)?.(e));
  const open = (envelope: { result?: unknown; error?: unknown }): unknown => {
    if (envelope.error) throw new OpError(envelope.error, 0);
    return fromWire(envelope.result);
  };
  const answer = async (op: OpName, req: unknown, ctx?: CallContext): Promise<unknown> => {
    const id = nextId();
    if (ctx?.onProgress) listeners.set(id, (e) => 'progress' in e && ctx.onProgress?.(e.progress as never));
    const abort = (): void => bridge.cancel(id);
    ctx?.signal?.addEventListener('abort', abort, { once: true });
    try {
      return open(await bridge.invoke(op, toWire(req), id));
    } finally {
      listeners.delete(id);
      ctx?.signal?.removeEventListener('abort', abort);
    }
  };
  const stream = (op: OpName) => (req: unknown, ctx?: CallContext): AsyncIterable<unknown> => ({
    async *[Symbol.asyncIterator]() {
      const id = nextId();
      const queue: BridgeEvent[] = [];
      let wake: (() => void) | undefined;
      listeners.set(id, (e) => {
        queue.push(e);
        wake?.();
      });
      ctx?.signal?.addEventListener('abort', () => bridge.cancel(id), { once: true });
      void bridge.invoke(op, toWire(req), id).then((env) => {
        queue.push({ callId: id, end: true, error: env.error });
        wake?.();
      });
      try {
        for (;;) {
          const e = queue.shift();
          if (!e) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          if ('item' in e) yield fromWire(e.item);
          else if ('end' in e) {
            if (e.error) throw new OpError(e.error, 0);
            return;
          }
        }
      } finally {
        listeners.delete(id);
        bridge.cancel(id);
      }
    },
  });
  const ops: Record<string, unknown> = {};
  for (const op of Object.keys(OPERATIONS) as OpName[]) ops[op] = (OPERATIONS[op].kind as string) === 'stream' ? stream(op) : (req: unknown, ctx?: CallContext) => answer(op, req ?? {}, ctx);
  return ops as unknown as Ops;
}
