import { toDlhubError } from '../errors.js';
import type { OpName, OpResponse } from '../contract/operations.js';
import type { ProgressEvent } from '../contract/schemas.js';
import type { Operations } from './operations.js';
import { validateRequest } from './validate.js';

/**
 * Call one operation as every door does: the request checked against the table's schema (a USAGE
 * error naming the field otherwise), then the implementation; anything untyped becomes INTERNAL.
 */
export async function invoke<K extends OpName>(api: Operations, op: K, request: unknown, onProgress?: (p: ProgressEvent) => void, fromQuery = false): Promise<OpResponse<K>> {
  const req = validateRequest(op, request, fromQuery);
  try {
    const fn = api[op] as (r: typeof req, p?: (p: ProgressEvent) => void) => Promise<OpResponse<K>>;
    return await fn.call(api, req, onProgress);
  } catch (err) {
    throw toDlhubError(err);
  }
}
