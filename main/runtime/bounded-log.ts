import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

/** Default bound of one worker log file: past it the file is rotated to `.1` (one older file kept). */
export const WORKER_LOG_MAX_BYTES = 8 * 1024 * 1024;

/**
 * An append-only log file that never grows past `maxBytes`: when a write would cross it, the file
 * becomes `<file>.1` (replacing an older one) and a fresh file starts, so a model that writes
 * without end uses at most twice `maxBytes` of disk. Write errors (a full disk) are swallowed: a
 * log must never stop a worker.
 */
export class BoundedLog {
  private fd: number | undefined;
  private size = 0;

  constructor(private readonly file: string, private readonly maxBytes = WORKER_LOG_MAX_BYTES) {
    this.fd = this.open('a');
  }

  private open(flags: 'a' | 'w'): number | undefined {
    try {
      const fd = openSync(this.file, flags, 0o600);
      this.size = fstatSync(fd).size;
      return fd;
    } catch {
      return undefined;
    }
  }

  /** Append a chunk, rotating first when it would cross the bound. */
  write(chunk: Uint8Array): void {
    if (this.fd === undefined) return;
    // A single chunk larger than the bound keeps only its end.
    const data = chunk.length > this.maxBytes ? chunk.subarray(chunk.length - this.maxBytes) : chunk;
    if (this.size + data.length > this.maxBytes) this.rotate();
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, data);
      this.size += data.length;
    } catch {
      // A full disk: drop the output, keep the worker.
    }
  }

  private rotate(): void {
    this.close();
    try {
      renameSync(this.file, `${this.file}.1`);
    } catch {
      // Another worker of the same servable rotated it first.
    }
    this.fd = this.open('a');
  }

  /** Close the file; later writes are dropped. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }
}
