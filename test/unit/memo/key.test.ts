import { describe, expect, it } from 'vitest';
import { memoKey } from '../../../main/memo/key.js';
import { InputError } from '../../../main/errors.js';

const key = (json: unknown, buffers: Buffer[] = [], digest = 'sha256:aaa', method = 'run') => memoKey({ digest, method, input: { json, buffers } });

describe('memoKey', () => {
  it('is a 32-byte sha256', () => {
    expect(key({ a: 1 })).toHaveLength(32);
  });

  it('ignores key order, at every depth', () => {
    expect(key({ a: 1, b: 2 }).equals(key({ b: 2, a: 1 }))).toBe(true);
    expect(key(JSON.parse('{"x":{"p":[1,{"z":0,"y":1}],"q":true},"w":null}')).equals(key(JSON.parse('{"w":null,"x":{"q":true,"p":[1,{"y":1,"z":0}]}}')))).toBe(true);
  });

  it('ignores how a number was spelled', () => {
    expect(key(JSON.parse('{"v":1.0}')).equals(key(JSON.parse('{"v":1}')))).toBe(true);
    expect(key(JSON.parse('[1e2, 0.50]')).equals(key([100, 0.5]))).toBe(true);
  });

  it('changes with the digest, the method, the values and array order', () => {
    const base = key({ a: [1, 2] });
    expect(base.equals(key({ a: [1, 2] }, [], 'sha256:bbb'))).toBe(false);
    expect(base.equals(key({ a: [1, 2] }, [], 'sha256:aaa', 'predict'))).toBe(false);
    expect(base.equals(key({ a: [2, 1] }))).toBe(false);
    expect(base.equals(key({ a: [1, 2.5] }))).toBe(false);
    expect(key('1').equals(key(1))).toBe(false);
  });

  it('covers the raw buffers, their order and their boundaries', () => {
    const json = { arr: { $buffer: 0 } };
    const a = key(json, [Buffer.from([1, 2, 3])]);
    expect(a.equals(key(json, [Buffer.from([1, 2, 3])]))).toBe(true);
    expect(a.equals(key(json, [Buffer.from([1, 2, 4])]))).toBe(false);
    expect(a.equals(key(json))).toBe(false);
    // Same concatenated bytes, different split: a different input.
    expect(key(json, [Buffer.from([1]), Buffer.from([2, 3])]).equals(key(json, [Buffer.from([1, 2]), Buffer.from([3])]))).toBe(false);
  });

  it('does not let digest and method bytes run into each other', () => {
    expect(key(1, [], 'ab', 'c').equals(key(1, [], 'a', 'bc'))).toBe(false);
  });

  it('refuses NaN with an input error that says how to fix it', () => {
    let caught: unknown;
    try {
      key({ v: Number.NaN });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).code).toBe('INPUT_INVALID');
    expect((caught as InputError).hint).toMatch(/NaN/);
  });

  it('keeps the bytes of earlier versions, so a memo.db they filled still answers', () => {
    // Written by the first release of memo key v1; a change here silently turns every stored answer into a miss.
    expect(key({ b: [1, 2.5], a: 'x' }, [Buffer.from([1, 2, 3])], 'sha256:abc').toString('hex')).toBe('dbce70174d9c07edfcce2a44c0c03579f1e71237978c8238249e2d5ab0ec498b');
  });
});
