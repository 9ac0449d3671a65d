// n-dimensional arrays as every door and the runner protocol carry them: a numpy dtype, a shape and
// the raw little-endian bytes in C order. Plain Uint8Array (no Buffer) so a browser can hold one.
import { InputError } from '../errors.js';

/** numpy dtype names the protocol carries as raw buffers. */
export const DTYPES = ['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float16', 'float32', 'float64'] as const;
/** One of DTYPES. */
export type Dtype = (typeof DTYPES)[number];

/** Typed arrays an NdArray can be made from. */
export type Typed = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

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
    readonly data: Uint8Array,
  ) {
    const expected = shape.reduce((n, d) => n * d, 1) * ITEM_SIZE[dtype];
    if (data.length !== expected) {
      throw new InputError('INPUT_INVALID', `An ndarray of shape [${shape.join(', ')}] and dtype ${dtype} needs ${expected} bytes, but ${data.length} were given.`, {
        hint: 'Make the shape match the number of elements in the data.',
      });
    }
  }

  /** Wrap a typed array (its bytes copied); `shape` defaults to one dimension. */
  static from(typed: Typed, shape: readonly number[] = [typed.length]): NdArray {
    return new NdArray(dtypeOf(typed), shape, new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice());
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
