import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';

/** Normalise a repeatable option to a list, or undefined when absent. */
export function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.map((x) => String(x)) : [typeof v === 'string' ? v : JSON.stringify(v)];
}

/** Parse the input given with --input or --input-file, naming the flag in any error. */
export function parseInput(o: { input?: string; inputFile?: string }): unknown {
  if (o.input !== undefined && o.inputFile !== undefined) {
    throw new UsageError('USAGE', 'Give either --input or --input-file, not both.');
  }
  if (o.input === undefined && o.inputFile === undefined) return null;
  let text: string;
  let source: string;
  if (o.inputFile !== undefined) {
    source = `--input-file ${o.inputFile}`;
    try {
      text = readFileSync(o.inputFile, 'utf8');
    } catch (err) {
      throw new UsageError('USAGE', `Cannot read ${o.inputFile}: ${(err as Error).message}`, { hint: 'Check the path given to --input-file.' });
    }
  } else {
    source = '--input';
    text = o.input ?? '';
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError('USAGE', `${source} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Inputs are JSON: a string needs quotes (--input \'"text"\'), an array looks like --input \'[[5.1, 3.5, 1.4, 0.2]]\'.',
    });
  }
}
