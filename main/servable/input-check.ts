import { InputError } from '../errors.js';
import type { ArgumentType } from './metadata.js';

const HINT = 'Compare the input with the method\'s declared input type (`dlhub describe NAME`).';

function reject(message: string): never {
  throw new InputError('INPUT_INVALID', message, { hint: HINT });
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `a ${typeof value} (${String(value)})`;
  return `a ${typeof value}`;
}

function showShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
}

function dimWords(depth: number, n: number): string {
  const items = `${n} item${n === 1 ? '' : 's'}`;
  if (depth === 0) return items;
  if (depth === 1) return `${items} in each row`;
  return `${items} at depth ${depth + 1}`;
}

// Scalars of an ndarray: numbers unless item_type says otherwise; numpy also takes booleans as numbers.
function checkScalar(value: unknown, itemType: string | undefined, path: string, what: string): void {
  switch (itemType) {
    case 'string':
      if (typeof value !== 'string') reject(`${path} is ${kindOf(value)}, but ${what} holds strings`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') reject(`${path} is ${kindOf(value)}, but ${what} holds booleans`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) reject(`${path} is ${kindOf(value)}, but ${what} holds integers`);
      return;
    case 'python object':
    case 'complex':
      return;
    default:
      if (typeof value !== 'number' && typeof value !== 'boolean') reject(`${path} is ${kindOf(value)}, but ${what} holds numbers`);
  }
}

/** An array already in binary form: `{dtype, shape, data}`, either an NdArray instance or its `$ndarray` JSON wrapping. */
function ndarrayShape(value: unknown): number[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const inner: unknown = '$ndarray' in value ? value.$ndarray : value;
  if (inner === null || typeof inner !== 'object') return undefined;
  const { dtype, shape } = inner as { dtype?: unknown; shape?: unknown };
  if (typeof dtype !== 'string' || !Array.isArray(shape)) return undefined;
  const dims: unknown[] = shape;
  return dims.every((d): d is number => Number.isInteger(d)) ? dims : undefined;
}

function checkNdarray(value: unknown, type: ArgumentType, path: string): void {
  const shape = type.shape ?? [];
  const expects = `the method expects shape ${showShape(shape)}`;
  const given = ndarrayShape(value);
  if (given) {
    const fits = given.length === shape.length && shape.every((d, i) => d === null || d === given[i]);
    if (!fits) reject(`${path} has shape ${showShape(given)}, but ${expects}`);
    return;
  }
  const walk = (v: unknown, depth: number, at: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) reject(`${at} is ${kindOf(v)}, but ${expects} (${shape.length} level${shape.length === 1 ? '' : 's'} of lists, no deeper)`);
      checkScalar(v, type.item_type?.type, at, `an array of shape ${showShape(shape)}`);
      return;
    }
    const want = shape[depth] ?? null;
    if (!Array.isArray(v)) {
      const level = want === null ? 'a list' : `a list of ${dimWords(depth, want).replace(/ in each row$/, '')}`;
      reject(`${at} is ${kindOf(v)}, but ${expects} (${level} here)`);
    }
    if (want !== null && v.length !== want) reject(`${at} has ${v.length} item${v.length === 1 ? '' : 's'}, but ${expects} (${dimWords(depth, want)})`);
    v.forEach((item, i) => walk(item, depth + 1, `${at}[${i}]`));
  };
  walk(value, 0, path);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Check a caller's input against a method's declared type; throws InputError('INPUT_INVALID') naming the path and what was expected. */
export function checkInput(value: unknown, type: ArgumentType, path = 'input'): void {
  switch (type.type) {
    case 'ndarray':
      checkNdarray(value, type, path);
      return;
    case 'list':
      // An ndarray reaches a method that takes a list as lists of numbers: how NaN and Infinity get there.
      if ((ndarrayShape(value)?.length ?? 0) > 0) return;
      if (!Array.isArray(value)) reject(`${path} is ${kindOf(value)}, but the method expects a list`);
      if (type.item_type) {
        const itemType = type.item_type;
        value.forEach((item, i) => checkInput(item, itemType, `${path}[${i}]`));
      }
      return;
    case 'tuple': {
      const types = type.element_types ?? [];
      if (ndarrayShape(value)?.[0] === types.length) return;
      if (!Array.isArray(value)) reject(`${path} is ${kindOf(value)}, but the method expects a tuple of ${types.length} items`);
      if (value.length !== types.length) reject(`${path} has ${value.length} item${value.length === 1 ? '' : 's'}, but the method expects a tuple of ${types.length} (${types.map((t) => t.type).join(', ')})`);
      types.forEach((t, i) => checkInput(value[i], t, `${path}[${i}]`));
      return;
    }
    case 'dict': {
      if (!isPlainObject(value)) reject(`${path} is ${kindOf(value)}, but the method expects an object with keys ${Object.keys(type.properties ?? {}).join(', ')}`);
      for (const [key, keyType] of Object.entries(type.properties ?? {})) {
        if (!(key in value)) reject(`${path} is missing the key "${key}" (the method expects keys: ${Object.keys(type.properties ?? {}).join(', ')})`);
        checkInput(value[key], keyType, `${path}.${key}`);
      }
      return;
    }
    case 'string':
      if (typeof value !== 'string') reject(`${path} is ${kindOf(value)}, but the method expects a string`);
      return;
    case 'number':
    case 'float':
      // A 0-d float ndarray is how a NaN or Infinity is sent; the method gets a Python float.
      if (typeof value !== 'number' && ndarrayShape(value)?.length !== 0) reject(`${path} is ${kindOf(value)}, but the method expects a number`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) reject(`${path} is ${kindOf(value)}, but the method expects an integer`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') reject(`${path} is ${kindOf(value)}, but the method expects true or false`);
      return;
    default:
      // python object, file, complex, dates: the runner knows how to read them; nothing to check here.
      return;
  }
}

function human(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/** Refuse an input larger than the limit; throws InputError('INPUT_TOO_LARGE') naming the size, the limit and the setting. */
export function checkInputSize(bytes: number, limit: number): void {
  if (bytes <= limit) return;
  throw new InputError('INPUT_TOO_LARGE', `The input is ${human(bytes)} (${bytes} bytes), more than the limit of ${human(limit)} (${limit} bytes).`, {
    hint: `Send a smaller input or split it into a batch, or raise the limit with the DLHUB_MAX_INPUT_BYTES setting, e.g. DLHUB_MAX_INPUT_BYTES=${Math.max(limit * 2, Math.ceil(bytes / 1024 / 1024) * 1024 * 1024)}.`,
    details: { bytes, limit, setting: 'DLHUB_MAX_INPUT_BYTES' },
  });
}
