// Reading what was dropped on the window: a folder (walked through its entries), a folder chosen
// with the folder picker (webkitRelativePath), or loose files.
import { UPLOAD_LIMITS } from '../../../main/contract/index.js';
import type { Dropped, DroppedFile } from './drop-check.js';

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
