// Writing an upload into the staging folder. The rules: every name relative with no `..`, no
// absolute or drive-letter name, no NUL or backslash; at most UPLOAD_LIMITS files and bytes; each
// upload lands in a folder of its own made fresh here, and files are created exclusively, so no
// write follows or replaces a link (an upload cannot make links: it carries only file bytes).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, LimitError, PathError } from '../errors.js';
import { UPLOAD_LIMITS, type UploadOutcome, type UploadRequest } from '../contract/upload.js';
import { splitRelative } from './path-safety.js';

/** Check an upload's names and sizes without touching the disk; answers each file's path components. */
export function checkUpload(req: UploadRequest): { parts: string[][]; bytes: number } {
  if (req.files.length > UPLOAD_LIMITS.files) {
    throw new LimitError('LIMIT_EXCEEDED', `The folder has ${req.files.length} files; an upload takes at most ${UPLOAD_LIMITS.files}.`, {
      hint: 'Leave out what the model does not need (data sets, caches, .git), or build it from its path with `dlhub build DIR`.',
      details: { limit: 'files', max: UPLOAD_LIMITS.files, given: req.files.length },
    });
  }
  let bytes = 0;
  const seen = new Set<string>();
  const folders = new Set<string>();
  const parts: string[][] = [];
  for (const file of req.files) {
    if (!(file.data instanceof Uint8Array)) {
      throw new InputError('INPUT_INVALID', `The file "${file.path}" carries no bytes.`, { hint: 'Send each file\'s content as {"$bytes": base64}.', details: { field: 'files', path: file.path } });
    }
    bytes += file.data.byteLength;
    if (file.path.includes('\\')) {
      throw new PathError('PATH_UNSAFE', `Refusing path ${JSON.stringify(file.path)}: it contains a backslash.`, { hint: 'Separate folders with "/".', details: { path: file.path, reason: 'backslash' } });
    }
    const p = splitRelative(file.path);
    if (p.length > UPLOAD_LIMITS.depth) {
      throw new LimitError('LIMIT_EXCEEDED', `The file "${file.path}" is ${p.length} folders deep; an upload goes at most ${UPLOAD_LIMITS.depth} deep.`, { hint: 'Flatten the folder.', details: { limit: 'depth', max: UPLOAD_LIMITS.depth } });
    }
    const key = p.join('/');
    if (seen.has(key) || folders.has(key)) {
      throw new PathError('PATH_UNSAFE', `Refusing path ${JSON.stringify(file.path)}: the upload names it twice, or as both a file and a folder.`, { hint: 'Send each file once.', details: { path: file.path, reason: 'duplicate' } });
    }
    seen.add(key);
    for (let i = 1; i < p.length; i++) {
      const folder = p.slice(0, i).join('/');
      if (seen.has(folder)) {
        throw new PathError('PATH_UNSAFE', `Refusing path ${JSON.stringify(file.path)}: "${folder}" is a file in this upload.`, { hint: 'Send each file once.', details: { path: file.path, reason: 'duplicate' } });
      }
      folders.add(folder);
    }
    parts.push(p);
  }
  if (bytes > UPLOAD_LIMITS.bytes) {
    throw new LimitError('LIMIT_EXCEEDED', `The folder holds ${bytes} bytes; an upload takes at most ${UPLOAD_LIMITS.bytes} (${UPLOAD_LIMITS.bytes / 1024 / 1024} MiB).`, {
      hint: 'Leave out what the model does not need, or build it from its path with `dlhub build DIR` (or from a folder listed in DLHUB_WORKSPACE).',
      details: { limit: 'bytes', max: UPLOAD_LIMITS.bytes, given: bytes },
    });
  }
  return { parts, bytes };
}

/** A safe folder label: letters, digits, `-`, `_` and `.` only. */
function label(name: string | undefined): string {
  const clean = (name ?? '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 40);
  return clean === '' ? 'upload' : clean;
}

/** Write an upload into a new folder under `stagingDir`; on any failure nothing of it is left. */
export async function stageUpload(stagingDir: string, req: UploadRequest): Promise<UploadOutcome> {
  const { parts, bytes } = checkUpload(req);
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(stagingDir, `${label(req.name)}-`));
  try {
    for (const [i, p] of parts.entries()) {
      if (p.length > 1) await mkdir(join(dir, ...p.slice(0, -1)), { recursive: true });
      // 'wx': created here or refused, never written through something already there.
      await writeFile(join(dir, ...p), req.files[i]?.data as Uint8Array, { flag: 'wx' });
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, files: parts.length, bytes };
}
