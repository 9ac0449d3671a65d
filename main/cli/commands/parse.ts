import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LimitError, UsageError } from '../../errors.js';
import { loadSettings } from '../../engine/settings.js';

/** Largest `--batch FILE` read (a batch holds many inputs; each is still held to DLHUB_MAX_INPUT_BYTES). */
export const MAX_BATCH_FILE_BYTES = 64 * 1024 * 1024;

/** Normalise a repeatable option to a list, or undefined when absent. */
export function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.map((x) => String(x)) : [typeof v === 'string' ? v : JSON.stringify(v)];
}

/**
 * Read a file as text, stopping as soon as it passes `limit` bytes: `/dev/zero`, a FIFO or a huge
 * file costs at most the limit in memory, never the whole file.
 */
export function readBounded(file: string, limit: number, flag: string, limitName: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new UsageError('USAGE', `Cannot read ${file}: ${(err as Error).message}`, { hint: `Check the path given to ${flag}.` });
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new UsageError('USAGE', `${flag} ${file} is a folder, not a file.`, { hint: `Give ${flag} a JSON file.` });
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(64 * 1024);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) {
        throw new LimitError('LIMIT_EXCEEDED', `${flag} ${file} is larger than ${limitName} (${limit} bytes); reading stopped there.`, {
          hint: limitName.startsWith('DLHUB_') ? `Send a smaller input, or raise the limit, e.g. ${limitName.split(' ')[0] ?? ''}=${limit * 2}.` : 'Split the batch into several files.',
          details: { limit: limitName, bytes: limit },
        });
      }
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof UsageError || err instanceof LimitError) throw err;
    throw new UsageError('USAGE', `Cannot read ${file}: ${(err as Error).message}`, { hint: `Check the path given to ${flag}.` });
  } finally {
    closeSync(fd);
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError('USAGE', `${source} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Inputs are JSON: a string needs quotes (--input \'"text"\'), an array looks like --input \'[[5.1, 3.5, 1.4, 0.2]]\'.',
    });
  }
}

/** Parse the input given with --input or --input-file, naming the flag in any error. */
export function parseInput(o: { input?: string; inputFile?: string }): unknown {
  if (o.input !== undefined && o.inputFile !== undefined) {
    throw new UsageError('USAGE', 'Give either --input or --input-file, not both.');
  }
  if (o.input === undefined && o.inputFile === undefined) return null;
  if (o.inputFile !== undefined) {
    const limit = loadSettings().maxInputBytes;
    return parseJson(readBounded(o.inputFile, limit, '--input-file', 'DLHUB_MAX_INPUT_BYTES'), `--input-file ${o.inputFile}`);
  }
  return parseJson(o.input ?? '', '--input');
}

/** Parse `--batch FILE`: a JSON array of inputs. */
export function parseBatchFile(file: string): unknown[] {
  const inputs = parseJson(readBounded(file, MAX_BATCH_FILE_BYTES, '--batch', 'the 64 MiB batch file limit'), `--batch ${file}`);
  if (!Array.isArray(inputs)) {
    throw new UsageError('USAGE', `--batch ${file} must hold a JSON array of inputs, not ${inputs === null ? 'null' : typeof inputs}.`, { hint: 'For example [[[5.1,3.5,1.4,0.2]], [[6.7,3.0,5.2,2.3]]].' });
  }
  return inputs;
}

/** `--timeout SECONDS` as milliseconds for the request. */
export function timeoutMs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 86_400) throw new UsageError('USAGE', `--timeout takes seconds between 0 and 86400, not "${raw}".`, { hint: 'For example --timeout 30.' });
  return Math.max(1, Math.round(s * 1000));
}
