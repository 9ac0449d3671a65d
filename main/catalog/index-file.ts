import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { isProcessAlive } from '../storage/process-alive.js';

const FORMAT = 'dlhub-catalog-index';
const VERSION = 6;

interface Header {
  format: string;
  version: number;
  generation: number;
  bytes: number;
  crc32: number;
  /** Byte length of the JSON part, then of each binary section, in order after it. */
  parts: number[];
}

/** What is saved: a JSON part and raw binary sections (typed arrays), loaded back as Buffers. */
export interface IndexPayload {
  json: unknown;
  sections: Buffer[];
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
  let crc = 0;
  for (const p of parts) if (p.length > 0) crc = crc32(p, crc);
  const header: Header = { format: FORMAT, version: VERSION, generation, bytes: parts.reduce((n, p) => n + p.length, 0), crc32: crc, parts: lengths };
  let headerLine = JSON.stringify(header);
  headerLine += ' '.repeat((8 - ((headerLine.length + 1) % 8)) % 8);
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${headerLine}\n`);
    for (const p of parts) for (let off = 0; off < p.length; off += 1 << 22) writeSync(fd, p, off, Math.min(1 << 22, p.length - off));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Load and verify a saved index: format, length and checksum must all agree, or it is refused with the reason. */
export function loadIndexFile(file: string): LoadedIndex {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no saved index' : `cannot read: ${(err as Error).message}` };
  }
  const nl = data.indexOf(0x0a);
  if (nl < 0) return { ok: false, reason: 'no header line' };
  let header: Header;
  try {
    header = JSON.parse(data.subarray(0, nl).toString('utf8')) as Header;
  } catch {
    return { ok: false, reason: 'damaged header' };
  }
  if (header.format !== FORMAT || header.version !== VERSION) return { ok: false, reason: `unknown format ${String(header.format)} v${String(header.version)}` };
  const body = data.subarray(nl + 1);
  if (body.length !== header.bytes) return { ok: false, reason: `truncated: ${body.length} of ${header.bytes} bytes` };
  if (crc32(body) !== header.crc32) return { ok: false, reason: 'checksum mismatch' };
  try {
    const [jsonBytes = 0, ...sectionBytes] = header.parts;
    const json: unknown = JSON.parse(body.subarray(0, jsonBytes).toString('utf8'));
    let at = jsonBytes;
    const sections = sectionBytes.map((n) => {
      const part = body.subarray(at, at + n);
      at += n + ((8 - (n % 8)) % 8);
      return part;
    });
    return { ok: true, generation: header.generation, payload: { json, sections } };
  } catch (err) {
    return { ok: false, reason: `damaged body: ${(err as Error).message}` };
  }
}
