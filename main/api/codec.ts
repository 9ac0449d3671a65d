// The one value codec of every JSON door (local service, HTTP API, SDK over HTTP). It makes a value
// cross a door unchanged: Buffers and ndarrays become tagged JSON objects and come back as the same
// classes the in-process API answers with.
import { InputError, LimitError } from '../errors.js';
import { NdArray, isDtype } from '../runtime/protocol/values.js';

/** Deepest nesting a door walks; deeper values get a typed error instead of a stack overflow. */
export const MAX_WIRE_DEPTH = 1000;

function tooDeep(): LimitError {
  return new LimitError('LIMIT_EXCEEDED', `A value is nested more than ${MAX_WIRE_DEPTH} levels deep.`, { hint: 'Flatten the value; nesting this deep is almost always a mistake.' });
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function toBytes(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A value as door JSON: Buffer/Uint8Array -> {"$bytes": base64}; NdArray and other typed arrays ->
 * {"$ndarray": {dtype, shape, data: base64}}. Plain parts are shared, not copied.
 */
export function toWire(value: unknown): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (depth > MAX_WIRE_DEPTH) throw tooDeep();
    if (Array.isArray(v)) return mapShared(v, walk, depth);
    if (v instanceof NdArray) return { $ndarray: { dtype: v.dtype, shape: [...v.shape], data: v.data.toString('base64') } };
    if (v instanceof Uint8Array && !(v instanceof Uint8ClampedArray)) return { $bytes: toBytes(v).toString('base64') };
    if (v instanceof ArrayBuffer) return { $bytes: Buffer.from(v).toString('base64') };
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return walk(NdArray.from(v as Float64Array), depth);
    if (!isPlain(v)) {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return walk((toJSON as () => unknown).call(v), depth);
    }
    return mapShared(v as Record<string, unknown>, walk, depth);
  };
  return guarded(() => walk(value, 0));
}

/**
 * `walk` applied one level down an array or plain object; the container is copied only when some child changed,
 * so plain parts of a value are shared, not copied (both directions of the codec walk this way).
 */
function mapShared(v: unknown[] | Record<string, unknown>, walk: (child: unknown, depth: number) => unknown, depth: number): unknown {
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const w = walk(item, depth + 1);
      if (w !== item) (out ??= v.slice())[i] = w;
    }
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(v)) {
    const item = v[k];
    const w = walk(item, depth + 1);
    if (w !== item) (out ??= { ...v })[k] = w;
  }
  return out ?? v;
}

// A stack overflow on a value shallower than the limit (a small stack) is still a typed error.
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw tooDeep();
    throw err;
  }
}

function badTag(why: string): InputError {
  return new InputError('INPUT_INVALID', `Bad tagged value: ${why}.`, {
    hint: 'Bytes are {"$bytes": "<base64>"}; arrays are {"$ndarray": {"dtype": "float64", "shape": [n], "data": "<base64>"}}. An object whose only key is $bytes or $ndarray is reserved for these.',
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bytesOf(text: unknown, where: string): Buffer {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) throw badTag(`${where} is not base64 text`);
  return Buffer.from(text, 'base64');
}

/** Door JSON back to a value: {"$bytes"} -> Buffer, {"$ndarray"} -> NdArray; everything else as is. */
export function fromWire(value: unknown): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (depth > MAX_WIRE_DEPTH) throw tooDeep();
    if (Array.isArray(v)) return mapShared(v, walk, depth);
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === '$bytes') return bytesOf(obj['$bytes'], '$bytes');
    if (keys.length === 1 && keys[0] === '$ndarray') {
      const spec = obj['$ndarray'];
      if (typeof spec !== 'object' || spec === null) throw badTag('$ndarray is not an object');
      const { dtype, shape, data } = spec as Record<string, unknown>;
      if (!isDtype(dtype)) throw badTag(`dtype ${JSON.stringify(dtype) ?? 'undefined'} is not a numpy dtype the protocol carries`);
      if (!Array.isArray(shape) || shape.length > 64 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw badTag(`shape ${JSON.stringify(shape) ?? 'undefined'} is not a list of sizes`);
      return new NdArray(dtype, shape as number[], bytesOf(data, '$ndarray.data'));
    }
    return mapShared(obj, walk, depth);
  };
  return guarded(() => walk(value, 0));
}
