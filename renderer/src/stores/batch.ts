// A batch from the servable screen: one input per line (read by the method's own field), sent as a
// task to this machine or to a cluster added in Settings, followed until it ends, its answers
// shown in order with each failed input's error in its place.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ErrorBody, RunOutcome } from '../../../main/contract/index.js';
import type { Ops, TaskInfoValue } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';
import { FieldError, parseField, type FieldSpec } from '../lib/input-form.js';

/** Can this field be written one input per line? (A file cannot.) */
export function batchable(spec: FieldSpec): boolean {
  return spec.kind !== 'file';
}

/**
 * The batch's inputs: each non-empty line read as the method's field reads its text. A table's
 * line is one row, so one input is a one-row table. Throws FieldError naming the line.
 */
export function parseBatch(spec: FieldSpec, text: string): unknown[] {
  const lines = text.split(/\r?\n/).map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim() !== '');
  if (lines.length === 0) throw new FieldError('Enter at least one input, one per line.');
  return lines.map(([line, n]) => {
    try {
      return parseField(spec, line);
    } catch (err) {
      throw new FieldError(`Line ${n}: ${err instanceof Error ? err.message : String(err)}`, n);
    }
  });
}

/** One answered input of the batch, as the answers table shows it. */
export interface BatchRow {
  input: unknown;
  output: unknown;
  error: ErrorBody | null;
  cached: boolean;
}

/** The rows of a finished batch: inputs beside their outputs, a failed one's error in its place. */
export function batchRows(inputs: readonly unknown[], outcome: RunOutcome): BatchRow[] {
  const outputs: unknown[] = Array.isArray(outcome.output) ? (outcome.output as unknown[]) : [];
  const cached = Array.isArray(outcome.cached) ? outcome.cached : [];
  return inputs.map((input, i) => ({ input, output: outputs[i] ?? null, error: outcome.errors?.[i] ?? null, cached: cached[i] === true }));
}

/** Batch state. */
export interface BatchState {
  /** The servable the batch was sent to (the panel of another servable starts afresh). */
  name: string | undefined;
  text: string;
  /** The cluster to send it to; '' is this machine. */
  on: string;
  fieldError: string | undefined;
  submitting: boolean;
  task: TaskInfoValue | undefined;
  inputs: unknown[];
  outcome: RunOutcome | undefined;
  error: ShownError | undefined;
  setText: (t: string) => void;
  setOn: (cluster: string) => void;
  /** Send the lines as one batch task of `name`'s `method`, then follow it to its answers. */
  submit: (name: string, method: string | undefined, spec: FieldSpec) => Promise<void>;
  /** Stop following and clear (another servable opened). */
  reset: () => void;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** The batch store over `ops`; a running task is looked at every `pollMs`. */
export function createBatchStore(ops: Ops, opts: { pollMs?: number; report?: (err: unknown) => void } = {}): StoreApi<BatchState> {
  const report = opts.report ?? (() => {});
  let follow = 0;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  return createStore<BatchState>()((set, get) => ({
    name: undefined,
    text: '',
    on: '',
    fieldError: undefined,
    submitting: false,
    task: undefined,
    inputs: [],
    outcome: undefined,
    error: undefined,
    setText(text) {
      set({ text, fieldError: undefined });
    },
    setOn(on) {
      set({ on });
    },
    async submit(name, method, spec) {
      if (get().submitting) return;
      let inputs: unknown[];
      try {
        inputs = parseBatch(spec, get().text);
      } catch (err) {
        set({ fieldError: err instanceof Error ? err.message : String(err) });
        return;
      }
      const mine = (follow += 1);
      const on = get().on;
      set({ name, submitting: true, fieldError: undefined, error: undefined, outcome: undefined, task: undefined, inputs });
      let task: TaskInfoValue;
      try {
        task = await ops.submitTask({ name, ...(method ? { method } : {}), inputs, ...(on ? { on } : {}) });
        if (mine !== follow) return;
        set({ task, submitting: false });
      } catch (err) {
        if (mine === follow) set({ error: shownError(err), submitting: false });
        report(err);
        return;
      }
      try {
        while (mine === follow && !FINISHED.has(task.status)) {
          await sleep(opts.pollMs ?? 400);
          if (mine !== follow) return;
          task = await ops.getTask({ id: task.id });
          if (mine === follow) set({ task });
        }
        if (mine !== follow) return;
        if (task.status === 'succeeded') set({ outcome: await ops.getResult({ id: task.id }) });
        else if (task.error) set({ error: shownError(task.error) });
      } catch (err) {
        if (mine !== follow) return;
        set({ error: shownError(err) });
        report(err);
      }
    },
    reset() {
      follow += 1;
      set({ name: undefined, text: '', fieldError: undefined, submitting: false, task: undefined, inputs: [], outcome: undefined, error: undefined });
    },
  }));
}
