// Values as the window shows them: ndarrays (as the contract's codec gives them back) read into
// rows of numbers, bytes left as bytes. Browser-safe (no Buffer).

/** An n-dimensional array as it arrives: dtype, shape and little-endian C-order bytes. */
export interface NdArrayLike {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** Is `v` an ndarray-shaped value (from the proxy's codec or the wire)? */
export function isNdArray(v: unknown): v is NdArrayLike {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['dtype'] === 'string' && Array.isArray(o['shape']) && o['data'] instanceof Uint8Array;
}

const READERS: Record<string, [number, (view: DataView, at: number) => number | bigint]> = {
  float64: [8, (d, i) => d.getFloat64(i, true)],
  float32: [4, (d, i) => d.getFloat32(i, true)],
  int64: [8, (d, i) => d.getBigInt64(i, true)],
  uint64: [8, (d, i) => d.getBigUint64(i, true)],
  int32: [4, (d, i) => d.getInt32(i, true)],
  uint32: [4, (d, i) => d.getUint32(i, true)],
  int16: [2, (d, i) => d.getInt16(i, true)],
  uint16: [2, (d, i) => d.getUint16(i, true)],
  int8: [1, (d, i) => d.getInt8(i)],
  uint8: [1, (d, i) => d.getUint8(i)],
  bool: [1, (d, i) => d.getUint8(i)],
};

/** An ndarray as nested lists of numbers (booleans for bool), as JSON would hold it. */
export function ndarrayToNested(a: NdArrayLike): unknown {
  const reader = READERS[a.dtype];
  if (!reader) return `(${a.dtype} array, shape ${a.shape.join('×')})`;
  const [size, read] = reader;
  const view = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const flat: unknown[] = [];
  for (let i = 0; i + size <= a.data.byteLength; i += size) {
    const v = read(view, i);
    flat.push(a.dtype === 'bool' ? v !== 0 : typeof v === 'bigint' ? Number(v) : v);
  }
  if (a.shape.length === 0) return flat[0];
  const build = (dim: number, offset: number): [unknown[], number] => {
    const n = a.shape[dim] ?? 0;
    const out: unknown[] = [];
    let at = offset;
    for (let i = 0; i < n; i++) {
      if (dim === a.shape.length - 1) out.push(flat[at++]);
      else {
        const [child, next] = build(dim + 1, at);
        out.push(child);
        at = next;
      }
    }
    return [out, at];
  };
  return build(0, 0)[0];
}

/** A value with every ndarray turned into nested lists and bytes left as Uint8Array: what the result view draws. */
export function plainValue(v: unknown, depth = 0): unknown {
  if (depth > 200 || typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
  if (isNdArray(v)) return ndarrayToNested(v);
  if (Array.isArray(v)) return v.map((x) => plainValue(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x, depth + 1)]));
}
