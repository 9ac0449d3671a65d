import { InputError } from '../../errors.js';
import { DTYPES, NdArray, isDtype, type Typed } from '../../contract/ndarray.js';
import { decodeFrame, encodeFrame } from './frame.js';

/**
 * Values on the wire: JSON travels as JSON; binary travels in the frame's raw buffers, referenced
 * as `{"$ndarray": {dtype, shape, buffer}}` (C order, little endian) or `{"$bytes": {buffer}}`.
 * An object whose only key is `$ndarray` or `$bytes` is reserved for these references (the runner
 * refuses a model output shaped like one, as the model's error). JSON has no NaN or Infinity: they
 * travel in float64 ndarrays both ways (a model's non-finite float comes back as a 0-d one).
 */

// NdArray and its dtypes are the contract's (browser-safe); re-exported for the runtime's callers.
export { NdArray, isDtype, type Dtype } from '../../contract/ndarray.js';

/** A value split into wire JSON and the raw buffers it references. */
export interface EncodedValue {
  json: unknown;
  buffers: Buffer[];
}

// `out[k] = v` with k "__proto__" would set the prototype and drop the key; keep it as data.
function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

function reserved(path: string): InputError {
  return new InputError('INPUT_INVALID', `The object at ${path} has "$ndarray" or "$bytes" as its only key, which the runner protocol reserves for binary data.`, {
    hint: 'Rename the key, or add another key to the object.',
  });
}

/**
 * Deepest nesting of lists and objects an input may have. The runner decodes JSON recursively
 * (Python's default recursion limit is 1,000 frames), so deep inputs are refused here, before
 * they reach the shared worker.
 */
export const MAX_VALUE_DEPTH = 100;

/** How encodeValue walks a value. */
export interface EncodeOptions {
  /** Nesting limit; default MAX_VALUE_DEPTH. */
  maxDepth?: number | undefined;
}

function tooDeep(path: string, maxDepth: number): InputError {
  return new InputError('INPUT_INVALID', `The input is nested more than ${maxDepth} levels deep (at ${path}).`, {
    hint: `Flatten the input to at most ${maxDepth} levels of lists and objects, or send the data as an ndarray.`,
    details: { limit: maxDepth, path },
  });
}

function notFinite(path: string, v: number): InputError {
  return new InputError('INPUT_INVALID', `The number at ${path} is ${String(v)}, which JSON cannot carry (a number such as 1e999 overflows to Infinity).`, {
    hint: 'Send a finite number; to send NaN or Infinity, put the numbers in a float64 ndarray (a Float64Array; 0-d for one number), which carries them exactly: a method that takes a list or a number receives them as plain floats.',
    details: { path, value: String(v) },
  });
}

// The path of the value being walked, for error messages: kept as a stack of keys and joined only
// when an error is thrown, so a large input pays no string building. Long paths are cut.
function pathOf(keys: readonly (string | number)[]): string {
  let path = 'input';
  for (const k of keys) {
    if (path.length > 200) return `${path}…`;
    path += typeof k === 'number' ? `[${k}]` : `.${k}`;
  }
  return path;
}

/**
 * Split a value into JSON plus raw buffers: Buffer/Uint8Array -> $bytes, NdArray and other typed
 * arrays -> $ndarray. Refuses (InputError) nesting beyond `maxDepth` and non-finite plain numbers.
 */
export function encodeValue(value: unknown, opts: EncodeOptions = {}): EncodedValue {
  const maxDepth = opts.maxDepth ?? MAX_VALUE_DEPTH;
  const buffers: Buffer[] = [];
  const at: (string | number)[] = [];
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw notFinite(pathOf(at), v);
      return v;
    }
    if (v === undefined) return null;
    if (typeof v === 'bigint') return Number(v);
    if (Array.isArray(v)) {
      if (depth >= maxDepth) throw tooDeep(pathOf(at), maxDepth);
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        at.push(i);
        out[i] = walk(v[i], depth + 1);
        at.pop();
      }
      return out;
    }
    if (v instanceof NdArray) {
      buffers.push(Buffer.isBuffer(v.data) ? v.data : Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength));
      return { $ndarray: { dtype: v.dtype, shape: [...v.shape], buffer: buffers.length - 1 } };
    }
    if (v instanceof Uint8Array && !(v instanceof Uint8ClampedArray)) {
      buffers.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      return { $bytes: { buffer: buffers.length - 1 } };
    }
    if (v instanceof ArrayBuffer) return walk(new Uint8Array(v), depth);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return walk(NdArray.from(v as Typed), depth);
    if (typeof v === 'object') {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return walk((toJSON as () => unknown).call(v), depth + 1);
      if (depth >= maxDepth) throw tooDeep(pathOf(at), maxDepth);
      const keys = Object.keys(v);
      if (keys.length === 1 && (keys[0] === '$ndarray' || keys[0] === '$bytes')) throw reserved(pathOf(at));
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined || typeof item === 'function') continue;
        at.push(k);
        setOwn(out, k, walk(item, depth + 1));
        at.pop();
      }
      return out;
    }
    throw new InputError('INPUT_INVALID', `The value at ${pathOf(at)} is a ${typeof v}, which cannot be sent to a servable.`, {
      hint: 'Send JSON values, Buffers, typed arrays or NdArray values.',
    });
  };
  const json = walk(value, 0);
  return { json, buffers };
}

function badRef(why: string): InputError {
  return new InputError('INPUT_INVALID', `Bad binary reference in a runner value: ${why}.`, {
    hint: 'A "$ndarray" or "$bytes" object must name a buffer of the frame by index, with a dtype and shape that fit it.',
  });
}

function refBuffer(ref: unknown, buffers: readonly Buffer[]): Buffer {
  const index = typeof ref === 'object' && ref !== null ? (ref as { buffer?: unknown }).buffer : undefined;
  const buf = typeof index === 'number' ? buffers[index] : undefined;
  if (!buf) throw badRef(`buffer ${String(index)} is not one of the ${buffers.length} buffers`);
  return buf;
}

/** Rebuild a value from wire JSON and raw buffers: $ndarray -> NdArray, $bytes -> Buffer. */
export function decodeValue(json: unknown, buffers: readonly Buffer[]): unknown {
  if (buffers.length === 0) return json; // nothing can reference a buffer: skip the walk
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === '$bytes') return refBuffer(obj['$bytes'], buffers);
    if (keys.length === 1 && keys[0] === '$ndarray') {
      const raw = obj['$ndarray'];
      if (typeof raw !== 'object' || raw === null) throw badRef(`$ndarray is ${JSON.stringify(raw)}, not an object`);
      const spec = raw as { dtype?: unknown; shape?: unknown };
      const shape = spec.shape;
      if (!isDtype(spec.dtype)) throw badRef(`dtype ${JSON.stringify(spec.dtype)} is not one of ${DTYPES.join(', ')}`);
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) throw badRef(`shape ${JSON.stringify(shape)} is not a list of sizes`);
      return new NdArray(spec.dtype, shape as number[], refBuffer(spec, buffers));
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) setOwn(out, k, walk(obj[k]));
    return out;
  };
  return walk(json);
}

/** Copy `json` with its buffer references renumbered to the buffers it alone uses (one item of a batch). */
export function extractValue(json: unknown, buffers: readonly Buffer[]): EncodedValue {
  const used: Buffer[] = [];
  if (buffers.length === 0) return { json, buffers: used };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === '$bytes' || keys[0] === '$ndarray')) {
      const key = keys[0];
      const spec = obj[key] as Record<string, unknown>;
      used.push(refBuffer(spec, buffers));
      return { [key]: { ...spec, buffer: used.length - 1 } };
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) setOwn(out, k, walk(obj[k]));
    return out;
  };
  return { json: walk(json), buffers: used };
}

/** One result as a frame `{result}` + buffers: the form the memo cache stores. */
export function encodeResultFrame(json: unknown, buffers: readonly Buffer[]): Buffer {
  return encodeFrame({ result: json }, buffers);
}

/** Decode a result stored by encodeResultFrame (a run's `raw`). */
export function decodeStoredResult(frame: Buffer): unknown {
  const { header, buffers } = decodeFrame(frame);
  return decodeValue(header['result'], buffers);
}
