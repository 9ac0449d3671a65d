// The operations the window calls, typed from the contract. Stores take an `Ops` in their
// constructor, so a test hands them a fake and the app hands them the generated client proxy
// (over HTTP in browser mode, over IPC in Electron).
import type { Static } from '@sinclair/typebox';
import type { OpName, OpRequest, OpResponse, ProgressEvent, TaskInfo } from '../../../main/contract/index.js';

/** What the caller hands an operation besides its request. */
export interface CallContext {
  signal?: AbortSignal | undefined;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
}

/** A runtime as Settings shows it. */
export interface RuntimeAvailability {
  name: string;
  available: boolean;
  reason?: string | undefined;
  version?: string | undefined;
}

type AnswerOps = Exclude<OpName, 'watchTasks' | 'listRuntimes'>;

/** The window's view of `Operations`: every answer operation, plus the live ones where the service has them. */
export type Ops = { [K in AnswerOps]: (req: OpRequest<K>, ctx?: CallContext) => Promise<OpResponse<K>> } & {
  watchTasks?: ((req: Record<string, never>, ctx?: CallContext) => AsyncIterable<TaskInfoValue>) | undefined;
  listRuntimes?: ((req: Record<string, never>, ctx?: CallContext) => Promise<RuntimeAvailability[]>) | undefined;
};

/** One task as the contract describes it. */
export type TaskInfoValue = Static<typeof TaskInfo>;
