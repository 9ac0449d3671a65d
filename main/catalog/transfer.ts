import { createReadStream, createWriteStream, rmSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { DlhubError, MetadataError } from '../errors.js';
import type { MetadataProblem } from '../errors.js';
import type { ServableMetadata } from '../servable/metadata.js';
import { normalizeDlhubRecord } from './dlhub-record.js';
import { checkRecordDepth, MAX_RECORD_DEPTH } from './record-depth.js';

/** A line of an import file that was skipped, and why. */
export interface ImportProblem {
  line: number;
  problems: MetadataProblem[];
}

/** Progress of an import, for the CLI's bar. */
export interface ImportProgress {
  lines: number;
  imported: number;
  skipped: number;
  bytesRead: number;
  totalBytes: number;
}

/** Outcome of an import: counts, and each bad line with its problems. */
export interface ImportReport {
  imported: number;
  skipped: number;
  errors: ImportProblem[];
  ms: number;
}

function problemsOf(err: unknown): MetadataProblem[] {
  if (err instanceof MetadataError) return [...err.problems];
  const message = err instanceof Error ? err.message : String(err);
  return [{ field: '(record)', rule: 'valid', message, fix: 'check this line against a record written by `dlhub catalog export`' }];
}

/**
 * Read a JSON Lines file, one metadata record a line, validating each and handing valid ones on in
 * batches. A bad line is reported with its number and skipped; blank lines are ignored.
 */
export async function readJsonl(
  file: string,
  opts: {
    validate: (doc: unknown, source: string) => ServableMetadata;
    /** Each valid record with its line's text, which is stored as is rather than serialized again; the next batch is read while a returned promise settles. */
    write: (batch: { metadata: ServableMetadata; json: string }[]) => void | Promise<void>;
    batchSize?: number;
    onProgress?: (p: ImportProgress) => void;
  },
): Promise<ImportReport> {
  const started = performance.now();
  let totalBytes: number;
  try {
    totalBytes = statSync(file).size;
  } catch (err) {
    throw new DlhubError('IMPORT_INVALID', `Cannot read the catalog file ${file}: ${(err as Error).message}`, {
      hint: 'Give the path of a .jsonl file written by `dlhub catalog export`.', cause: err,
    });
  }
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const batchSize = opts.batchSize ?? 5000;
  const report: ImportReport = { imported: 0, skipped: 0, errors: [], ms: 0 };
  let batch: { metadata: ServableMetadata; json: string }[] = [];
  let n = 0;
  const progress = (): void => opts.onProgress?.({ lines: n, imported: report.imported, skipped: report.skipped, bytesRead: stream.bytesRead, totalBytes });
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const full = batch;
    batch = [];
    await opts.write(full);
    report.imported += full.length;
    progress();
  };
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      // Before parsing: a record nested thousands deep would later break export (JSON.stringify recurses) and validation.
      checkRecordDepth(line, `line ${n}`);
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (err) {
        throw new MetadataError(`line ${n}: invalid JSON`, [{ field: '(syntax)', rule: 'json', message: `invalid JSON: ${(err as Error).message}`, fix: 'write one whole JSON object per line' }]);
      }
      const rec = normalizeDlhubRecord(doc, { inPlace: true }); // records as DLHub's search service writes them: kept whole, validated without its added fields
      batch.push({ metadata: opts.validate(rec.strict, `line ${n}`), json: rec.changed ? JSON.stringify(rec.stored) : line });
    } catch (err) {
      report.skipped++;
      report.errors.push({ line: n, problems: problemsOf(err) });
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
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
  const target = special ? file : `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
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
