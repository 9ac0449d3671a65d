import { WorkerError } from '../../errors.js';

/**
 * Runner protocol framing: uint32 BE `len` (bytes after this field) | uint32 BE `header_len` |
 * UTF-8 JSON header | raw buffers concatenated. `header.buffers` lists the buffer lengths.
 */

/** Frames larger than this are refused unless the caller raises the limit. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 ** 3;

/** One decoded frame: the JSON header, its raw buffers, and the frame's own bytes (length prefix included). */
export interface Frame {
  header: Record<string, unknown>;
  buffers: Buffer[];
  bytes: Buffer;
}

function tooLarge(size: number, max: number): WorkerError {
  return new WorkerError('PROTOCOL_ERROR', `A runner frame of ${size} bytes is larger than the limit of ${max} bytes.`, {
    hint: 'Send a smaller input (split the batch), or raise the limit (maxFrameBytes / DLHUB_MAX_FRAME_BYTES) if the model really needs it.',
    details: { size, max },
  });
}

/** The pieces of a frame (prefix+header, then each buffer), for writing without concatenating large buffers. */
export function encodeFrameParts(header: object, buffers: readonly Buffer[] = [], maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer[] {
  const withLengths = buffers.length > 0 ? { ...header, buffers: buffers.map((b) => b.length) } : header;
  const json = JSON.stringify(withLengths);
  const headerLen = Buffer.byteLength(json);
  let size = 4 + headerLen;
  for (const b of buffers) size += b.length;
  if (size > maxFrameBytes) throw tooLarge(size, maxFrameBytes);
  const head = Buffer.allocUnsafe(8 + headerLen);
  head.writeUInt32BE(size, 0);
  head.writeUInt32BE(headerLen, 4);
  head.write(json, 8, 'utf8');
  return [head, ...buffers];
}

/** One frame as a single Buffer. */
export function encodeFrame(header: object, buffers: readonly Buffer[] = [], maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const parts = encodeFrameParts(header, buffers, maxFrameBytes);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** Parse one complete frame (as produced by encodeFrame) held in `bytes`. */
export function decodeFrame(bytes: Buffer): Frame {
  if (bytes.length < 8) throw badFrame(`a frame needs at least 8 bytes, got ${bytes.length}`);
  const size = bytes.readUInt32BE(0);
  if (size + 4 !== bytes.length) throw badFrame(`its length field says ${size + 4} bytes but ${bytes.length} were given`);
  return parseBody(bytes, 4, size);
}

function badFrame(why: string): WorkerError {
  return new WorkerError('PROTOCOL_ERROR', `Malformed runner frame: ${why}.`, {
    hint: 'The runner and the host disagree on the protocol; rebuild the servable image with this version of DLHub.',
  });
}

// Parse the body that starts at `start` (just after the length field) and is `size` bytes long.
function parseBody(chunk: Buffer, start: number, size: number): Frame {
  if (size < 4) throw badFrame(`length ${size} is too small`);
  const headerLen = chunk.readUInt32BE(start);
  if (headerLen > size - 4) throw badFrame(`header length ${headerLen} exceeds the frame body of ${size} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(chunk.toString('utf8', start + 4, start + 4 + headerLen));
  } catch (err) {
    throw badFrame(`header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw badFrame('header is not a JSON object');
  const h = header as Record<string, unknown>;
  const lengths = h['buffers'] ?? [];
  if (!Array.isArray(lengths)) throw badFrame('header.buffers is not an array');
  const buffers: Buffer[] = [];
  let offset = start + 4 + headerLen;
  const end = start + size;
  for (const n of lengths) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || offset + n > end) throw badFrame(`buffer length ${String(n)} does not fit in the frame`);
    buffers.push(chunk.subarray(offset, offset + n));
    offset += n;
  }
  if (offset !== end) throw badFrame(`header.buffers add up to ${offset - start - 4 - headerLen} bytes but the frame carries ${end - start - 4 - headerLen}`);
  return { header: h, buffers, bytes: chunk.subarray(start - 4, end) };
}

/**
 * Streaming decoder: push chunks as they arrive, get back every frame they complete. Frames
 * split across chunks are joined with one copy; frames inside one chunk are zero-copy views.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private queued = 0;
  // Body length of the frame being collected, once its length field has arrived.
  private need = -1;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.queued;
  }

  /** Add a chunk; returns the frames it completed, in order. Throws WorkerError on a malformed or oversize frame. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let buf = chunk;
    let pos = 0;
    if (this.queued > 0) {
      // Join only what completes the current frame, so a long stream is never re-copied.
      this.chunks.push(chunk);
      this.queued += chunk.length;
      if (this.need < 0) {
        if (this.queued < 4) return frames;
        this.need = this.readLength();
      }
      if (this.queued < this.need + 4) return frames;
      buf = Buffer.concat(this.chunks, this.queued);
      this.chunks = [];
      this.queued = 0;
    }
    while (buf.length - pos >= 4) {
      const size = this.need >= 0 ? this.need : this.checkSize(buf.readUInt32BE(pos));
      if (buf.length - pos - 4 < size) break;
      frames.push(parseBody(buf, pos + 4, size));
      pos += 4 + size;
      this.need = -1;
    }
    if (pos < buf.length) {
      const rest = buf.subarray(pos);
      this.chunks = [rest];
      this.queued = rest.length;
      this.need = rest.length >= 4 ? this.checkSize(rest.readUInt32BE(0)) : -1;
    }
    return frames;
  }

  private readLength(): number {
    // The 4-byte length field may straddle chunks; copy only those bytes.
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(head, filled, 0, Math.min(c.length, 4 - filled));
      if (filled === 4) break;
    }
    return this.checkSize(head.readUInt32BE(0));
  }

  private checkSize(size: number): number {
    if (size > this.maxFrameBytes) throw tooLarge(size, this.maxFrameBytes);
    return size;
  }
}
