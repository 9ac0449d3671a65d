// What a drop holds, and its check against the rules and limits the service applies (no "..",
// no absolute or drive names, at most UPLOAD_LIMITS files and bytes), so a bad drop is refused
// before anything is sent. Pure (no DOM): the readers of drop events are in dropped.ts.
import { UPLOAD_LIMITS } from '../../../main/contract/index.js';

/** One dropped file: its path inside the dropped folder and the File to read. */
export interface DroppedFile {
  path: string;
  file: Blob;
}

/** What a drop holds: the folder's name (a label) and its files. */
export interface Dropped {
  label: string;
  files: DroppedFile[];
}

/** A refused drop: what is wrong and what to do. */
export class DropError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = 'DropError';
    this.hint = hint;
  }
}

/** Check names, count and size before reading any bytes. */
export function checkDropped(d: Dropped): void {
  if (d.files.length === 0) throw new DropError('The drop holds no files.', 'Drop the folder that holds your model (e.g. model.pkl, or a .py file with a function).');
  if (d.files.length > UPLOAD_LIMITS.files) {
    throw new DropError(`The folder has ${d.files.length} files; a drop takes at most ${UPLOAD_LIMITS.files}.`, 'Leave out what the model does not need (data sets, caches, .git), or build it from a terminal with `dlhub build DIR`.');
  }
  let bytes = 0;
  for (const f of d.files) {
    bytes += f.file.size;
    const parts = f.path.split('/');
    if (f.path.startsWith('/') || /^[A-Za-z]:/.test(f.path) || f.path.includes('\\') || parts.some((p) => p === '..' || p === '') || f.path.includes('\0')) {
      throw new DropError(`The name "${f.path}" is not a plain relative name.`, 'Rename the file: no "..", no absolute or drive names, no backslashes.');
    }
  }
  if (bytes > UPLOAD_LIMITS.bytes) {
    const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    throw new DropError(`The folder holds ${mib(bytes)}; a drop takes at most ${mib(UPLOAD_LIMITS.bytes)}.`, 'Leave out what the model does not need, or build it from a terminal with `dlhub build DIR`.');
  }
}
