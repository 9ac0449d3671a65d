// Values JSON cannot carry as they are, end to end on the host runtime (the real runner, Debian's Python
// with numpy): a model's NaN, Infinity and huge integers, its dicts shaped like a reserved reference,
// 0-d arrays, and NaN on its way into a method that takes a list. What the engine answers is then
// passed through the door codec as JSON text, as every JSON door sends it, and printed as the CLI prints it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromWire, toWire } from '../../main/api/codec.js';
import { Dlhub } from '../../main/api/dlhub.js';
import { makeOutput, renderValue } from '../../main/cli/output.js';
import { DlhubError, ModelError } from '../../main/errors.js';
import { NdArray } from '../../main/runtime/protocol/values.js';
import { tempDir } from '../helpers/home.js';

const APP = `
import math

def specials(x):
    return {"nan": float("nan"), "inf": math.inf, "ninf": -math.inf, "big": float("1e400"), "fine": [0.5, 2]}

def huge(x):
    return {"n": 10 ** 400}

def reserved(x):
    return {"rows": [{"$bytes": "looks like a reference"}]}

def echo(x):
    return x

def describe_floats(x):
    return [("nan" if math.isnan(v) else repr(v)) if isinstance(v, float) else type(v).__name__ for v in x]

def is_nan(x):
    return isinstance(x, float) and math.isnan(x)
`;

function method(fn: string, input = 'python object', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { input: { type: input, ...extra }, output: { type: 'python object' }, method_details: { module: 'app', method_name: fn } };
}

function writeServable(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: 'Runner values' }], creators: [{ creatorName: 'Test' }] },
    dlhub: { name: 'runner-values', files: { other: ['app.py'] }, dependencies: { python: { numpy: '' } } },
    servable: {
      type: 'Python static method',
      shim: 'python.PythonStaticMethodServable',
      methods: {
        specials: method('specials'),
        huge: method('huge'),
        reserved: method('reserved'),
        echo: method('echo'),
        floats: method('describe_floats', 'list', { item_type: { type: 'float' } }),
        is_nan: method('is_nan', 'float'),
      },
    },
  }));
  return dir;
}

/** A float64 ndarray, as a client builds one (a Float64Array and a shape). */
function float64(shape: number[], values: number[]): NdArray {
  return new NdArray('float64', shape, Buffer.from(new Float64Array(values).buffer));
}

/** A value as a JSON door carries it: codec out, JSON text, codec back in. */
function throughDoor(value: unknown): unknown {
  return fromWire(JSON.parse(JSON.stringify(toWire(value))));
}

function scalar(value: unknown): number {
  expect(value).toBeInstanceOf(NdArray);
  const arr = value as NdArray;
  expect(arr.dtype).toBe('float64');
  expect(arr.shape).toEqual([]);
  return arr.flat()[0] as number;
}

async function errorOf(promise: Promise<unknown>): Promise<DlhubError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(DlhubError);
    return err as DlhubError;
  }
  throw new Error('the call succeeded');
}

describe('values JSON cannot carry, through the runner on the host runtime', () => {
  const work = tempDir('dlhub-runner-values-');
  let dlhub: Dlhub;
  const run = (method: string, input: unknown = null) => dlhub.runServable({ name: 'runner-values', method, input, noCache: true, runtime: 'host' });

  beforeAll(async () => {
    dlhub = new Dlhub({ home: join(work.path, 'home') });
    await dlhub.buildServable({ dir: writeServable(join(work.path, 'servable')), runtime: 'host' });
  });

  afterAll(async () => {
    await dlhub?.close();
    work.remove();
  });

  it('answers a model\'s NaN and Infinity as 0-d float64 ndarrays holding them, never null, at every JSON door', async () => {
    const { output } = await run('specials');
    for (const value of [output, throughDoor(output)]) {
      const o = value as Record<string, unknown>;
      expect(Number.isNaN(scalar(o['nan']))).toBe(true);
      expect(scalar(o['inf'])).toBe(Infinity);
      expect(scalar(o['ninf'])).toBe(-Infinity);
      expect(scalar(o['big'])).toBe(Infinity);
      expect(o['fine']).toEqual([0.5, 2]);
    }
    expect(JSON.stringify(toWire(output))).not.toContain('null');
  });

  it('prints a model\'s NaN and Infinity on the CLI as NaN and Infinity, never null, with --json and without', async () => {
    const { output } = await run('specials');
    let printed = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((printed += chunk.toString()), done()) });
    makeOutput(true, sink).result(output, () => '');
    expect(JSON.parse(printed)).toEqual({ nan: 'NaN', inf: 'Infinity', ninf: '-Infinity', big: 'Infinity', fine: [0.5, 2] });
    expect(renderValue(output)).toBe('{"nan":"NaN","inf":"Infinity","ninf":"-Infinity","big":"Infinity","fine":[0.5,2]}');
  });

  it('fails an integer beyond float64 as the model\'s error, saying where and why', async () => {
    const err = await errorOf(run('huge'));
    expect(err).toBeInstanceOf(ModelError);
    expect(err.code).toBe('MODEL_ERROR');
    expect(err.message).toContain('output.n');
    expect(err.message).toContain('beyond the range of a float64');
  });

  it('refuses a model\'s dict shaped like {"$bytes": …} as the model\'s error, not the caller\'s input', async () => {
    const err = await errorOf(run('reserved'));
    expect(err.code).toBe('MODEL_ERROR');
    expect(err.message).toContain('output.rows[0]');
    expect(err.message).toContain('only key is "$bytes"');
    // The worker is fine: the next call answers.
    expect((await run('echo', 'still here')).output).toBe('still here');
  });

  it('round-trips a 0-d ndarray with shape [] through the runner and the door codec', async () => {
    const zero = float64([], [2.5]);
    const sent = throughDoor({ v: zero }) as { v: NdArray };
    expect(sent.v.shape).toEqual([]);
    const { output } = await run('echo', sent);
    const back = throughDoor(output) as { v: NdArray };
    expect(back.v).toBeInstanceOf(NdArray);
    expect(back.v.shape).toEqual([]);
    expect(back.v.toJSON()).toBe(2.5);
  });

  it('gives NaN and Infinity to a method that takes a list of floats, sent as a float64 ndarray', async () => {
    const input = throughDoor(float64([4], [1.5, NaN, Infinity, -Infinity]));
    const { output } = await run('floats', input);
    expect(output).toEqual(['1.5', 'nan', 'inf', '-inf']);
    // One NaN among plain numbers: a 0-d float64 ndarray as an item of the list.
    const nan = throughDoor(float64([], [NaN]));
    expect((await run('floats', [1, nan, 2.5])).output).toEqual(['int', 'nan', '2.5']);
    // A method that takes one float gets a 0-d array as a Python float.
    expect((await run('is_nan', nan)).output).toBe(true);
  });
});
