import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

// sun_path is 108 bytes on Linux including the terminating NUL (104 on macOS); stay under both.
const MAX_SOCKET_PATH_BYTES = 103;
const FALLBACK_PREFIX = 'dlhub-sock-';

/** Where a worker's Unix socket lives: `<runDir>/<workerId>.sock`, or a private temp folder when that path is too long. */
export function workerSocketPath(runDir: string, workerId: string): string {
  const preferred = join(runDir, `${workerId}.sock`);
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH_BYTES) return preferred;
  // mkdtemp makes the folder 0700, so no other user can reach the socket inside it.
  const dir = mkdtempSync(join(tmpdir(), FALLBACK_PREFIX));
  return join(dir, `${workerId}.sock`);
}

/** Remove a socket made by workerSocketPath, and its private temp folder if it had one. Never throws. */
export function removeWorkerSocket(path: string): void {
  const dir = dirname(path);
  const inFallback = dirname(dir) === tmpdir() && basename(dir).startsWith(FALLBACK_PREFIX);
  rmSync(inFallback ? dir : path, { recursive: inFallback, force: true });
}
