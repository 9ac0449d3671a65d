// The operations the window calls: the contract's `Operations`. Stores take one in their
// constructor, so a test hands them a fake and the app hands them the door kit's generated client
// (over HTTP in browser mode, over IPC in Electron).
import type { CallContext, Operations, OpResponse } from '../../../main/contract/index.js';

export type { CallContext };

/** Every operation of the table. */
export type Ops = Operations;

/** A runtime as Settings shows it. */
export type RuntimeAvailability = OpResponse<'listRuntimes'>[number];

/** One task as the contract describes it. */
export type TaskInfoValue = OpResponse<'getTask'>;
