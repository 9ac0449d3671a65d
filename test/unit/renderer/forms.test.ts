// The window's forms without a browser: the input field generated from a method's type and how it
// reads typed or pasted text, the metadata form's field checks, copy-as-code, and a drop's checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UPLOAD_LIMITS } from '../../../main/contract/index.js';
import { checkDropped, DropError } from '../../../renderer/src/lib/drop-check.js';
import { callAsCode, pyLiteral } from '../../../renderer/src/lib/copy-code.js';
import { checkAll, checkField, creatorList, nameFromLabel } from '../../../renderer/src/lib/metadata-form.js';
import { FieldError, fieldFor, parseField } from '../../../renderer/src/lib/input-form.js';
import { createCodec } from '../../../main/contract/index.js';
import { ndarrayToNested, plainValue } from '../../../renderer/src/client/values.js';

describe('input form', () => {
  const iris = fieldFor({ type: 'ndarray', shape: [null, 4], item_type: { type: 'float' } });

  it('a 2-D numeric array is a table with the width of its shape', () => {
    expect(iris).toMatchObject({ kind: 'table', columns: 4 });
    expect(fieldFor({ type: 'list', item_type: { type: 'float' } }).kind).toBe('list');
    expect(fieldFor({ type: 'integer' }).kind).toBe('integer');
    expect(fieldFor({ type: 'file' }).kind).toBe('file');
    expect(fieldFor({ type: 'dict' }).kind).toBe('json');
    expect(fieldFor(undefined).kind).toBe('json');
  });

  it('reads rows pasted from a spreadsheet (tabs), commas, spaces, or JSON', () => {
    expect(parseField(iris, '5.1\t3.5\t1.4\t0.2\n6.7\t3.0\t5.2\t2.3\n')).toEqual([[5.1, 3.5, 1.4, 0.2], [6.7, 3, 5.2, 2.3]]);
    expect(parseField(iris, '5.1, 3.5, 1.4, 0.2')).toEqual([[5.1, 3.5, 1.4, 0.2]]);
    expect(parseField(iris, '[[1,2,3,4]]')).toEqual([[1, 2, 3, 4]]);
    expect(parseField(fieldFor({ type: 'list' }), '1 2 3')).toEqual([1, 2, 3]);
    expect(parseField(fieldFor({ type: 'boolean' }), 'Yes')).toBe(true);
  });

  it('says which row is wrong and why', () => {
    expect(() => parseField(iris, '1\t2\t3\t4\n1\t2\t3')).toThrow('Row 2 has 3 values; each row needs 4.');
    expect(() => parseField(iris, '1\t2\tx\t4')).toThrow('"x" is not a number (row 1).');
    expect(() => parseField(fieldFor({ type: 'integer' }), '2.5')).toThrow('2.5 is not a whole number.');
    expect(() => parseField(iris, '')).toThrow('Enter a value.');
    expect(() => parseField(fieldFor({ type: 'dict' }), '{oops')).toThrow(/Not valid JSON/);
  });

  it('any text either reads or fails with a FieldError (never another exception)', () => {
    const specs = [iris, fieldFor({ type: 'list' }), fieldFor({ type: 'float' }), fieldFor({ type: 'integer' }), fieldFor({ type: 'boolean' }), fieldFor({ type: 'dict' })];
    fc.assert(
      fc.property(fc.constantFrom(...specs), fc.string({ maxLength: 200 }), (spec, text) => {
        try {
          parseField(spec, text);
        } catch (err) {
          expect(err).toBeInstanceOf(FieldError);
        }
      }),
    );
  });
});

describe('metadata form', () => {
  it('checks each field as the schema does', () => {
    expect(checkField('name', 'Iris Classifier')).toMatch(/lowercase/);
    expect(checkField('name', '.hidden')).toMatch(/not starting with a dot/);
    expect(checkField('name', 'iris-classifier')).toBeUndefined();
    expect(checkField('creators', '  \n ')).toMatch(/at least one creator/);
    expect(checkField('version', '1 0')).toMatch(/no spaces/);
    expect(checkAll({ name: '', title: '', creators: '', description: '', domains: '', version: '1', license: '' })).toEqual({
      name: expect.any(String), title: expect.any(String), creators: expect.any(String),
    });
    expect(creatorList('Doe, Jane\n\n Roe, Richard ')).toEqual(['Doe, Jane', 'Roe, Richard']);
    expect(nameFromLabel('My Iris Model!')).toBe('my-iris-model');
  });
});

describe('copy as code', () => {
  const call = { name: 'iris', method: 'predict', input: [[5.1, 3.5, 1.4, 0.2]], baseUrl: 'http://127.0.0.1:8765' };
  it('writes the same call for the CLI, the TypeScript SDK, curl and Python', () => {
    expect(callAsCode('CLI', call)).toBe(`dlhub run 'iris' --method 'predict' --input '[[5.1,3.5,1.4,0.2]]'`);
    expect(callAsCode('TypeScript', call)).toContain(`client.run("iris", [[5.1,3.5,1.4,0.2]], { method: "predict" })`);
    expect(callAsCode('curl', call)).toContain(`'http://127.0.0.1:8765/v1/servables/iris/run'`);
    expect(callAsCode('Python', call)).toContain('json={"method": "predict", "input": [[5.1, 3.5, 1.4, 0.2]]}');
    expect(pyLiteral({ a: true, b: null, c: [false] })).toBe('{"a": True, "b": None, "c": [False]}');
  });
  it("quotes a shell argument holding a quote", () => {
    expect(callAsCode('CLI', { ...call, method: 'run', input: "it's" })).toBe(`dlhub run 'iris' --input '"it'\\''s"'`);
  });
});

describe('a drop, checked before anything is sent', () => {
  const file = (path: string, size = 1) => ({ path, file: new Blob([new Uint8Array(size)]) });
  it('refuses no files, names with "..", absolute or drive names, and more than the limits', () => {
    expect(() => checkDropped({ label: 'x', files: [] })).toThrow(DropError);
    expect(() => checkDropped({ label: 'x', files: [file('a/../b')] })).toThrow('is not a plain relative name');
    expect(() => checkDropped({ label: 'x', files: [file('/etc/passwd')] })).toThrow('is not a plain relative name');
    expect(() => checkDropped({ label: 'x', files: [file('C:evil')] })).toThrow('is not a plain relative name');
    expect(() => checkDropped({ label: 'x', files: [file('big', UPLOAD_LIMITS.bytes + 1)] })).toThrow('a drop takes at most 32.0 MiB');
    expect(() => checkDropped({ label: 'x', files: Array.from({ length: UPLOAD_LIMITS.files + 1 }, (_, i) => file(`f${i}`, 0)) })).toThrow(`a drop takes at most ${UPLOAD_LIMITS.files}`);
    expect(() => checkDropped({ label: 'x', files: [file('model.pkl'), file('src/app.py')] })).not.toThrow();
  });
});

describe('values shown', () => {
  it('reads ndarrays (as the contract\'s codec gives them) back into rows of numbers', () => {
    const data = new Uint8Array(new Float64Array([1, 2, 3, 4, 5, 6]).buffer);
    expect(ndarrayToNested({ dtype: 'float64', shape: [2, 3], data })).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(ndarrayToNested({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) })).toEqual([true, false]);
    const { fromWire } = createCodec();
    expect(plainValue(fromWire({ x: { $ndarray: { dtype: 'int32', shape: [2], data: 'AQAAAAIAAAA=' } } }))).toEqual({ x: [1, 2] });
  });
});
