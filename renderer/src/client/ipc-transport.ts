// The door kit's Transport over Electron's bridge (window.dlhub): one call id per call, progress
// events and stream items back by id, cancel by id when the caller's signal aborts.
import type { OpName } from '../../../main/contract/index.js';
import type { Transport } from '../../../main/api/doors/client.js';
import type { BridgeEvent, DesktopBridge } from './bridge.js';

let seq = 0;
const nextId = (): string => `c${Date.now().toString(36)}-${(seq += 1)}`;

/** A failed envelope as a thrown error carrying its code, message and hint. */
function thrown(error: unknown): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: string; message?: string; hint?: string; details?: unknown };
  return Object.assign(new Error(e.message ?? 'The call failed.'), { code: e.code ?? 'INTERNAL', hint: e.hint, details: e.details });
}

/** A Transport whose calls go over the preload's bridge. Values cross as the door's JSON (the proxy's codec). */
export function ipcTransport(bridge: DesktopBridge, codec: { toWire: (v: unknown) => unknown; fromWire: (v: unknown) => unknown }): Transport {
  const listeners = new Map<string, (e: BridgeEvent) => void>();
  bridge.onEvent((e) => listeners.get(e.callId)?.(e));
  return {
    async call(op: OpName, req: object, ctx) {
      const id = nextId();
      const onProgress = ctx.onProgress;
      if (onProgress) listeners.set(id, (e) => ('progress' in e ? onProgress(codec.fromWire(e.progress) as never) : undefined));
      const abort = (): void => bridge.cancel(id);
      ctx.signal?.addEventListener('abort', abort, { once: true });
      try {
        const envelope = await bridge.invoke(op, codec.toWire(req), id);
        if (envelope.error) throw thrown(envelope.error);
        return codec.fromWire(envelope.result);
      } finally {
        listeners.delete(id);
        ctx.signal?.removeEventListener('abort', abort);
      }
    },
    async *stream(op: OpName, req: object, ctx) {
      const id = nextId();
      const queue: BridgeEvent[] = [];
      let wake: (() => void) | undefined;
      const push = (e: BridgeEvent): void => {
        queue.push(e);
        wake?.();
      };
      listeners.set(id, push);
      ctx.signal?.addEventListener('abort', () => bridge.cancel(id), { once: true });
      void bridge.invoke(op, codec.toWire(req), id).then((env) => push({ callId: id, end: true, error: env.error }));
      try {
        for (;;) {
          const e = queue.shift();
          if (!e) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          if ('item' in e) yield codec.fromWire(e.item);
          else if ('end' in e) {
            if (e.error) throw thrown(e.error);
            return;
          }
        }
      } finally {
        listeners.delete(id);
        bridge.cancel(id);
      }
    },
    close: async () => undefined,
  };
}
