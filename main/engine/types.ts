// Types the engine's modules share (the run path, the task scheduler, the task store, pipelines), kept
// in one module that imports no engine code, so none of those modules needs another's types. Wire
// types (requests, answers, tasks, status) are the contract's, imported from there.
import type { ErrorJSON } from '../errors.js';
import type { RunOutcome, RunRequest, TaskProgress } from '../contract/index.js';

/** What a caller may add to a run besides the request: a signal that says the caller left. */
export interface RunContext {
  signal?: AbortSignal | undefined;
}

/** How one run is carried out: its time limit (and where the limit came from, for the hint) and its cancel signal. */
export interface Exec {
  timeoutMs: number | undefined;
  fromSetting: boolean;
  signal?: AbortSignal | undefined;
  /**
   * Called with each part of the answer as soon as a worker gives it (a batch goes to the worker in
   * parts), so a task can keep what was answered even if this process dies before the rest.
   */
  onPart?: ((part: AnswerPart) => void) | undefined;
  /** Called as the call gets on: inputs answered of all (memo hits at once), and a cluster batch's chunks. */
  onProgress?: ((progress: TaskProgress) => void) | undefined;
}

/** Items of a call answered by a worker together: their outputs (null where an item failed) and errors. */
export interface AnswerPart {
  /** The items' indices in the call's inputs (0 for a single input). */
  indices: number[];
  outputs: unknown[];
  errors: (ErrorJSON | null)[];
  /** The runtime that answered. */
  runtime: string;
  /** Time since the call started. */
  elapsedMs: number;
}

/** The request of a task as stored: everything but the input values, which travel as a stored frame. */
export type StoredRequest = Omit<RunRequest, 'input' | 'inputs'>;

/** What a finished task's outcome keeps besides its output frame. */
export type StoredOutcome = Omit<RunOutcome, 'output'>;

/** A claimed task, ready to run. */
export interface ClaimedTask {
  id: string;
  request: StoredRequest;
  batch: boolean;
  input: Buffer;
}
