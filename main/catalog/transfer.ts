import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { DlhubError, MetadataError } from '../errors.js';
import type { MetadataProblem } from '../errors.js';
import type { ServableMetadata } from '../servable/metadata.js';

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
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (err) {
        throw new MetadataError(`line ${n}: invalid JSON`, [{ field: '(syntax)', rule: 'json', message: `invalid JSON: ${(err as Error).message}`, fix: 'write one whole JSON object per line' }]);
      }
      batch.push({ metadata: opts.validate(doc, `line ${n}`), json: line });
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

/** Write records as JSON Lines; returns how many were written. */
export async function writeJsonl(file: string, records: Iterable<ServableMetadata>): Promise<number> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  const failed = once(out, 'error').then(([err]) => {
    throw new DlhubError('CATALOG_ERROR', `Cannot write ${file}: ${(err as Error).message}`, { hint: 'Check that the folder exists and is writable.', cause: err });
  });
  failed.catch(() => undefined); // raced below; this only keeps a late error from going unhandled
  let n = 0;
  let chunk = '';
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
  };
  for (const md of records) {
    chunk += `${JSON.stringify(md)}\n`;
    n++;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  if (chunk) await write(chunk);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return n;
}
