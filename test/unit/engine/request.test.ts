// The rules every way into the engine shares: which method a call means, and which inputs it carries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, LimitError } from '../../../main/errors.js';
import { callInputs, chooseMethod } from '../../../main/engine/request.js';

describe('chooseMethod', () => {
  it('takes the method named, else run, else the first declared', () => {
    expect(chooseMethod(['predict', 'run'], 'predict')).toBe('predict');
    expect(chooseMethod(['predict', 'run'], undefined)).toBe('run');
    expect(chooseMethod(['predict', 'score'], undefined)).toBe('predict');
    expect(chooseMethod([], undefined)).toBeUndefined();
  });
});

describe('callInputs', () => {
  it('makes one input a list of one, and keeps a batch as it is', () => {
    expect(callInputs({ input: { a: 1 } }, 10)).toEqual({ batch: false, inputs: [{ a: 1 }] });
    expect(callInputs({ input: undefined }, 10)).toEqual({ batch: false, inputs: [undefined] });
    expect(callInputs({ inputs: [1, 2] }, 10)).toEqual({ batch: true, inputs: [1, 2] });
  });

  it('refuses an empty batch, and one over the limit naming DLHUB_MAX_BATCH_ITEMS', () => {
    expect(() => callInputs({ inputs: [] }, 10)).toThrow(InputError);
    const err = (() => {
      try {
        callInputs({ inputs: [1, 2, 3] }, 2);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { setting: 'DLHUB_MAX_BATCH_ITEMS', items: 3, max: 2 } });
  });

  it('accepts a batch exactly when it has 1..max items (fuzzed)', () => {
    fc.assert(fc.property(fc.nat(50), fc.integer({ min: 1, max: 50 }), (n, max) => {
      const inputs = Array.from({ length: n }, (_, i) => i);
      let accepted = true;
      try {
        callInputs({ inputs }, max);
      } catch {
        accepted = false;
      }
      return accepted === (n >= 1 && n <= max);
    }));
  });
});
