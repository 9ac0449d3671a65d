import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../main/errors.js';
import { encodeFrame } from '../../../main/runtime/protocol/frame.js';
import { decodeStoredResult, encodeValue, MAX_VALUE_DEPTH, NdArray, type Dtype } from '../../../main/runtime/protocol/values.js';

// Fuzzing the runner value codec: random nested values with binary parts survive a trip
// through a real frame exactly, and the nesting limit holds at every depth.

const DTYPES: [Dtype, number][] = [['bool', 1], ['int8', 1], ['uint8', 1], ['int16', 2], ['uint16', 2], ['int32', 4], ['uint32', 4], ['int64', 8], ['uint64', 8], ['float16', 2], ['float32', 4], ['float64', 8]];

const ndarray = fc
  .tuple(fc.constantFrom(...DTYPES), fc.array(fc.nat({ max: 4 }), { maxLength: 3 }))
  .chain(([[dtype, size], shape]) =>
    fc.uint8Array({ minLength: shape.reduce((n, d) => n * d, 1) * size, maxLength: shape.reduce((n, d) => n * d, 1) * size }).map((data) => new NdArray(dtype, shape, Buffer.from(data))),
  );

const typed = fc.oneof(
  fc.float64Array({ maxLength: 6 }),
  fc.float32Array({ maxLength: 6 }),
  fc.int32Array({ maxLength: 6 }),
  fc.int16Array({ maxLength: 6 }),
  fc.bigInt64Array({ maxLength: 4 }),
);

// -0 is JSON's 0; everything else a finite double is carried exactly.
const number = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', '$ndarray', '$bytes', 'buffers'));

const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
    typed,
    ndarray,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));

/** What a value is on the wire: its JSON text and its buffers' bytes. */
function wire(v: unknown): { json: string; buffers: string[] } {
  const encoded = encodeValue(v);
  return { json: JSON.stringify(encoded.json), buffers: encoded.buffers.map((b) => b.toString('hex')) };
}

function nest(depth: number, kinds: boolean[]): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kinds[i % kinds.length] ? [v] : { a: v };
  return v;
}

describe('value codec fuzzing', () => {
  it('round-trips random nested values with Buffers, typed arrays and ndarrays exactly', () => {
    fc.assert(
      fc.property(value, (v) => {
        let sent: ReturnType<typeof encodeValue>;
        try {
          sent = encodeValue(v);
        } catch (err) {
          // The only refusal: an object whose one key is a reserved binary marker.
          expect(err).toBeInstanceOf(InputError);
          expect((err as InputError).message).toMatch(/reserves for binary data/);
          return;
        }
        const back = decodeStoredResult(encodeFrame({ id: 1, result: sent.json }, sent.buffers));
        // Typed arrays come back as NdArray of the same dtype; compare what goes on the wire.
        expect(wire(back)).toEqual(wire(v));
      }),
      { numRuns: 400, seed: 9 },
    );
  });

  it('keeps ndarray dtype, shape and bytes, Infinity and NaN included', () => {
    fc.assert(
      fc.property(ndarray, (a) => {
        const sent = encodeValue({ a });
        const back = (decodeStoredResult(encodeFrame({ result: sent.json }, sent.buffers)) as { a: NdArray }).a;
        expect(back).toBeInstanceOf(NdArray);
        expect([back.dtype, back.shape, Buffer.from(back.data).toString('hex')]).toEqual([a.dtype, a.shape, Buffer.from(a.data).toString('hex')]);
      }),
      { numRuns: 200, seed: 9 },
    );
  });

  it('accepts nesting up to the limit and refuses anything deeper with an InputError naming it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * MAX_VALUE_DEPTH }), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), (depth, kinds) => {
        const v = nest(depth, kinds);
        if (depth <= MAX_VALUE_DEPTH) {
          expect(JSON.stringify(encodeValue(v).json)).toBe(JSON.stringify(v));
        } else {
          expect(() => encodeValue(v)).toThrow(InputError);
          expect(() => encodeValue(v)).toThrow(`nested more than ${MAX_VALUE_DEPTH} levels`);
        }
      }),
      { numRuns: 200, seed: 9 },
    );
  });
});
