// Publishing a dropped folder: upload it into staging (browser mode) or take its path (Electron),
// detect the model (initServable), let the person fill in the metadata, then build with live
// progress and the log; when built, the servable's own screen opens.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OpResponse, ProgressEvent } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { checkDropped, DropError, type Dropped } from '../lib/drop-check.js';
import { shownError, type ShownError } from '../lib/errors.js';
import { checkAll, checkField, creatorList, domainList, nameFromLabel, type MetadataFields } from '../lib/metadata-form.js';

/** Where publishing stands. */
export type PublishPhase = 'idle' | 'uploading' | 'detecting' | 'form' | 'building' | 'built' | 'error';

/** What detection found. */
export type InitAnswer = OpResponse<'initServable'>;

/** Publish state. */
export interface PublishState {
  phase: PublishPhase;
  /** The folder on the service's machine (staged upload or dropped path). */
  dir: string | undefined;
  label: string | undefined;
  /** The folder came with its own dlhub.json: built as it is. */
  ownMetadata: boolean;
  detected: InitAnswer | undefined;
  fields: MetadataFields;
  fieldErrors: Partial<Record<keyof MetadataFields, string>>;
  /** Progress events of the build, oldest first (the log). */
  log: ProgressEvent[];
  error: ShownError | undefined;
  built: OpResponse<'buildServable'> | undefined;
  /** Files read from a browser drop: upload them, then detect. */
  dropFiles: (d: Dropped, read: (b: Blob) => Promise<Uint8Array>) => Promise<void>;
  /** A folder path (Electron): detect in place. */
  dropPath: (path: string, label: string) => Promise<void>;
  setField: (f: keyof MetadataFields, v: string) => void;
  build: () => Promise<void>;
  reset: () => void;
}

const EMPTY: MetadataFields = { name: '', title: '', creators: '', description: '', domains: '', version: '0.1.0', license: '' };

/** The publish store over `ops`. */
export function createPublishStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<PublishState> {
  const fail = (set: (s: Partial<PublishState>) => void, err: unknown): void => {
    set({ phase: 'error', error: err instanceof DropError ? { code: 'DROP_REFUSED', message: err.message, hint: err.hint } : shownError(err) });
    report(err);
  };
  return createStore<PublishState>()((set, get) => {
    const detect = async (dir: string, label: string, ownMetadata: boolean): Promise<void> => {
      set({ dir, label, ownMetadata, phase: 'detecting' });
      if (ownMetadata) {
        set({ phase: 'form', fields: { ...EMPTY, name: nameFromLabel(label), title: label }, fieldErrors: {} });
        return;
      }
      const detected = await ops.initServable({ dir, name: nameFromLabel(label), overwrite: true });
      const m = detected.metadata as { datacite?: { titles?: { title?: string }[] }; dlhub?: { version?: string } };
      const fields: MetadataFields = { ...EMPTY, name: nameFromLabel(label), title: m.datacite?.titles?.[0]?.title ?? label, version: m.dlhub?.version ?? '0.1.0' };
      set({ detected, fields, fieldErrors: {}, phase: 'form' });
    };
    return {
      phase: 'idle',
      dir: undefined,
      label: undefined,
      ownMetadata: false,
      detected: undefined,
      fields: EMPTY,
      fieldErrors: {},
      log: [],
      error: undefined,
      built: undefined,
      async dropFiles(d, read) {
        get().reset();
        try {
          checkDropped(d);
          set({ phase: 'uploading', label: d.label });
          const files = [];
          for (const f of d.files) files.push({ path: f.path, data: await read(f.file) });
          const staged = await ops.uploadFolder({ name: d.label, files });
          await detect(staged.dir, d.label, d.files.some((f) => f.path === 'dlhub.json'));
        } catch (err) {
          fail(set, err);
        }
      },
      async dropPath(path, label) {
        get().reset();
        try {
          await detect(path, label, false);
        } catch (err) {
          fail(set, err);
        }
      },
      setField(f, v) {
        const fields = { ...get().fields, [f]: v };
        const fieldErrors = { ...get().fieldErrors };
        const problem = checkField(f, v);
        if (problem) fieldErrors[f] = problem;
        else delete fieldErrors[f];
        set({ fields, fieldErrors });
      },
      async build() {
        const { dir, fields, ownMetadata } = get();
        if (!dir) return;
        const fieldErrors = ownMetadata ? {} : checkAll(fields);
        set({ fieldErrors });
        if (Object.keys(fieldErrors).length > 0) return;
        set({ phase: 'building', log: [], error: undefined });
        try {
          if (!ownMetadata) {
            await ops.initServable({
              dir,
              overwrite: true,
              name: fields.name.trim(),
              title: fields.title.trim(),
              creators: creatorList(fields.creators),
              ...(fields.description.trim() ? { description: fields.description.trim() } : {}),
              domains: domainList(fields.domains),
              version: fields.version.trim(),
              ...(fields.license.trim() ? { license: fields.license.trim() } : {}),
            });
          }
          const built = await ops.buildServable({ dir }, { onProgress: (e) => set({ log: [...get().log.slice(-1999), e] }) });
          set({ built, phase: 'built' });
        } catch (err) {
          fail(set, err);
        }
      },
      reset() {
        set({ phase: 'idle', dir: undefined, label: undefined, ownMetadata: false, detected: undefined, fields: EMPTY, fieldErrors: {}, log: [], error: undefined, built: undefined });
      },
    };
  });
}
