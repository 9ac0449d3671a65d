// The door codec: any value made of JSON, Buffers and ndarrays survives JSON.stringify/parse unchanged,
// and bad tagged values get a typed error, never a crash.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromWire, toWire, MAX_WIRE_DEPTH } from '../../../main/api/codec.js';
import { DlhubError, InputError, LimitError } from '../../../main/errors.js';
import { NdArray } from '../../../main/runtime/protocol/values.js';

const asBuffered = (n: NdArray): NdArray => new NdArray(n.dtype, n.shape, Buffer.from(n.data));
const through = (v: unknown): unknown => fromWire(JSON.parse(JSON.stringify(toWire(v))));

const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  // The Node codec gives an ndarray's bytes as a Buffer, as the runner protocol does.
  fc.float64Array({ maxLength: 12, noNaN: true }).map((a) => asBuffered(NdArray.from(a))),
  fc.int32Array({ maxLength: 12 }).map((a) => asBuffered(NdArray.from(a))),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 })),
})).v;

describe('door codec', () => {
  it('round-trips nested JSON, Buffers and ndarrays through JSON text', () => {
    fc.assert(
      fc.property(value, (v) => {
        // A one-key object named $bytes/$ndarray is reserved; the runner protocol refuses those too.
        fc.pre(!JSON.stringify(toWire(v)).match(/\{"\$(bytes|ndarray)":(?!"|\{"dtype")/));
        expect(through(v)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('writes bytes and ndarrays in the documented tagged form, never {type: "Buffer"}', () => {
    expect(toWire({ b: Buffer.from([0, 255]) })).toEqual({ b: { $bytes: 'AP8=' } });
    expect(toWire(NdArray.from(new Float32Array([1, 2]), [1, 2]))).toEqual({ $ndarray: { dtype: 'float32', shape: [1, 2], data: Buffer.from(new Float32Array([1, 2]).buffer).toString('base64') } });
    expect(toWire(new Int16Array([1, -1]))).toMatchObject({ $ndarray: { dtype: 'int16', shape: [2] } });
    const plain = { a: [1, { b: 'c' }] };
    expect(toWire(plain)).toBe(plain);
  });

  it('refuses malformed tags and deep nesting with typed errors', () => {
    expect(() => fromWire({ $bytes: 12 })).toThrow(InputError);
    expect(() => fromWire({ $ndarray: { dtype: 'complex', shape: [1], data: '' } })).toThrow(InputError);
    expect(() => fromWire({ $ndarray: { dtype: 'uint8', shape: [3], data: 'AAE=' } })).toThrow(InputError);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_WIRE_DEPTH + 10; i++) deep = [deep];
    expect(() => fromWire(deep)).toThrow(LimitError);
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        try {
          fromWire({ $ndarray: j });
          fromWire({ $bytes: j });
        } catch (err) {
          expect(err).toBeInstanceOf(DlhubError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
