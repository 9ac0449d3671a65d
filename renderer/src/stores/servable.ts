// The servable screen's state: its description, the chosen method, what the user typed into the
// generated input form, and the last run's answer (time and whether the memo cache answered).
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OpResponse } from '../../../main/contract/index.js';
import type { Ops, TaskInfoValue } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';
import { fieldFor, parseField, type ArgType, type FieldSpec } from '../lib/input-form.js';

/** A description as describeServable answers it. */
export type Description = OpResponse<'describeServable'>;
/** A run's answer. */
export type RunAnswer = OpResponse<'runServable'>;

/** Servable state. */
export interface ServableState {
  name: string | undefined;
  description: Description | undefined;
  loading: boolean;
  loadError: ShownError | undefined;
  method: string | undefined;
  /** The input field's text, per method. */
  text: Record<string, string>;
  file: { name: string; bytes: Uint8Array } | undefined;
  fieldError: string | undefined;
  running: boolean;
  result: RunAnswer | undefined;
  /** The input the last run sent (for copy-as-code). */
  lastInput: unknown;
  runError: ShownError | undefined;
  submitted: TaskInfoValue | undefined;
  open: (name: string) => Promise<void>;
  setMethod: (m: string) => void;
  setText: (t: string) => void;
  setFile: (f: { name: string; bytes: Uint8Array } | undefined) => void;
  /** The field the chosen method's input type generates. */
  field: () => FieldSpec;
  /** Run the method on the form's input; `noCache` skips the memo cache. */
  run: (opts?: { noCache?: boolean }) => Promise<void>;
  /** Submit the same call as a task (shown on the Tasks screen, cancellable). */
  submit: () => Promise<void>;
}

function inputType(d: Description | undefined, method: string | undefined): ArgType | undefined {
  const m = method === undefined ? undefined : (d?.methods[method] as { input?: ArgType } | undefined);
  return m?.input;
}

/** The servable store over `ops`. */
export function createServableStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<ServableState> {
  let seq = 0;
  return createStore<ServableState>()((set, get) => {
    const readInput = (): { ok: true; value: unknown } | { ok: false } => {
      const s = get();
      try {
        const value = parseField(s.field(), s.text[s.method ?? ''] ?? '', s.file?.bytes);
        set({ fieldError: undefined });
        return { ok: true, value };
      } catch (err) {
        set({ fieldError: err instanceof Error ? err.message : String(err) });
        return { ok: false };
      }
    };
    return {
      name: undefined,
      description: undefined,
      loading: false,
      loadError: undefined,
      method: undefined,
      text: {},
      file: undefined,
      fieldError: undefined,
      running: false,
      result: undefined,
      lastInput: undefined,
      runError: undefined,
      submitted: undefined,
      async open(name) {
        if (get().name === name && get().description) return;
        const mine = (seq += 1);
        set({ name, description: undefined, loading: true, loadError: undefined, result: undefined, runError: undefined, fieldError: undefined, submitted: undefined, text: {}, file: undefined });
        try {
          const description = await ops.describeServable({ name });
          if (mine !== seq) return;
          const methods = Object.keys(description.methods);
          const method = methods.includes('run') ? 'run' : methods[0];
          set({ description, method, loading: false });
        } catch (err) {
          if (mine !== seq) return;
          set({ loadError: shownError(err), loading: false });
          report(err);
        }
      },
      setMethod(m) {
        set({ method: m, fieldError: undefined, result: undefined, runError: undefined });
      },
      setText(t) {
        const m = get().method ?? '';
        set({ text: { ...get().text, [m]: t }, fieldError: undefined });
      },
      setFile(f) {
        set({ file: f, fieldError: undefined });
      },
      field() {
        const s = get();
        return fieldFor(inputType(s.description, s.method));
      },
      async run(opts = {}) {
        const s = get();
        if (!s.name || s.running) return;
        const input = readInput();
        if (!input.ok) return;
        set({ running: true, runError: undefined, submitted: undefined });
        try {
          const result = await ops.runServable({ name: s.name, method: s.method, input: input.value, ...(opts.noCache ? { noCache: true } : {}) });
          set({ result, lastInput: input.value, running: false });
        } catch (err) {
          set({ runError: shownError(err), running: false, result: undefined });
          report(err);
        }
      },
      async submit() {
        const s = get();
        if (!s.name) return;
        const input = readInput();
        if (!input.ok) return;
        try {
          const submitted = await ops.submitTask({ name: s.name, method: s.method, input: input.value });
          set({ submitted, lastInput: input.value, runError: undefined });
        } catch (err) {
          set({ runError: shownError(err) });
          report(err);
        }
      },
    };
  });
}
