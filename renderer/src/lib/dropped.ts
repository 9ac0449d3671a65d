// Reading what was dropped on the window: a folder (walked through its entries), a folder chosen
// with the folder picker (webkitRelativePath), or loose files. Names are checked here against the
// same rules and limits the service applies, so a bad drop is refused before anything is sent.
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

interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?(ok: (f: File) => void, fail: (e: unknown) => void): void;
  createReader?(): { readEntries(ok: (entries: EntryLike[]) => void, fail: (e: unknown) => void): void };
}

async function walk(entry: EntryLike, prefix: string, out: DroppedFile[]): Promise<void> {
  if (out.length > UPLOAD_LIMITS.files) return;
  if (entry.isFile && entry.file) {
    const file = await new Promise<File>((ok, fail) => entry.file?.(ok, fail));
    out.push({ path: `${prefix}${entry.name}`, file });
  } else if (entry.isDirectory && entry.createReader) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise<EntryLike[]>((ok, fail) => reader.readEntries(ok, fail));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** Strip the one top folder every path shares (the dropped folder itself) and use its name as the label. */
function rooted(files: DroppedFile[], fallback: string): Dropped {
  const tops = new Set(files.map((f) => (f.path.includes('/') ? f.path.slice(0, f.path.indexOf('/')) : '')));
  const [top] = tops;
  if (tops.size === 1 && top) return { label: top, files: files.map((f) => ({ ...f, path: f.path.slice(top.length + 1) })) };
  return { label: fallback, files };
}

function stem(name: string | undefined): string {
  return (name ?? 'upload').replace(/\.[^.]*$/, '') || 'upload';
}

/** The files of a drop event's DataTransfer (folders walked). */
export async function readDataTransfer(dt: DataTransfer): Promise<Dropped> {
  const entries = [...dt.items]
    .filter((i) => i.kind === 'file')
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? (i.webkitGetAsEntry() as EntryLike | null) : null));
  const out: DroppedFile[] = [];
  if (entries.length > 0 && entries.every((e) => e !== null)) {
    for (const e of entries) if (e) await walk(e, '', out);
    return rooted(out, stem(entries[0]?.name));
  }
  const files = [...dt.files];
  return rooted(files.map((f) => ({ path: f.name, file: f })), stem(files[0]?.name));
}

/** The files of a folder picker (`<input webkitdirectory>`) or a multi-file picker. */
export function readFileList(list: FileList | File[]): Dropped {
  const files = [...list];
  return rooted(files.map((f) => ({ path: f.webkitRelativePath || f.name, file: f })), stem(files[0]?.name));
}
