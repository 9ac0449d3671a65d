import type { OpName } from '../../contract/operations.js';
import type { Operations } from '../operations.js';
import type { Transport } from './client.js';
import { invoke } from './invoke.js';

/**
 * The in-process transport: every call validated against the table, then answered by the API
 * object (or by the one `pick` chooses per operation, e.g. a catalog alone for a search).
 */
export function inProcessTransport(api: Operations | ((op: OpName) => Operations | Promise<Operations>)): Transport {
  const pick = typeof api === 'function' ? api : () => api;
  return {
    call: async (op, req, ctx) => invoke(await pick(op), op, req, ctx),
    async *stream(op, req, ctx) {
      yield* (await invoke(await pick(op), op, req, ctx)) as AsyncIterable<unknown>;
    },
    close: async () => undefined,
  };
}
