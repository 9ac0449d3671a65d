// The value codec of every JSON door (local service, HTTP API, SDK, the window): it makes a value cross
// a door unchanged. Bytes and ndarrays become the tagged JSON objects of the contract ({"$bytes"},
// {"$ndarray"}) and come back as Uint8Array and NdArray. Browser-safe: base64 is done here in plain
// code unless a faster one is given (the Node helper in main/api/codec.ts gives Buffer's).
import { InputError, LimitError } from '../errors.js';
import { NdArray, isDtype, type Typed } from './ndarray.js';

/** Deepest nesting a door walks; deeper values get a typed error instead of a stack overflow. */
export const MAX_WIRE_DEPTH = 1000;

/** How the codec turns bytes into base64 text and back (Node passes Buffer's, which is faster). */
export interface Base64 {
  encode(bytes: Uint8Array): string;
  /** Called only with text the codec checked is base64 (RFC 4648 alphabet, padded). */
  decode(text: string): Uint8Array;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INDEX = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charCodeAt(i)] = i;

/** Base64 in plain code: what a browser (or any engine without Buffer) uses. */
export const portableBase64: Base64 = {
  encode(bytes) {
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
      out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63) + ALPHABET.charAt(n & 63);
    }
    const rest = bytes.length - i;
    if (rest === 1) {
      const n = (bytes[i] as number) << 16;
      out += `${ALPHABET.charAt(n >> 18)}${ALPHABET.charAt((n >> 12) & 63)}==`;
    } else if (rest === 2) {
      const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
      out += `${ALPHABET.charAt(n >> 18)}${ALPHABET.charAt((n >> 12) & 63)}${ALPHABET.charAt((n >> 6) & 63)}=`;
    }
    return out;
  },
  decode(text) {
    const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    const out = new Uint8Array((text.length / 4) * 3 - pad);
    let o = 0;
    for (let i = 0; i < text.length; i += 4) {
      const n = ((INDEX[text.charCodeAt(i)] as number) << 18) | ((INDEX[text.charCodeAt(i + 1)] as number) << 12) | ((INDEX[text.charCodeAt(i + 2)] as number) << 6) | (INDEX[text.charCodeAt(i + 3)] as number);
      if (o < out.length) out[o++] = n >> 16;
      if (o < out.length) out[o++] = (n >> 8) & 255;
      if (o < out.length) out[o++] = n & 255;
    }
    return out;
  },
};

/** The two directions of the codec. */
export interface Codec {
  /**
   * A value as door JSON: Uint8Array -> {"$bytes": base64}; NdArray and other typed arrays ->
   * {"$ndarray": {dtype, shape, data: base64}}. Plain parts are shared, not copied.
   */
  toWire: (value: unknown) => unknown;
  /** Door JSON back to a value: {"$bytes"} -> bytes, {"$ndarray"} -> NdArray; everything else as is. */
  fromWire: (value: unknown) => unknown;
}

function tooDeep(): LimitError {
  return new LimitError('LIMIT_EXCEEDED', `A value is nested more than ${MAX_WIRE_DEPTH} levels deep.`, { hint: 'Flatten the value; nesting this deep is almost always a mistake.' });
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
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

/** The codec over a base64 implementation (plain code by default). */
export function createCodec(base64: Base64 = portableBase64): Codec {
  const bytesOf = (text: unknown, where: string): Uint8Array => {
    if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) throw badTag(`${where} is not base64 text`);
    return base64.decode(text);
  };
  const toWire = (value: unknown): unknown => {
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v !== 'object' || v === null) return v;
      if (depth > MAX_WIRE_DEPTH) throw tooDeep();
      if (Array.isArray(v)) return mapShared(v, walk, depth);
      if (v instanceof NdArray) return { $ndarray: { dtype: v.dtype, shape: [...v.shape], data: base64.encode(v.data) } };
      if (v instanceof Uint8Array && !(v instanceof Uint8ClampedArray)) return { $bytes: base64.encode(v) };
      if (v instanceof ArrayBuffer) return { $bytes: base64.encode(new Uint8Array(v)) };
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return walk(NdArray.from(v as Typed), depth);
      if (!isPlain(v)) {
        const toJSON = (v as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') return walk((toJSON as () => unknown).call(v), depth);
      }
      return mapShared(v as Record<string, unknown>, walk, depth);
    };
    return guarded(() => walk(value, 0));
  };
  const fromWire = (value: unknown): unknown => {
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
  };
  return { toWire, fromWire };
}
