// The contract's operation types, re-exported for the api layer's modules (declared once, in main/contract).
export type {
  BuildOutcome, BuildRequest, CacheStats, InitRequest, ProgressEvent, RemoveOutcome, SearchRequest, ServableDescription, ServableSummary, BatchItem,
} from '../contract/schemas.js';
export type { CallContext, OpItem, OpName, OpRequest, OpResponse, OpResult, Operations, StreamOpName } from '../contract/operations.js';
