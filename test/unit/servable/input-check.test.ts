import { describe, expect, it } from 'vitest';
import { InputError } from '../../../main/errors.js';
import { checkInput, checkInputSize } from '../../../main/servable/input-check.js';
import type { ArgumentType } from '../../../main/servable/metadata.js';
import { NdArray } from '../../../main/runtime/protocol/values.js';

function errorOf(fn: () => void): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

const rows: ArgumentType = { type: 'ndarray', shape: [null, 4], item_type: { type: 'float' } };

describe('checkInput: ndarray', () => {
  it('accepts rows of the right width, any number of rows', () => {
    expect(() => checkInput([[5.1, 3.5, 1.4, 0.2]], rows)).not.toThrow();
    expect(() => checkInput([[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 0, 0]], rows)).not.toThrow();
    expect(() => checkInput([], rows)).not.toThrow();
  });

  it('names the row that is too short', () => {
    const err = errorOf(() => checkInput([[1, 2, 3, 4], [1, 2, 3]], rows));
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toBe('input[1] has 3 items, but the method expects shape [null, 4] (4 items in each row)');
  });

  it('says when a flat list is given for a 2-d array', () => {
    expect(errorOf(() => checkInput([1, 2, 3, 4], rows)).message)
      .toBe('input[0] is a number (1), but the method expects shape [null, 4] (a list of 4 items here)');
  });

  it('says when nesting is too deep', () => {
    expect(errorOf(() => checkInput([[[1], 2, 3, 4]], rows)).message)
      .toBe('input[0][0] is a list of 1 item, but the method expects shape [null, 4] (2 levels of lists, no deeper)');
  });

  it('rejects a string among numbers', () => {
    expect(errorOf(() => checkInput([[1, 2, 'x', 4]], rows)).message)
      .toBe('input[0][2] is a string, but an array of shape [null, 4] holds numbers');
  });

  it('checks fixed first dimensions and 1-d shapes', () => {
    expect(errorOf(() => checkInput([1, 2], { type: 'ndarray', shape: [3] })).message)
      .toBe('input has 2 items, but the method expects shape [3] (3 items)');
    expect(() => checkInput([1, 2, 3], { type: 'ndarray', shape: [null] })).not.toThrow();
  });

  it('checks only the shape of a binary array', () => {
    expect(() => checkInput({ dtype: 'float64', shape: [10, 4], data: new Uint8Array(320) }, rows)).not.toThrow();
    expect(errorOf(() => checkInput({ $ndarray: { dtype: 'float64', shape: [10, 3], data: 'AAAA' } }, rows)).message)
      .toBe('input has shape [10, 3], but the method expects shape [null, 4]');
  });
});

describe('checkInput: other types', () => {
  it('list with item_type names the bad item', () => {
    const t: ArgumentType = { type: 'list', item_type: { type: 'number' } };
    expect(() => checkInput([1, 2.5, 3], t)).not.toThrow();
    expect(errorOf(() => checkInput([1, '2'], t, 'inputs[3]')).message).toBe('inputs[3][1] is a string, but the method expects a number');
    expect(errorOf(() => checkInput('1,2', t)).message).toBe('input is a string, but the method expects a list');
  });

  it('dict requires its declared keys', () => {
    const t: ArgumentType = { type: 'dict', properties: { smiles: { type: 'string' }, count: { type: 'integer' } } };
    expect(() => checkInput({ smiles: 'CCO', count: 2, extra: true }, t)).not.toThrow();
    expect(errorOf(() => checkInput({ smiles: 'CCO' }, t)).message).toBe('input is missing the key "count" (the method expects keys: smiles, count)');
    expect(errorOf(() => checkInput({ smiles: 'CCO', count: 2.5 }, t)).message).toBe('input.count is a number (2.5), but the method expects an integer');
  });

  it('tuple checks length and each element', () => {
    const t: ArgumentType = { type: 'tuple', element_types: [{ type: 'number' }, { type: 'string' }] };
    expect(() => checkInput([1, 'a'], t)).not.toThrow();
    expect(errorOf(() => checkInput([1], t)).message).toBe('input has 1 item, but the method expects a tuple of 2 (number, string)');
    expect(errorOf(() => checkInput([1, 2], t)).message).toBe('input[1] is a number (2), but the method expects a string');
  });

  it('scalars', () => {
    expect(errorOf(() => checkInput(3, { type: 'string' })).message).toBe('input is a number (3), but the method expects a string');
    expect(errorOf(() => checkInput('3', { type: 'number' })).message).toBe('input is a string, but the method expects a number');
    expect(errorOf(() => checkInput(1, { type: 'boolean' })).message).toBe('input is a number (1), but the method expects true or false');
    expect(() => checkInput(7, { type: 'integer' })).not.toThrow();
  });

  it('python objects and unknown types pass', () => {
    expect(() => checkInput({ anything: [1, 'x'] }, { type: 'python object' })).not.toThrow();
    expect(() => checkInput(null, { type: 'file' })).not.toThrow();
  });
});

describe('checkInputSize', () => {
  it('passes at the limit and names size, limit and setting above it', () => {
    expect(() => checkInputSize(5 * 1024 * 1024, 5 * 1024 * 1024)).not.toThrow();
    const err = errorOf(() => checkInputSize(6_500_000, 5 * 1024 * 1024));
    expect(err.code).toBe('INPUT_TOO_LARGE');
    expect(err.message).toBe('The input is 6.2 MB (6500000 bytes), more than the limit of 5.0 MB (5242880 bytes).');
    expect(err.hint).toContain('DLHUB_MAX_INPUT_BYTES');
  });
});

describe('checkInput with ndarrays for methods that take lists or numbers', () => {
  const nd = (shape: number[]) => new NdArray('float64', shape, Buffer.alloc(8 * shape.reduce((a, b) => a * b, 1)));

  it('lets a float64 ndarray stand for a list, a tuple of its length, or (0-d) a number: how NaN and Infinity are sent', () => {
    expect(() => checkInput(nd([3]), { type: 'list', item_type: { type: 'float' } })).not.toThrow();
    expect(() => checkInput([1, nd([]), 3], { type: 'list', item_type: { type: 'float' } })).not.toThrow();
    expect(() => checkInput(nd([2]), { type: 'tuple', element_types: [{ type: 'float' }, { type: 'float' }] })).not.toThrow();
    expect(() => checkInput(nd([]), { type: 'float' })).not.toThrow();
    expect(() => checkInput({ $ndarray: { dtype: 'float64', shape: [], data: 'AAAAAAAA+H8=' } }, { type: 'number' })).not.toThrow();
  });

  it('still refuses an ndarray of the wrong rank', () => {
    expect(errorOf(() => checkInput(nd([]), { type: 'list' })).message).toContain('expects a list');
    expect(errorOf(() => checkInput(nd([3]), { type: 'float' })).message).toContain('expects a number');
    expect(errorOf(() => checkInput(nd([3]), { type: 'tuple', element_types: [{ type: 'float' }] })).message).toContain('tuple of 1');
  });
});
