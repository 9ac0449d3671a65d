// Values as the window shows them: the door's tagged forms ({"$bytes"}, {"$ndarray"}) read back
// into bytes and numbers. Browser-safe (no Buffer).

/** An n-dimensional array as it arrives: dtype, shape and little-endian C-order bytes. */
export interface NdArrayLike {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** base64 to bytes, in the browser and in Node alike. */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** bytes to base64. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) bin += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(bin);
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

/** Door JSON for a value: bytes as {"$bytes": base64}; the rest as itself. */
export function toWire(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: toBase64(v) };
  if (Array.isArray(v)) return v.map(toWire);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

/** A value from door JSON: {"$bytes"} to Uint8Array, {"$ndarray"} to an NdArrayLike. */
export function fromWire(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromWire);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o['$bytes'] === 'string') return fromBase64(o['$bytes']);
  if (keys.length === 1 && typeof o['$ndarray'] === 'object' && o['$ndarray'] !== null) {
    const n = o['$ndarray'] as { dtype: string; shape: number[]; data: string };
    return { dtype: n.dtype, shape: n.shape, data: fromBase64(n.data) } satisfies NdArrayLike;
  }
  return Object.fromEntries(keys.map((k) => [k, fromWire(o[k])]));
}
