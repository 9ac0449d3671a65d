import { constants, createWriteStream, rmSync, renameSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { DlhubError, LimitError, MetadataError, PathError, TaskError } from '../errors.js';
import type { MetadataProblem } from '../errors.js';
import type { ImportProblem, ImportReport } from '../contract/schemas.js';
import type { ServableMetadata } from '../servable/metadata.js';
import { normalizeDlhubRecord } from './dlhub-record.js';
import { checkRecordDepth, MAX_RECORD_DEPTH } from './record-depth.js';

/** A skipped line of an import file and why, and the outcome of an import (wire types, declared in the contract). */
export type { ImportProblem, ImportReport };

/** Progress of an import, for the CLI's bar. */
export interface ImportProgress {
  lines: number;
  imported: number;
  skipped: number;
  bytesRead: number;
  totalBytes: number;
}

/**
 * Bounds of one import, so no file stops the service: a line longer than maxLineBytes is skipped unread (a
 * file with no newline, such as /dev/zero, is one such line), at most maxRecords records are taken, and at
 * most maxErrors bad lines are reported one by one (the rest only counted). Bytes read stop at the size the
 * file had when opened, so a file that grows while read (a log) ends too.
 */
export const IMPORT_LIMITS = { maxLineBytes: 16 * 1024 * 1024, maxRecords: 10_000_000, maxErrors: 1000 };

function problemsOf(err: unknown): MetadataProblem[] {
  if (err instanceof MetadataError) return [...err.problems];
  const message = err instanceof Error ? err.message : String(err);
  return [{ field: '(record)', rule: 'valid', message, fix: 'check this line against a record written by `dlhub catalog export`' }];
}

// V8's JSON.parse message quotes the start of the text ("Unexpected token 'r', "root:$6$..." is not valid JSON"):
// only where it failed is kept, so a file that is not a catalog is never echoed back.
function jsonProblem(err: unknown): MetadataProblem {
  const at = /position (\d+)/.exec((err as Error).message)?.[1];
  const where = at === undefined ? '' : ` at character ${at}`;
  return { field: '(syntax)', rule: 'json', message: `invalid JSON${where}`, fix: 'write one whole JSON object per line' };
}

/** The import was stopped by its caller (a closed connection) or by the service shutting down. */
function stopped(line: number, imported: number): TaskError {
  return new TaskError('CANCELLED', `The catalog import stopped at line ${line}: its caller went away or the service is stopping.`, {
    hint: `The ${imported} record(s) written before it stay; run the import again to finish (records already there are replaced, not doubled).`,
    details: { line, imported },
  });
}

/**
 * Open `file` for reading without blocking on it: a named pipe opened non-blocking returns at once, and
 * anything but a regular file (pipe, device, socket, folder) is refused before a byte is read, so a
 * request can never park a thread of Node's file pool on a pipe nobody writes.
 */
async function openRegular(file: string): Promise<{ handle: FileHandle; size: number }> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' || code === 'EPERM' ? 'it may not be read' : `it cannot be opened (${code})`;
    throw new DlhubError('IMPORT_INVALID', `Cannot read the catalog file ${file}: ${why}.`, {
      hint: 'Give the path of a .jsonl file written by `dlhub catalog export`.', details: { file, reason: code },
    });
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    const what = info.isFIFO() ? 'a named pipe (fifo)' : info.isDirectory() ? 'a folder' : info.isSocket() ? 'a socket' : 'a device or special file';
    throw new PathError('PATH_UNSAFE', `Refusing to import ${file}: it is ${what}, not a regular file.`, {
      hint: 'Save the catalog to a regular file first (dlhub catalog export FILE), then import that file.', details: { file, reason: 'not a regular file' },
    });
  }
  return { handle, size: info.size };
}

/** Split a byte stream into lines (without the newline and a trailing CR) with each line's length bounded; an over-long line yields null. */
export async function* boundedLines(chunks: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<string | null> {
  let parts: Buffer[] = [];
  let held = 0;
  let overlong = false;
  const take = (tail: Buffer): string | null => {
    if (overlong || held + tail.length > maxLineBytes) return null;
    const whole = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
    const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
    return whole.toString('utf8', 0, end);
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      yield take(chunk.subarray(from, nl));
      parts = [];
      held = 0;
      overlong = false;
      from = nl + 1;
    }
    const rest = chunk.subarray(from);
    if (rest.length === 0) continue;
    // An over-long line is dropped as it is read: its bytes are never held, whatever its length.
    if (overlong || held + rest.length > maxLineBytes) {
      overlong = true;
      parts = [];
      held = 0;
    } else {
      parts.push(Buffer.from(rest));
      held += rest.length;
    }
  }
  if (overlong || held > 0) yield take(Buffer.alloc(0));
}

/**
 * Read a JSON Lines file, one metadata record a line, validating each and handing valid ones on in
 * batches. A bad line is reported with its number and skipped; blank lines are ignored. Only a regular
 * file is read, at most to the size it had when opened, each line bounded (IMPORT_LIMITS); `signal`
 * stops the import between lines (batches already handed on stay written).
 */
export async function readJsonl(
  file: string,
  opts: {
    validate: (doc: unknown, source: string) => ServableMetadata;
    /** Each valid record with its line's text, which is stored as is rather than serialized again; the next batch is read while a returned promise settles. */
    write: (batch: { metadata: ServableMetadata; json: string }[]) => void | Promise<void>;
    batchSize?: number;
    onProgress?: (p: ImportProgress) => void;
    signal?: AbortSignal | undefined;
    limits?: Partial<typeof IMPORT_LIMITS>;
  },
): Promise<ImportReport> {
  const started = performance.now();
  const limits = { ...IMPORT_LIMITS, ...opts.limits };
  if (opts.signal?.aborted) throw stopped(0, 0);
  const { handle, size: totalBytes } = await openRegular(file);
  // Read no further than the size at open (`end` is inclusive); the stream closes the file when it ends or is destroyed.
  const stream = handle.createReadStream({ start: 0, end: Math.max(0, totalBytes - 1), highWaterMark: 1 << 20, autoClose: true });
  const batchSize = opts.batchSize ?? 5000;
  const report: ImportReport = { imported: 0, skipped: 0, errors: [], ms: 0 };
  let batch: { metadata: ServableMetadata; json: string }[] = [];
  let n = 0;
  let taken = 0;
  const progress = (): void => opts.onProgress?.({ lines: n, imported: report.imported, skipped: report.skipped, bytesRead: Math.min(stream.bytesRead, totalBytes), totalBytes });
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const full = batch;
    batch = [];
    await opts.write(full);
    report.imported += full.length;
    progress();
  };
  const skip = (problems: MetadataProblem[]): void => {
    report.skipped++;
    if (report.errors.length < limits.maxErrors) report.errors.push({ line: n, problems });
  };
  const source: AsyncIterable<Buffer> = totalBytes === 0 ? (async function* () {})() : stream;
  try {
    for await (const line of boundedLines(source, limits.maxLineBytes)) {
      n++;
      if (opts.signal?.aborted) throw stopped(n, report.imported + batch.length);
      if (line === null) {
        skip([{ field: '(line)', rule: 'length', message: `the line is longer than ${limits.maxLineBytes} bytes`, fix: 'write one record per line; a catalog record is far smaller' }]);
        continue;
      }
      if (line.trim() === '') continue;
      if (taken >= limits.maxRecords) {
        throw new LimitError('LIMIT_EXCEEDED', `The catalog file holds more than ${limits.maxRecords} records; the first ${limits.maxRecords} were read.`, {
          hint: 'Split the file and import the parts one by one.', details: { limit: 'records', max: limits.maxRecords, line: n },
        });
      }
      taken++;
      try {
        // Before parsing: a record nested thousands deep would later break export (JSON.stringify recurses) and validation.
        checkRecordDepth(line, `line ${n}`);
        let doc: unknown;
        try {
          doc = JSON.parse(line);
        } catch (err) {
          throw new MetadataError(`line ${n}: invalid JSON`, [jsonProblem(err)]);
        }
        const rec = normalizeDlhubRecord(doc, { inPlace: true }); // records as DLHub's search service writes them: kept whole, validated without its added fields
        batch.push({ metadata: opts.validate(rec.strict, `line ${n}`), json: rec.changed ? JSON.stringify(rec.stored) : line });
      } catch (err) {
        skip(problemsOf(err));
      }
      if (batch.length >= batchSize) await flush();
    }
    if (opts.signal?.aborted) throw stopped(n, report.imported + batch.length);
    await flush();
  } finally {
    stream.destroy();
  }
  progress();
  report.ms = performance.now() - started;
  return report;
}

/**
 * Write records as JSON Lines; returns how many were written. A regular file is written to a temp file beside it and
 * renamed into place at the end, so a failure part way (a record that cannot be serialized, a full disk) leaves the old
 * file or none, never a partial one. A device or pipe (/dev/stdout) is written directly.
 */
export async function writeJsonl(file: string, records: Iterable<ServableMetadata>): Promise<number> {
  let special = false;
  try {
    special = !statSync(file).isFile();
  } catch {
    // Not there yet: written through a temp file like any regular file.
  }
  // The temp name is short whatever the file's name, so a name near the file system's limit still exports.
  const target = special ? file : join(dirname(file), `.dlhub-export-${process.pid}-${Date.now().toString(36)}.tmp`);
  try {
    const n = await writeStream(file, target, records);
    if (!special) renameSync(target, file);
    return n;
  } catch (err) {
    if (!special) rmSync(target, { force: true });
    if (err instanceof DlhubError) throw err;
    // A stream error can win the race with our own wrapping of it (events.once rejects on 'error'); name the user's file, not the temp.
    throw new DlhubError('CATALOG_ERROR', `Cannot write ${file}: ${(err as Error).message.split(target).join(file)}`, {
      hint: 'Check that the folder exists and is writable.', cause: err,
    });
  }
}

async function writeStream(file: string, target: string, records: Iterable<ServableMetadata>): Promise<number> {
  const out = createWriteStream(target, { encoding: 'utf8' });
  const failed = once(out, 'error').then(([err]) => {
    throw new DlhubError('CATALOG_ERROR', `Cannot write ${file}: ${(err as Error).message}`, { hint: 'Check that the folder exists and is writable.', cause: err });
  });
  failed.catch(() => undefined); // raced below; this only keeps a late error from going unhandled
  let n = 0;
  let chunk = '';
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
  };
  try {
    for (const md of records) {
      chunk += `${serialize(md)}\n`;
      n++;
      if (chunk.length > 1 << 20) {
        await write(chunk);
        chunk = '';
      }
    }
    if (chunk) await write(chunk);
  } catch (err) {
    // Wait for the close, so the caller's removal of the temp file cannot run before the file is even opened.
    const closed = once(out, 'close').catch(() => undefined);
    out.destroy();
    await closed;
    throw err;
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return n;
}

// One record as a line; a record stored before depth was bounded can be too deep for JSON.stringify.
function serialize(md: ServableMetadata): string {
  try {
    return JSON.stringify(md);
  } catch (err) {
    const name = `${md.dlhub.owner ? `${md.dlhub.owner}/` : ''}${md.dlhub.name}`;
    throw new DlhubError('CATALOG_ERROR', `Cannot export the record of ${name}: ${(err as Error).message}`, {
      hint: `Remove the record (dlhub rm ${name}) or re-add it with objects nested at most ${MAX_RECORD_DEPTH} levels, then export again.`, cause: err,
    });
  }
}
