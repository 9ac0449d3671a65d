import { toDlhubError } from '../../errors.js';
import type { OpName } from '../../contract/operations.js';
import type { CallContext, OpResult, Operations } from '../operations.js';
import { validateRequest } from '../validate.js';

/**
 * Call one operation as every door does: the request checked against the table's schema (a USAGE
 * error naming the field otherwise), then the implementation with the caller's context; anything
 * untyped becomes INTERNAL. A stream operation answers its items (errors while they come are typed too).
 * `fromQuery`: the request came as text (query string, path parts) and is coerced to the schema's types.
 */
export async function invoke<K extends OpName>(api: Operations, op: K, request: unknown, ctx: CallContext = {}, fromQuery = false): Promise<Awaited<OpResult<K>>> {
  const req = validateRequest(op, request, fromQuery);
  const fn = api[op] as (r: typeof req, c: CallContext) => unknown;
  try {
    const answer = fn.call(api, req, ctx);
    if (isAsyncIterable(answer)) return typedItems(answer) as Awaited<OpResult<K>>;
    return (await answer) as Awaited<OpResult<K>>;
  } catch (err) {
    throw toDlhubError(err);
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

async function* typedItems<T>(items: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* items;
  } catch (err) {
    throw toDlhubError(err);
  }
}
