/**
 * A full disk under $DLHUB_HOME said plainly: which folder, how much space the write needed and how much
 * was free, instead of a raw ENOSPC stack or SQLite's "database or disk is full".
 */
import { statfsSync } from 'node:fs';
import { StorageError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Did `err` come from a disk (or quota) that is full? Works on Node errors, SQLite errors and a worker's reply. */
export function isDiskFull(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && FULL_CODES.has(code)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /\bENOSPC\b|no space left on device|database or disk is full/i.test(message);
}

/** Free bytes for this user in the file system holding `folder`, if it can be read. */
export function freeBytes(folder: string): number | undefined {
  try {
    const s = statfsSync(folder);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** The error to give when writing `what` under `folder` ran out of space; `neededBytes` is what the write needed (an estimate where it cannot be known). */
export function diskFullError(what: string, folder: string, neededBytes: number | undefined, cause?: unknown, code: ErrorCode = 'STORAGE_ERROR'): StorageError {
  const free = freeBytes(folder);
  const need = neededBytes === undefined ? '' : `; it needs about ${mb(neededBytes)}`;
  const have = free === undefined ? '' : ` and ${mb(free)} is free`;
  return new StorageError(code, `No space left in ${folder} to write ${what}${need}${have}.`, {
    hint: `Free space on the disk that holds ${folder} (or point DLHUB_HOME at a larger one), then try again.`,
    details: { folder, ...(neededBytes === undefined ? {} : { neededBytes }), ...(free === undefined ? {} : { freeBytes: free }), reason: 'disk full' },
    cause,
  });
}
