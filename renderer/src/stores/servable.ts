// The servable screen's state: its description, the chosen method, what the user typed into the
// generated input form, and the last run's answer (time and whether the memo cache answered).
// The catalog's versions of the servable are listed too (searchCatalog with allVersions), so the
// user can switch the screen to another version's record.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OpResponse } from '../../../main/contract/index.js';
import type { Ops, TaskInfoValue } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';
import { fieldFor, parseField, type ArgType, type FieldSpec } from '../lib/input-form.js';
import { facetTerm } from './catalog.js';

/** A description as describeServable answers it. */
export type Description = OpResponse<'describeServable'>;
/** A run's answer. */
export type RunAnswer = OpResponse<'runServable'>;
/** One version of a servable as the catalog lists it. */
export type VersionRecord = OpResponse<'searchCatalog'>['hits'][number];

/** A file as a drop or a file picker hands it over (a DOM `File` fits). */
export interface DroppedFile {
  name: string;
  arrayBuffer: () => Promise<ArrayBuffer>;
}

/** The version the description is of (its `dlhub.version`). */
export function describedVersion(d: Description | undefined): string | undefined {
  return (d?.metadata as { dlhub?: { version?: string } } | undefined)?.dlhub?.version;
}

/** The catalog's records of `name` (owner/name or a bare name), newest version first. */
export function versionsOf(hits: readonly VersionRecord[], name: string): VersionRecord[] {
  const exact = hits.filter((h) => h.servable === name);
  const mine = exact.length > 0 ? exact : hits.filter((h) => h.name === name);
  const seen = new Set<string>();
  return mine
    .filter((h) => !seen.has(h.version) && seen.add(h.version))
    .sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }));
}

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
  /** The catalog's versions of this servable, newest first (empty when the catalog has none). */
  versions: VersionRecord[];
  /** The version the user picked; undefined shows the described one. */
  version: string | undefined;
  open: (name: string) => Promise<void>;
  /** Show another version (its catalog record); undefined or the described version goes back. */
  pickVersion: (v: string | undefined) => void;
  /** The picked version's catalog record when it is not the described one (the form cannot run it here). */
  otherVersion: () => VersionRecord | undefined;
  setMethod: (m: string) => void;
  setText: (t: string) => void;
  setFile: (f: { name: string; bytes: Uint8Array } | undefined) => void;
  /** A file dropped on (or chosen for) a bytes input: read into bytes as the input. */
  dropFile: (f: DroppedFile) => Promise<void>;
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
      versions: [],
      version: undefined,
      async open(name) {
        if (get().name === name && get().description) return;
        const mine = (seq += 1);
        set({ name, description: undefined, loading: true, loadError: undefined, result: undefined, runError: undefined, fieldError: undefined, submitted: undefined, text: {}, file: undefined, versions: [], version: undefined });
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
          return;
        }
        try {
          const bare = name.split('/').pop() ?? name;
          const found = await ops.searchCatalog({ query: facetTerm('dlhub.name', bare), advanced: true, allVersions: true, pageSize: 200 });
          if (mine === seq) set({ versions: versionsOf(found.hits, get().description?.name ?? name) });
        } catch {
          // Without the list the screen shows the described version alone; the description itself loaded.
        }
      },
      pickVersion(v) {
        set({ version: v === describedVersion(get().description) ? undefined : v });
      },
      otherVersion() {
        const s = get();
        if (s.version === undefined || s.version === describedVersion(s.description)) return undefined;
        return s.versions.find((h) => h.version === s.version);
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
      async dropFile(f) {
        const method = get().method;
        try {
          const bytes = new Uint8Array(await f.arrayBuffer());
          // The method may have changed while the file was read: the bytes belong to the field they were dropped on.
          if (get().method === method) set({ file: { name: f.name, bytes }, fieldError: undefined });
        } catch (err) {
          set({ fieldError: `${f.name} could not be read: ${err instanceof Error ? err.message : String(err)}` });
        }
      },
      field() {
        const s = get();
        return fieldFor(inputType(s.description, s.method));
      },
      async run(opts = {}) {
        const s = get();
        if (!s.name || s.running || s.otherVersion()) return;
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
        if (!s.name || s.otherVersion()) return;
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
