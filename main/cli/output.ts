import { DlhubError } from '../errors.js';

// C0 controls but tab and newline, DEL, and C1 controls (ESC/CSI/OSC start sequences that move the
// cursor, clear the screen or write the clipboard), plus lone CRs that would overwrite a line.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from outside (catalog records, model errors, metadata) made safe to print on a terminal:
 * control characters removed. Every human-readable print path of the CLI goes through this;
 * `--json` output is JSON-escaped already.
 */
export function safeText(text: string): string {
  return text.replace(CONTROL, '');
}

/**
 * JSON.stringify replacer for `--json`: bytes print in the door codec's tagged form ({"$bytes": base64},
 * not Node's {type: "Buffer", data: […]}); ndarrays print as nested lists, as numpy's tolist() would.
 */
function bytesTagged(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array && !(original instanceof Uint8ClampedArray)) return { $bytes: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
  return nonFiniteAsText(key, value);
}

/** JSON.stringify would print NaN and Infinity (a model's, carried in an ndarray) as null: print "NaN", "Infinity", "-Infinity". */
function nonFiniteAsText(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** Arrays at least this long are written an element at a time. */
const STREAM_ITEMS = 1000;
/** Text is handed to the stream in pieces of about this many characters. */
const WRITE_CHARS = 64 * 1024;

/**
 * Write `JSON.stringify(data, bytesTagged, 2)` and a newline, the same text, but a long array among a
 * plain object's properties (a batch's outputs, cached flags, errors) an element at a time: a batch of
 * 100,000 answers never has its whole document as one string (and again as bytes) in this process.
 */
export function writeJson(out: NodeJS.WritableStream, data: unknown): void {
  const plain = data !== null && typeof data === 'object' && Object.getPrototypeOf(data) === Object.prototype && typeof (data as { toJSON?: unknown }).toJSON !== 'function';
  const entries = plain ? Object.entries(data as Record<string, unknown>) : [];
  if (!plain || !entries.some(([, v]) => streamable(v))) {
    out.write(`${JSON.stringify(data, bytesTagged, 2)}\n`);
    return;
  }
  let text = '';
  const push = (piece: string): void => {
    text += piece;
    if (text.length >= WRITE_CHARS) {
      out.write(text);
      text = '';
    }
  };
  // Nested values are stringified alone and indented by their depth: JSON text holds no raw newline but these.
  const nested = (value: unknown, indent: string): string | undefined => JSON.stringify(value, bytesTagged, 2)?.replace(/\n/g, `\n${indent}`);
  push('{');
  let first = true;
  for (const [key, value] of entries) {
    if (streamable(value)) {
      push(`${first ? '' : ','}\n  ${JSON.stringify(key)}: [`);
      value.forEach((item, i) => push(`${i === 0 ? '' : ','}\n    ${nested(item, '    ') ?? 'null'}`));
      push('\n  ]');
    } else {
      const json = nested(value, '  ');
      if (json === undefined) continue;
      push(`${first ? '' : ','}\n  ${JSON.stringify(key)}: ${json}`);
    }
    first = false;
  }
  push(first ? '}\n' : '\n}\n');
  out.write(text);
}

function streamable(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length >= STREAM_ITEMS && Object.getPrototypeOf(value) === Array.prototype;
}

/** Where a command writes: human text by default, one JSON document with `--json`. */
export interface Output {
  json: boolean;
  /** Print a result: `human` renders it for people, JSON mode prints `data` as is. */
  result(data: unknown, human: () => string): void;
  /** A line for people only (silent in JSON mode). */
  info(line: string): void;
}

/** Make the output writer for one command invocation. */
export function makeOutput(json: boolean, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(data, human) {
      if (json) writeJson(out, data);
      else out.write(`${safeText(human())}\n`);
    },
    info(line) {
      if (!json) err.write(`${safeText(line)}\n`);
    },
  };
}

/** Print an error the way a person (or a script with --json) can act on; returns the exit code. */
export function reportError(err: unknown, json: boolean, out: NodeJS.WritableStream = process.stdout, errStream: NodeJS.WritableStream = process.stderr): number {
  const write = (text: string): boolean => errStream.write(safeText(text));
  if (err instanceof DlhubError) {
    if (json) out.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
    else {
      write(`error: ${err.message}\n`);
      const problems = (err.details?.['problems'] ?? []) as { field: string; message: string; fix: string }[];
      for (const p of problems) write(`  - ${p.field}: ${p.message}\n    fix: ${p.fix}\n`);
      if (err.hint) write(`  ${err.hint}\n`);
      const tb = err.details?.['traceback'];
      if (typeof tb === 'string' && tb && process.env['DLHUB_DEBUG']) write(`${tb}\n`);
    }
    return err.code === 'USAGE' ? 2 : 1;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (json) out.write(`${JSON.stringify({ error: { code: 'INTERNAL', message } }, null, 2)}\n`);
  else write(`internal error: ${message}\n`);
  return 1;
}

/** Render a value compactly for a terminal: short JSON on one line, long JSON indented. */
export function renderValue(value: unknown): string {
  const compact = JSON.stringify(value, nonFiniteAsText);
  if (compact === undefined) return 'null';
  return compact.length <= 100 ? compact : JSON.stringify(value, nonFiniteAsText, 2);
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Bytes as a short human figure. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
