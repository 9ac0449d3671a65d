import { InputError } from '../../errors.js';
import { decodeFrame, encodeFrame } from './frame.js';

/**
 * Values on the wire: JSON travels as JSON; binary travels in the frame's raw buffers, referenced
 * as `{"$ndarray": {dtype, shape, buffer}}` (C order, little endian) or `{"$bytes": {buffer}}`.
 * An object whose only key is `$ndarray` or `$bytes` is reserved for these references.
 */

/** numpy dtype names the protocol carries as raw buffers. */
export type Dtype = 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float16' | 'float32' | 'float64';

type Typed = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

const ITEM_SIZE: Record<Dtype, number> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float16: 2, float32: 4, float64: 8,
};

// Reads one element at a byte offset; DataView keeps this correct on unaligned buffers.
const READ: Record<Dtype, (v: DataView, o: number) => number | boolean> = {
  bool: (v, o) => v.getUint8(o) !== 0,
  int8: (v, o) => v.getInt8(o),
  uint8: (v, o) => v.getUint8(o),
  int16: (v, o) => v.getInt16(o, true),
  uint16: (v, o) => v.getUint16(o, true),
  int32: (v, o) => v.getInt32(o, true),
  uint32: (v, o) => v.getUint32(o, true),
  int64: (v, o) => Number(v.getBigInt64(o, true)),
  uint64: (v, o) => Number(v.getBigUint64(o, true)),
  float16: (v, o) => halfToNumber(v.getUint16(o, true)),
  float32: (v, o) => v.getFloat32(o, true),
  float64: (v, o) => v.getFloat64(o, true),
};

function dtypeOf(typed: Typed): Dtype {
  if (typed instanceof Float64Array) return 'float64';
  if (typed instanceof Float32Array) return 'float32';
  if (typed instanceof Int32Array) return 'int32';
  if (typed instanceof Uint32Array) return 'uint32';
  if (typed instanceof Int16Array) return 'int16';
  if (typed instanceof Uint16Array) return 'uint16';
  if (typed instanceof Int8Array) return 'int8';
  if (typed instanceof BigInt64Array) return 'int64';
  if (typed instanceof BigUint64Array) return 'uint64';
  return 'uint8';
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Is `name` a dtype the protocol carries? */
export function isDtype(name: unknown): name is Dtype {
  return typeof name === 'string' && Object.hasOwn(ITEM_SIZE, name);
}

/** An n-dimensional array as numpy sends it: dtype, shape and the raw little-endian bytes in C order. */
export class NdArray {
  constructor(
    readonly dtype: Dtype,
    readonly shape: readonly number[],
    readonly data: Buffer,
  ) {
    const expected = shape.reduce((n, d) => n * d, 1) * ITEM_SIZE[dtype];
    if (data.length !== expected) {
      throw new InputError('INPUT_INVALID', `An ndarray of shape [${shape.join(', ')}] and dtype ${dtype} needs ${expected} bytes, but ${data.length} were given.`, {
        hint: 'Make the shape match the number of elements in the data.',
      });
    }
  }

  /** Wrap a typed array (copied into a Buffer); `shape` defaults to one dimension. */
  static from(typed: Typed, shape: readonly number[] = [typed.length]): NdArray {
    const data = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
    return new NdArray(dtypeOf(typed), shape, Buffer.from(data));
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length / ITEM_SIZE[this.dtype];
  }

  /** The elements in C order as plain numbers (booleans for bool; int64 beyond 2^53 loses precision). */
  flat(): (number | boolean)[] {
    const view = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    const read = READ[this.dtype];
    const step = ITEM_SIZE[this.dtype];
    const out = new Array<number | boolean>(this.size);
    for (let i = 0; i < out.length; i++) out[i] = read(view, i * step);
    return out;
  }

  /** Nested lists, as numpy's tolist(): what JSON.stringify and the CLI show. */
  toJSON(): unknown {
    const flat = this.flat();
    if (this.shape.length === 0) return flat[0];
    const nest = (offset: number, dim: number): unknown[] => {
      const n = this.shape[dim] ?? 0;
      if (dim === this.shape.length - 1) return flat.slice(offset, offset + n);
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: n }, (_, i) => nest(offset + i * stride, dim + 1));
    };
    return nest(0, 0);
  }
}

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
    hint: 'Send a finite number; to send Infinity or NaN, put the numbers in a float64 ndarray (typed array), which carries them exactly.',
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
      buffers.push(v.data);
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
      if (!isDtype(spec.dtype)) throw badRef(`dtype ${JSON.stringify(spec.dtype)} is not one of ${Object.keys(ITEM_SIZE).join(', ')}`);
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
