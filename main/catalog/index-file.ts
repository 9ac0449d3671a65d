import { closeSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { diskFullError, isDiskFull } from '../storage/disk-full.js';
import { isProcessAlive } from '../storage/process-alive.js';

const FORMAT = 'dlhub-catalog-index';
const VERSION = 7;
// The body is checksummed in blocks, so a load reads and verifies only the blocks a query needs (a plain search at
// 100,000 records reads about a fifth of the file); a damaged block is found when first read, and the catalog rebuilds.
const BLOCK = 1 << 14;

/** A block of the saved index failed its checksum or could not be read after the index was opened: the catalog rebuilds. */
export class IndexDamagedError extends Error {}

interface Header {
  format: string;
  version: number;
  generation: number;
  bytes: number;
  block: number;
  /** CRC-32 of the header with this field 0 and of the block checksum table that follows the header line. */
  crc32: number;
  /** Byte length of the JSON part, then of each binary section, in order after it. */
  parts: number[];
}

/** What is saved: a JSON part and raw binary sections (typed arrays), loaded back as Buffers when first read. */
export interface IndexPayload {
  json: unknown;
  /** Each section whole, read and verified on first access. */
  sections: Buffer[];
  /** Bytes [from, to) of section i, reading and verifying only the blocks that hold them. */
  range: (i: number, from: number, to: number) => Buffer;
  /** Release the open file (sections not yet read can no longer be). */
  close: () => void;
}

/** A saved index that loaded and checked out, or why it cannot be used. */
export type LoadedIndex = { ok: true; generation: number; payload: IndexPayload } | { ok: false; reason: string };


/** Remove temp files left by a writer that died mid-save (a live writer's file is left alone). */
export function removeTornTemps(file: string): string[] {
  const prefix = `${basename(file)}.tmp-`;
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && isProcessAlive(pid)) continue;
    rmSync(join(dirname(file), name), { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Save atomically: write a temp file with a header (generation, length, CRC-32 of the body), fsync it,
 * rename it over the old one and fsync the folder. A kill at any point leaves the old file or the new one, whole.
 */
export function saveIndexFile(file: string, payload: { json: unknown; sections: ArrayBufferView[] }, generation: number): void {
  // Every part is padded to 8 bytes, and so is the header line, so a loader can view sections as typed arrays without copying.
  const pad = (n: number, fill: string): Buffer => Buffer.alloc((8 - (n % 8)) % 8, fill);
  const json = Buffer.from(JSON.stringify(payload.json), 'utf8');
  const jsonPad = pad(json.length, ' ');
  const parts = [json, jsonPad];
  for (const v of payload.sections) parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength), pad(v.byteLength, '\0'));
  const lengths = [json.length + jsonPad.length, ...payload.sections.map((v) => v.byteLength)];
  // Checksummed and written part by part: concatenating ~100 MB first would only add a copy.
  // Empty parts are skipped: Node 20.20's crc32 of an empty buffer over a zero-length ArrayBuffer returns 0 whatever the
  // running value, which reset the checksum so every open refused the file ("checksum mismatch") and rebuilt.
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  const crcs = new Uint32Array(Math.ceil(bytes / BLOCK));
  let block = 0;
  let filled = 0;
  let crc = 0;
  for (const p of parts) {
    for (let off = 0; off < p.length;) {
      const n = Math.min(BLOCK - filled, p.length - off);
      crc = crc32(p.subarray(off, off + n), crc);
      off += n;
      filled += n;
      if (filled === BLOCK) {
        crcs[block++] = crc;
        crc = 0;
        filled = 0;
      }
    }
  }
  if (filled > 0) crcs[block] = crc;
  const table = Buffer.concat([Buffer.from(crcs.buffer, crcs.byteOffset, crcs.byteLength), pad(crcs.byteLength, '\0')]);
  const header: Header = { format: FORMAT, version: VERSION, generation, bytes, block: BLOCK, crc32: 0, parts: lengths };
  header.crc32 = headerCrc(header, table);
  let headerLine = JSON.stringify(header);
  headerLine += ' '.repeat((8 - ((headerLine.length + 1) % 8)) % 8);
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeAll(fd, Buffer.from(`${headerLine}\n`, 'utf8'));
      writeAll(fd, table);
      for (const p of parts) writeAll(fd, p);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    // A failed save leaves the old file (or none) and never a partial temp file: on a full disk that would hold the space.
    rmSync(tmp, { force: true });
    if (isDiskFull(err)) throw diskFullError('the catalog search index', dirname(file), headerLine.length + 1 + table.length + bytes, err, 'CATALOG_ERROR');
    throw err;
  }
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

// writeSync may write less than asked (a disk that fills part way through a chunk): the rest is written, or the next
// write throws ENOSPC, never a silently short file.
function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, Math.min(1 << 22, buf.length - off));
}

function headerCrc(header: Header, table: Buffer): number {
  const crc = crc32(Buffer.from(JSON.stringify({ ...header, crc32: 0 }), 'utf8'));
  return table.length > 0 ? crc32(table, crc) : crc;
}

function readAt(fd: number, at: number, length: number): Buffer {
  // A fresh ArrayBuffer per read, so typed views of 8-aligned offsets in it are aligned too.
  const buf = Buffer.from(new ArrayBuffer(length));
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, at + got);
    if (n === 0) break;
    got += n;
  }
  if (got < length) throw new IndexDamagedError(`truncated: read ${got} of ${length} bytes at ${at}`);
  return buf;
}

/**
 * Open and verify a saved index: format, length and the header's checksum at once; the body's blocks as they are read.
 * The file stays open (saves replace it by rename, so this view stays whole) until payload.close().
 */
export function loadIndexFile(file: string): LoadedIndex {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no saved index' : `cannot read: ${(err as Error).message}` };
  }
  let keep = false;
  try {
    const size = fstatSync(fd).size;
    const head = readAt(fd, 0, Math.min(size, 1 << 16));
    const nl = head.indexOf(0x0a);
    if (nl < 0) return { ok: false, reason: 'no header line' };
    let header: Header;
    try {
      header = JSON.parse(head.subarray(0, nl).toString('utf8')) as Header;
    } catch {
      return { ok: false, reason: 'damaged header' };
    }
    if (header.format !== FORMAT || header.version !== VERSION) return { ok: false, reason: `unknown format ${String(header.format)} v${String(header.version)}` };
    if (!Number.isSafeInteger(header.block) || header.block <= 0 || !Number.isSafeInteger(header.bytes) || header.bytes < 0) return { ok: false, reason: 'damaged header' };
    const blocks = Math.ceil(header.bytes / header.block);
    const tableBytes = blocks * 4 + ((8 - ((blocks * 4) % 8)) % 8);
    const bodyAt = nl + 1 + tableBytes;
    if (size - bodyAt !== header.bytes) return { ok: false, reason: `truncated: ${size - bodyAt} of ${header.bytes} bytes` };
    const table = readAt(fd, nl + 1, tableBytes);
    if (headerCrc(header, table) !== header.crc32) return { ok: false, reason: 'checksum mismatch (header)' };
    const crcs = new Uint32Array(table.buffer, table.byteOffset, blocks);
    const starts: number[] = [];
    let at = 0;
    for (const n of header.parts) {
      starts.push(at);
      at += n + ((8 - (n % 8)) % 8);
    }
    let open = true;
    // Verified blocks a small read has used, kept: a page of records reads the same few blocks of a column many times.
    const blockCache = new Map<number, Buffer>();
    // Bytes [from, to) of the body, read in whole blocks, each checked against its CRC.
    const body = (from: number, to: number): Buffer => {
      if (to <= from) return Buffer.alloc(0);
      const first = Math.floor(from / header.block);
      if (Math.ceil(to / header.block) - first === 1) {
        let b = blockCache.get(first);
        if (!b) {
          b = readBlocks(first * header.block, Math.min(header.bytes, (first + 1) * header.block));
          blockCache.set(first, b);
        }
        return b.subarray(from - first * header.block, to - first * header.block);
      }
      return readBlocks(from, to);
    };
    const readBlocks = (from: number, to: number): Buffer => {
      if (!open) throw new IndexDamagedError('the saved index was closed');
      const first = Math.floor(from / header.block);
      const end = Math.min(header.bytes, Math.ceil(to / header.block) * header.block);
      const buf = readAt(fd, bodyAt + first * header.block, end - first * header.block);
      for (let b = 0; b * header.block < buf.length; b++) {
        const part = buf.subarray(b * header.block, Math.min(buf.length, (b + 1) * header.block));
        if (crc32(part) !== crcs[first + b]) throw new IndexDamagedError(`checksum mismatch (block ${first + b})`);
      }
      return buf.subarray(from - first * header.block, to - first * header.block);
    };
    const [jsonBytes = 0, ...sectionBytes] = header.parts;
    let json: unknown;
    try {
      json = JSON.parse(body(0, jsonBytes).toString('utf8'));
    } catch (err) {
      return { ok: false, reason: err instanceof IndexDamagedError ? err.message : `damaged body: ${(err as Error).message}` };
    }
    const sections: Buffer[] = [];
    const cache = new Map<number, Buffer>();
    sectionBytes.forEach((n, i) => {
      Object.defineProperty(sections, i, {
        enumerable: true,
        get: () => {
          let b = cache.get(i);
          if (!b) {
            b = body(starts[i + 1] as number, (starts[i + 1] as number) + n);
            cache.set(i, b);
          }
          return b;
        },
      });
    });
    const range = (i: number, from: number, to: number): Buffer => {
      const whole = cache.get(i);
      if (whole) return whole.subarray(from, to);
      const start = starts[i + 1] as number;
      return body(start + from, start + Math.min(to, sectionBytes[i] ?? 0));
    };
    const close = (): void => {
      if (!open) return;
      open = false;
      closeSync(fd);
    };
    keep = true;
    return { ok: true, generation: header.generation, payload: { json, sections, range, close } };
  } catch (err) {
    return { ok: false, reason: err instanceof IndexDamagedError ? err.message : `cannot read: ${(err as Error).message}` };
  } finally {
    if (!keep) closeSync(fd);
  }
}
