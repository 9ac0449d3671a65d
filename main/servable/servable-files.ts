import type { ServableMetadata } from './metadata.js';

/** Which named file each shim loads: the role under `files` that validation requires and the runner reads. */
export const SHIM_FILE_ROLE: Readonly<Record<string, 'model' | 'pickle'>> = {
  'sklearn.ScikitLearnServable': 'model',
  'keras.KerasServable': 'model',
  'torch.TorchServable': 'model',
  'onnx.ONNXServable': 'model',
  'python.PythonClassMethodServable': 'pickle',
};

/**
 * A servable's named file for `role`: at `dlhub.files.<role>` (where DLHub's SDK writes it) or at
 * `servable.files.<role>` (older documents). Validation, the packager and the runner
 * (dlhub_runner.py `servable_file`) all use this one rule.
 */
export function servableFile(md: Pick<ServableMetadata, 'dlhub' | 'servable'>, role: string): string | undefined {
  for (const files of [md.dlhub.files, md.servable.files]) {
    const rel = files?.[role];
    if (typeof rel === 'string' && rel !== '') return rel;
  }
  return undefined;
}

/** The file the shim loads (model or pickle), with the field it was found at; undefined where the shim loads none. */
export function loadedFile(md: Pick<ServableMetadata, 'dlhub' | 'servable'>): { role: 'model' | 'pickle'; path: string | undefined } | undefined {
  const role = SHIM_FILE_ROLE[md.servable.shim];
  return role === undefined ? undefined : { role, path: servableFile(md, role) };
}
