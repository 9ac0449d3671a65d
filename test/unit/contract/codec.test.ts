// The contract's value codec as a browser runs it (plain-code base64, Uint8Array): the same wire
// text as the Node door's, and every value back unchanged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCodec, portableBase64 } from '../../../main/contract/codec.js';
import { NdArray } from '../../../main/contract/ndarray.js';
import { toWire as nodeToWire } from '../../../main/api/codec.js';
import { InputError } from '../../../main/errors.js';

const browser = createCodec();

const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.float64Array({ maxLength: 12, noNaN: true }).map((a) => NdArray.from(a)),
  fc.int16Array({ maxLength: 12 }).map((a) => NdArray.from(a)),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string().filter((k) => k !== '__proto__' && !k.startsWith('$')), tie('v'), { maxKeys: 4 })),
})).v;

describe('contract codec', () => {
  it('writes base64 exactly as Buffer does, and reads it back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = portableBase64.encode(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(portableBase64.decode(text)).toEqual(new Uint8Array(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the Node door\'s wire text, and round-trips bytes and ndarrays as Uint8Array and NdArray', () => {
    fc.assert(
      fc.property(value, (v) => {
        const wire = browser.toWire(v);
        expect(JSON.stringify(wire)).toBe(JSON.stringify(nodeToWire(v)));
        expect(browser.fromWire(JSON.parse(JSON.stringify(wire)))).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses text that is not base64 with a typed error', () => {
    for (const bad of ['abc', 'ab$=', '====a===', 12]) expect(() => browser.fromWire({ $bytes: bad })).toThrow(InputError);
    expect(() => browser.fromWire({ $ndarray: { dtype: 'float64', shape: [2], data: 'AAAAAAAA8D8=' } })).toThrow(InputError);
  });
});
