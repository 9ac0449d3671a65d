import { describe, expect, it } from 'vitest';
import { InputError } from '../../../main/errors.js';
import { encodeFrame } from '../../../main/runtime/protocol/frame.js';
import { decodeStoredResult, decodeValue, encodeResultFrame, encodeValue, extractValue, NdArray } from '../../../main/runtime/protocol/values.js';
import { expectValidMessage } from './protocol-schema.js';

function roundTrip(value: unknown): unknown {
  const { json, buffers } = encodeValue(value);
  expectValidMessage(json, 'value');
  // Through a real frame, so buffer offsets inside a larger chunk are exercised too.
  const frame = encodeFrame({ id: 1, ok: true, result: json }, buffers);
  return decodeStoredResult(frame);
}

describe('runner values', () => {
  it('sends plain JSON as JSON with no buffers', () => {
    const value = { a: [1, 'two', null, true], b: { c: 3.5 } };
    expect(encodeValue(value)).toEqual({ json: value, buffers: [] });
    expect(roundTrip(value)).toEqual(value);
  });

  it.each([
    ['float64', new Float64Array([1.5, -2, 3e300, 0])],
    ['float32', new Float32Array([1.5, -2, 0.25])],
    ['int32', new Int32Array([1, -2, 2147483647])],
    ['uint16', new Uint16Array([0, 65535])],
    ['int8', new Int8Array([-128, 127])],
    ['int64', new BigInt64Array([-5n, 9007199254740991n])],
  ] as const)('round-trips a %s typed array as a 1-D $ndarray', (dtype, typed) => {
    const { json, buffers } = encodeValue(typed);
    expect(json).toEqual({ $ndarray: { dtype, shape: [typed.length], buffer: 0 } });
    expect(buffers[0]?.length).toBe(typed.byteLength);
    const back = roundTrip(typed) as NdArray;
    expect(back).toBeInstanceOf(NdArray);
    expect(back.dtype).toBe(dtype);
    expect(back.toJSON()).toEqual(Array.from(typed as ArrayLike<number | bigint>, Number));
  });

  it('keeps the shape of a 2-D array and shows it as nested lists', () => {
    const arr = NdArray.from(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4]);
    const back = roundTrip({ x: arr }) as { x: NdArray };
    expect(back.x.shape).toEqual([2, 4]);
    expect(JSON.parse(JSON.stringify(back))).toEqual({ x: [[1, 2, 3, 4], [5, 6, 7, 8]] });
  });

  it('decodes float16 and bool arrays sent by numpy', () => {
    const half = Buffer.from([0x00, 0x3c, 0x00, 0xc0]); // 1.0, -2.0
    expect(new NdArray('float16', [2], half).toJSON()).toEqual([1, -2]);
    expect(new NdArray('bool', [3], Buffer.from([1, 0, 1])).toJSON()).toEqual([true, false, true]);
  });

  it('sends Buffers as $bytes, nested anywhere', () => {
    const value = { image: Buffer.from([0, 255, 10]), list: [Buffer.from('hi'), 1] };
    const { json, buffers } = encodeValue(value);
    expect(json).toEqual({ image: { $bytes: { buffer: 0 } }, list: [{ $bytes: { buffer: 1 } }, 1] });
    expect(buffers).toHaveLength(2);
    const back = roundTrip(value) as typeof value;
    expect(back.image.equals(value.image)).toBe(true);
    expect(back.list[0]).toEqual(Buffer.from('hi'));
  });

  it('refuses objects that would be mistaken for binary references', () => {
    expect(() => encodeValue({ a: { $bytes: { buffer: 0 } } })).toThrow(InputError);
    expect(() => encodeValue({ a: { $bytes: { buffer: 0 } } })).toThrow(/input\.a/);
    expect(encodeValue({ $bytes: 1, other: 2 }).json).toEqual({ $bytes: 1, other: 2 });
  });

  it('refuses a reference to a buffer that is not there, or of the wrong size', () => {
    expect(() => decodeValue({ $bytes: { buffer: 3 } }, [Buffer.alloc(1)])).toThrow(/buffer 3 is not one of the 1 buffers/);
    expect(() => decodeValue({ $ndarray: { dtype: 'float64', shape: [2], buffer: 0 } }, [Buffer.alloc(8)])).toThrow(/needs 16 bytes/);
    expect(() => decodeValue({ $ndarray: { dtype: 'complex128', shape: [1], buffer: 0 } }, [Buffer.alloc(16)])).toThrow(/dtype "complex128"/);
  });

  it('extracts one item of a batch with its own buffers renumbered', () => {
    const { json, buffers } = encodeValue([Buffer.from('a'), { y: Buffer.from('b') }]);
    const second = extractValue((json as unknown[])[1], buffers);
    expect(second.json).toEqual({ y: { $bytes: { buffer: 0 } } });
    expect(decodeStoredResult(encodeResultFrame(second.json, second.buffers))).toEqual({ y: Buffer.from('b') });
  });
});

describe('runner values: hostile inputs', () => {
  function nested(depth: number): unknown {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  }

  it.each([1500, 2000, 100_000])('refuses an input nested %i levels deep with an InputError naming the limit', (depth) => {
    let err: unknown;
    try {
      encodeValue(nested(depth));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('INPUT_INVALID');
    expect((err as InputError).message).toContain('nested more than 100 levels');
    expect((err as InputError).details).toMatchObject({ limit: 100 });
    expect(encodeValue(nested(100)).json).toEqual(nested(100));
    expect(() => encodeValue(nested(10), { maxDepth: 5 })).toThrow(/more than 5 levels/);
  });

  it('refuses 1e999, NaN and -Infinity instead of sending null', () => {
    const parsed = JSON.parse('{"x": [1, 1e999]}') as unknown;
    expect(() => encodeValue(parsed)).toThrow(InputError);
    expect(() => encodeValue(parsed)).toThrow(/input\.x\[1\] is Infinity/);
    expect(() => encodeValue(Number.NaN)).toThrow(/is NaN/);
    expect(() => encodeValue({ y: -Infinity })).toThrow(/input\.y is -Infinity/);
    // In a float64 array they travel exactly.
    const back = roundTrip(new Float64Array([Infinity, Number.NaN])) as NdArray;
    expect(back.flat()).toEqual([Infinity, Number.NaN]);
  });

  it('keeps a "__proto__" key as data, both ways', () => {
    const value = JSON.parse('{"__proto__": {"polluted": 1}, "b": [2]}') as Record<string, unknown>;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__', 'b']);
    expect(JSON.stringify(back)).toBe(JSON.stringify(value));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses an $ndarray reference that is not an object with a typed error', () => {
    expect(() => decodeValue({ $ndarray: null }, [Buffer.alloc(1)])).toThrow(InputError);
  });
});
