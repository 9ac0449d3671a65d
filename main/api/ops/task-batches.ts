import { toDlhubError } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import type { BatchItem, OpRequest } from '../operations.js';

/** The state of many tasks (Globus Compute's get_batch_result): finished ones carry their outcome or typed error, all within one wait. */
export async function batchResults(engine: Engine, req: OpRequest<'getBatchResult'>): Promise<{ results: Record<string, BatchItem> }> {
  const results: Record<string, BatchItem> = {};
  const deadline = Date.now() + (req.waitMs ?? 0);
  for (const id of req.taskIds) results[id] = await batchItem(engine, id, deadline);
  return { results };
}

async function batchItem(engine: Engine, id: string, deadline: number): Promise<BatchItem> {
  try {
    const result = await engine.result(id, { waitMs: Math.max(0, deadline - Date.now()) });
    return { status: 'succeeded', pending: false, result };
  } catch (err) {
    const e = toDlhubError(err);
    // One unknown id must not hide the answers of the others.
    if (e.code === 'TASK_NOT_FOUND') return { status: 'failed', pending: false, error: e.toJSON() as BatchItem['error'] };
    const info = engine.task(id);
    if (info.status === 'pending' || info.status === 'running') return { status: info.status, pending: true };
    return { status: info.status, pending: false, error: info.error ?? (e.toJSON() as BatchItem['error']) };
  }
}
