// The input form of a method, generated from its declared input type: which field to draw, what
// to show as an example, and how to read what the user typed or pasted (JSON, or a table pasted
// from a spreadsheet: rows by line, cells by tab, comma or spaces). Pure, so it is tested alone.

/** A DLHub argument type, as much of it as the form reads. */
export interface ArgType {
  type: string;
  shape?: (number | null)[] | undefined;
  item_type?: ArgType | undefined;
  description?: string | undefined;
}

/** Which field draws an input. */
export type FieldKind = 'table' | 'list' | 'number' | 'integer' | 'boolean' | 'string' | 'file' | 'json';

/** One generated field: its kind, the width a table must have, and a placeholder. */
export interface FieldSpec {
  kind: FieldKind;
  /** Cells per row a table needs (from the type's shape), when fixed. */
  columns: number | undefined;
  placeholder: string;
  label: string;
}

/** A problem with what was typed: the message says what to fix; `line` points at the row when known. */
export class FieldError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(message);
    this.name = 'FieldError';
    this.line = line;
  }
}

const NUMERIC = new Set(['float', 'number', 'integer', 'complex']);

/** The field for a method's input type (no type: free JSON). */
export function fieldFor(t: ArgType | undefined): FieldSpec {
  const label = t?.description ?? 'Input';
  if (!t) return { kind: 'json', columns: undefined, placeholder: '"any JSON value"', label };
  const item = t.item_type?.type;
  const numericItems = item === undefined || NUMERIC.has(item);
  if ((t.type === 'ndarray' || t.type === 'list') && numericItems) {
    const dims = t.shape?.length ?? (t.type === 'list' && t.item_type?.type === 'list' ? 2 : 1);
    if (dims === 2) {
      const columns = t.shape?.[1] ?? undefined;
      const n = columns ?? 3;
      const row = Array.from({ length: n }, (_, i) => (i + 1).toFixed(1)).join('\t');
      return { kind: 'table', columns: columns ?? undefined, placeholder: `${row}\n${row}`, label };
    }
    if (dims === 1) return { kind: 'list', columns: undefined, placeholder: '1.0, 2.0, 3.0', label };
  }
  switch (t.type) {
    case 'float':
    case 'number':
      return { kind: 'number', columns: undefined, placeholder: '3.14', label };
    case 'integer':
      return { kind: 'integer', columns: undefined, placeholder: '42', label };
    case 'boolean':
      return { kind: 'boolean', columns: undefined, placeholder: 'true', label };
    case 'string':
      return { kind: 'string', columns: undefined, placeholder: 'text', label };
    case 'file':
      return { kind: 'file', columns: undefined, placeholder: 'Drop a file here', label };
    default:
      return { kind: 'json', columns: undefined, placeholder: '{"key": "value"}', label };
  }
}

function number(cell: string, line?: number): number {
  const v = Number(cell);
  if (cell.trim() === '' || !Number.isFinite(v)) throw new FieldError(`"${cell}" is not a number${line ? ` (row ${line})` : ''}.`, line);
  return v;
}

/** Numbers split by tab, comma, semicolon or spaces. */
function cells(text: string): string[] {
  return text.trim().split(/[\t,;]+|\s+/).filter((c) => c !== '');
}

function fromJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FieldError(`Not valid JSON: ${err instanceof Error ? err.message : String(err)}.`);
  }
}

/** Read a field's text as the value the method receives; throws FieldError saying what to fix. */
export function parseField(spec: FieldSpec, text: string, file?: Uint8Array): unknown {
  const trimmed = text.trim();
  if (spec.kind === 'file') {
    if (!file) throw new FieldError('Drop a file or choose one.');
    return file;
  }
  if (trimmed === '' && spec.kind !== 'string') throw new FieldError('Enter a value.');
  switch (spec.kind) {
    case 'table': {
      if (trimmed.startsWith('[')) {
        const v = fromJson(trimmed);
        const rows = Array.isArray(v) && v.every(Array.isArray) ? (v as unknown[][]) : undefined;
        if (!rows) throw new FieldError('A table is a list of rows, e.g. [[1, 2], [3, 4]].');
        rows.forEach((r, i) => checkRow(spec, r.length, i + 1));
        return rows.map((r, i) => r.map((c) => (typeof c === 'number' ? c : number(String(c), i + 1))));
      }
      return trimmed.split(/\r?\n/).filter((l) => l.trim() !== '').map((l, i) => {
        const row = cells(l).map((c) => number(c, i + 1));
        checkRow(spec, row.length, i + 1);
        return row;
      });
    }
    case 'list': {
      if (trimmed.startsWith('[')) {
        const v = fromJson(trimmed);
        if (!Array.isArray(v)) throw new FieldError('A list is written [1, 2, 3] or 1, 2, 3.');
        return v.map((c) => (typeof c === 'number' ? c : number(String(c))));
      }
      return cells(trimmed).map((c) => number(c));
    }
    case 'number':
      return number(trimmed);
    case 'integer': {
      const v = number(trimmed);
      if (!Number.isInteger(v)) throw new FieldError(`${trimmed} is not a whole number.`);
      return v;
    }
    case 'boolean':
      if (/^(true|yes|1)$/i.test(trimmed)) return true;
      if (/^(false|no|0)$/i.test(trimmed)) return false;
      throw new FieldError('Enter true or false.');
    case 'string':
      return text;
    default:
      return fromJson(trimmed);
  }
}

function checkRow(spec: FieldSpec, width: number, line: number): void {
  if (spec.columns !== undefined && width !== spec.columns) {
    throw new FieldError(`Row ${line} has ${width} value${width === 1 ? '' : 's'}; each row needs ${spec.columns}.`, line);
  }
}
