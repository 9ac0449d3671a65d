import type { OpName, OpRequest, OpResponse } from '../contract/operations.js';
import type { ProgressEvent } from '../contract/schemas.js';

export type {
  BuildOutcome, BuildRequest, CacheStats, InitRequest, ProgressEvent, RemoveOutcome, SearchRequest, ServableDescription, ServableSummary, BatchItem,
} from '../contract/schemas.js';
export type { OpName, OpRequest, OpResponse } from '../contract/operations.js';

/**
 * Every operation of the contract as a method: what the composition root (`Dlhub`) implements and
 * what each door calls. Derived from the operations table, so a new row is a type error until served.
 */
export type Operations = {
  [K in OpName]: (req: OpRequest<K>, onProgress?: (p: ProgressEvent) => void) => Promise<OpResponse<K>>;
};
