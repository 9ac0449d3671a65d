// Pipeline pieces without workers: the value mappings between steps, the step error that keeps its
// class across a door, the build-time checks (missing step, wrong method, cycles) on real files in a
// temp DLHUB_HOME, and the metadata schema's pipeline shape. Real runs are in test/integration/pipeline.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyMapping, checkPipeline, isPipeline, preparePipeline, runPipeline, stepError } from '../../../main/engine/pipeline.js';
import type { RunOutcome, RunRequest } from '../../../main/contract/index.js';
import { InputError, LimitError, MetadataError, ModelError, NotFoundError, TaskError, WorkerError, errorFromJSON, type DlhubError } from '../../../main/errors.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { getLocal, writePrepared } from '../../../main/servable/registry.js';
import { loadMetadataFile, validateMetadata } from '../../../main/servable/validate.js';
import { NdArray } from '../../../main/runtime/protocol/values.js';
import { ensureHome, homePaths, type HomePaths } from '../../../main/storage/home.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'examples', 'formation-enthalpy');

function pipelineDoc(name: string, steps: unknown[]): ServableMetadata {
  return validateMetadata({
    datacite: { titles: [{ title: name }], creators: [{ creatorName: 'Doe, Jane' }] },
    dlhub: { name, version: '1.0.0', type: 'pipeline' },
    servable: { type: 'pipeline', steps },
  });
}

/** A plain servable as the registry sees it after a host build: prepared.json and its dlhub.json. */
function fakeBuilt(paths: HomePaths, name: string, methods: string[]): void {
  const dir = join(paths.servables, name, 'context', 'servable');
  mkdirSync(dir, { recursive: true });
  const methodDocs = Object.fromEntries(methods.map((m) => [m, { input: { type: 'python object' }, method_details: { module: 'app', method_name: m } }]));
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: name }], creators: [{ creatorName: 'Doe, Jane' }] },
    dlhub: { name, version: '1.0.0' },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: methodDocs },
  }));
  writePrepared(paths, { name, version: '1.0.0', contentKey: `key-${name}`, tag: '', sourceDir: '/nowhere', preparedAt: new Date().toISOString() });
}

function problemsOf(fn: () => unknown): { field: string; rule: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MetadataError);
    return [...(err as MetadataError).problems];
  }
  throw new Error('expected a MetadataError');
}

describe('value mappings between steps', () => {
  it('passes the whole value when no mapping is given', () => {
    const v = { a: [1, 2] };
    expect(applyMapping(v, undefined, 'x')).toBe(v);
    expect(applyMapping(v, {}, 'x')).toBe(v);
  });

  it('picks keys and indices (negative from the end), then wraps', () => {
    const v = { result: [{ y: 1 }, { y: 2 }, { y: 3 }] };
    expect(applyMapping(v, { pick: 'result' }, 'x')).toEqual(v.result);
    expect(applyMapping(v, { pick: ['result', -1, 'y'] }, 'x')).toBe(3);
    expect(applyMapping(v, { pick: ['result', 0], wrap: 'list' }, 'x')).toEqual([{ y: 1 }]);
    expect(applyMapping(5, { wrap: 'object', key: 'features' }, 'x')).toEqual({ features: 5 });
  });

  it('reads an ndarray as nested lists when picking', () => {
    const arr = NdArray.from(new Float64Array([1.5, 2.5, 3.5, 4.5]), [2, 2]);
    expect(applyMapping(arr, { pick: [1, 0] }, 'x')).toBe(3.5);
  });

  it('names the step field and what the value was when a pick does not fit', () => {
    expect(() => applyMapping([1, 2], { pick: 5 }, 'servable.steps[2].input')).toThrow(/servable\.steps\[2\]\.input\.pick takes index 5, but the list has 2 items/);
    expect(() => applyMapping({ a: 1, b: 2 }, { pick: 'c' }, 'servable.steps[1].input')).toThrow(/takes key "c", but the value is an object with keys a, b/);
    expect(() => applyMapping('Fe', { pick: ['a', 0] }, 's')).toThrow(InputError);
    expect(() => applyMapping({ a: 'Fe' }, { pick: ['a', 0] }, 's')).toThrow(/s\.pick\[1\] takes index 0, but the value is a string/);
  });

  it('a path of picks equals picking one part after another (fuzzed)', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 3 })),
    })).node;
    const part = fc.oneof(key, fc.integer({ min: -3, max: 3 }));
    fc.assert(fc.property(tree, fc.array(part, { minLength: 1, maxLength: 4 }), (value, path) => {
      let stepwise: unknown;
      let stepwiseError: unknown;
      try {
        stepwise = path.reduce((v, p) => applyMapping(v, { pick: p }, 's'), value);
      } catch (err) {
        stepwiseError = err;
      }
      if (stepwiseError) {
        expect(stepwiseError).toBeInstanceOf(InputError);
        expect(() => applyMapping(value, { pick: path }, 's')).toThrow(InputError);
      } else {
        expect(applyMapping(value, { pick: path }, 's')).toEqual(stepwise);
      }
    }), { numRuns: 300 });
  });
});

describe('a failed step', () => {
  const step = { servable: 'fe-parse' };

  it('keeps ModelError with its Python type and traceback, and names the pipeline, step and servable', () => {
    const err = stepError(new ModelError('ValueError', "cannot parse composition 'Xx2'", 'Traceback ...'), 'formation-enthalpy', 0, step, 'run');
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).pythonType).toBe('ValueError');
    expect((err as ModelError).traceback).toBe('Traceback ...');
    expect(err.message).toBe(`ValueError: cannot parse composition 'Xx2' (in pipeline "formation-enthalpy" steps[0] (servable "fe-parse", method "run"))`);
    expect(err.details).toMatchObject({ pipeline: 'formation-enthalpy', step: 0, stepServable: 'fe-parse', type: 'ValueError' });
  });

  it('stays the same class, step included, after crossing a door as JSON', () => {
    const cases: DlhubError[] = [
      new ModelError('KeyError', 'no element properties for U', 'tb'),
      new WorkerError('RUNNER_DIED', 'The worker died.', { hint: 'h' }),
      new NotFoundError('SERVABLE_NOT_FOUND', 'No servable named "fe-features" on this machine.', { hint: 'h' }),
      new LimitError('TIMEOUT', 'took too long', { hint: 'h' }),
      new TaskError('CANCELLED', 'cancelled', { hint: 'h' }),
    ];
    for (const original of cases) {
      const wrapped = stepError(original, 'p', 1, { servable: 'fe-features' });
      const far = errorFromJSON(JSON.parse(JSON.stringify(wrapped)) as Parameters<typeof errorFromJSON>[0]);
      expect(far).toBeInstanceOf(original.constructor);
      expect(far.code).toBe(original.code);
      expect(far.message).toContain('pipeline "p" steps[1] (servable "fe-features")');
      expect(far.message).toContain(original.message);
    }
  });

  it('a thrown non-DLHub error becomes INTERNAL and still names the step', () => {
    const err = stepError(new TypeError('boom'), 'p', 2, { servable: 's', method: 'm' });
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/^In pipeline "p" steps\[2\] \(servable "s", method "m"\): Internal error: boom/);
  });
});

describe('pipeline metadata', () => {
  it('the formation-enthalpy example and its three steps are valid dlhub.json documents', () => {
    const pipe = loadMetadataFile(join(EXAMPLE, 'dlhub.json'));
    expect(isPipeline(pipe)).toBe(true);
    expect(pipe.servable.steps?.map((s) => s.servable)).toEqual(['fe-parse', 'fe-features', 'fe-predict']);
    for (const d of ['parse', 'features', 'predict']) expect(isPipeline(loadMetadataFile(join(EXAMPLE, d, 'dlhub.json')))).toBe(false);
  });

  it('a pipeline needs steps (and no shim); another servable still needs shim and methods', () => {
    const doc = JSON.parse(readFileSync(join(EXAMPLE, 'dlhub.json'), 'utf8')) as ServableMetadata;
    delete doc.servable.steps;
    expect(problemsOf(() => validateMetadata(doc)).map((p) => p.field)).toEqual(['servable.steps']);
    doc.servable.type = 'Python static method';
    expect(problemsOf(() => validateMetadata(doc)).map((p) => p.field).sort()).toEqual(['servable.shim']);
    // No type at all is not taken for a pipeline.
    const untyped = { ...doc, servable: { methods: {} } };
    expect(problemsOf(() => validateMetadata(untyped)).map((p) => p.field).sort()).toEqual(['servable.methods', 'servable.shim', 'servable.type']);
  });

  it('refuses a malformed step: no servable, unknown field, wrap "object" without key, a pick that is an object', () => {
    const fields = (steps: unknown[]): string[] => problemsOf(() => pipelineDoc('p', steps)).map((p) => p.field);
    expect(fields([{ method: 'run' }])).toEqual(['servable.steps[0].servable']);
    expect(fields([{ servable: 'a', inptu: {} }])).toEqual(['servable.steps[0].inptu']);
    expect(fields([{ servable: 'a', input: { wrap: 'object' } }])).toEqual(['servable.steps[0].input.key']);
    expect(fields([{ servable: 'a', output: { pick: { a: 1 } } }])).toContain('servable.steps[0].output.pick');
    expect(fields([])).toEqual(['servable.steps']);
  });
});

describe('building a pipeline', () => {
  let root: string;
  let paths: HomePaths;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dlhub-pipeline-unit-'));
    paths = ensureHome(homePaths(root));
    fakeBuilt(paths, 'parse', ['run']);
    fakeBuilt(paths, 'predict', ['predict', 'predict_proba']);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('records the steps where run, describe and rm find servables; no image', async () => {
    const doc = pipelineDoc('chain', [{ servable: 'parse' }, { servable: 'predict', method: 'predict_proba' }]);
    const { contentKey: key } = await preparePipeline(paths, '/src/chain', doc);
    const found = getLocal(paths, 'chain');
    expect(found.contentKey).toBe(key);
    expect(found.image).toBeUndefined();
    expect(found.metadata.servable.steps).toEqual(doc.servable.steps);
    // No methods declared: `run` is recorded, taking what the first step takes (the last step's output is undeclared here).
    expect(found.metadata.servable.methods).toEqual({ run: { description: 'Pipeline: parse -> predict', input: { type: 'python object' } } });
    // Rebuilding with other steps replaces the record and changes the key.
    const { contentKey: key2 } = await preparePipeline(paths, '/src/chain', pipelineDoc('chain', [{ servable: 'parse' }]));
    expect(key2).not.toBe(key);
    expect(getLocal(paths, 'chain').metadata.servable.steps).toHaveLength(1);
  });

  it('refuses steps that are not built, and methods the step does not have, naming each field', () => {
    const problems = problemsOf(() => checkPipeline(paths, pipelineDoc('chain', [{ servable: 'parse' }, { servable: 'featurs' }, { servable: 'predict', method: 'predict_log' }])));
    expect(problems.map((p) => [p.field, p.rule])).toEqual([['servable.steps[1].servable', 'exists'], ['servable.steps[2].method', 'exists']]);
    expect(problems[0]?.message).toContain('"featurs"');
    expect(problems[1]?.message).toContain('"predict_log"');
    expect(() => getLocal(paths, 'chain')).toThrow(NotFoundError);
  });

  it('refuses a pipeline that includes itself, directly or through another pipeline', async () => {
    expect(problemsOf(() => checkPipeline(paths, pipelineDoc('loop', [{ servable: 'parse' }, { servable: 'loop' }])))
      .map((p) => [p.field, p.rule])).toEqual([['servable.steps[1].servable', 'acyclic']]);

    // a -> b is fine; rebuilding b to call a would close the loop a -> b -> a.
    await preparePipeline(paths, '/src/b', pipelineDoc('b', [{ servable: 'parse' }]));
    await preparePipeline(paths, '/src/a', pipelineDoc('a', [{ servable: 'b' }]));
    const problems = problemsOf(() => checkPipeline(paths, pipelineDoc('b', [{ servable: 'parse' }, { servable: 'a' }])));
    expect(problems.map((p) => [p.field, p.rule])).toEqual([['servable.steps[1].servable', 'acyclic']]);
    expect(problems[0]?.message).toContain('b -> a -> b');
    // The refused build left the old b in place.
    expect(getLocal(paths, 'b').metadata.servable.steps).toEqual([{ servable: 'parse' }]);
  });
  it('runs a batch through each step; an item that fails leaves the batch at its step with its error', async () => {
    await preparePipeline(paths, '/src/chain', pipelineDoc('chain', [{ servable: 'parse' }, { servable: 'predict', method: 'predict', input: { wrap: 'list' }, output: { pick: 0 } }]));
    const calls: RunRequest[] = [];
    // A stand-in for the engine's run: steps echo their input, and the parse step refuses "bad".
    const run = async (r: RunRequest): Promise<RunOutcome> => {
      calls.push(r);
      const inputs = r.inputs ?? [];
      const errors = inputs.map((v) => (v === 'bad' ? new ModelError('ValueError', 'bad input', 'tb').toJSON() as never : null));
      return { servable: r.name, method: r.method ?? 'run', runtime: 'host', output: inputs.map((v, i) => (errors[i] ? null : v)), cached: inputs.map(() => false), elapsedMs: 1, ...(errors.some(Boolean) ? { errors } : {}) };
    };
    const out = (await runPipeline(run, getLocal(paths, 'chain'), { name: 'chain', inputs: ['a', 'bad', 'c'] }));
    expect(out.output).toEqual(['a', null, 'c']);
    expect(out.errors?.map((e) => e?.code ?? null)).toEqual([null, 'MODEL_ERROR', null]);
    expect(out.errors?.[1]?.message).toContain('pipeline "chain" steps[0] (servable "parse", method "run")');
    // The failed item is not sent on; the next step gets the survivors, wrapped as its input mapping says.
    expect(calls.map((c) => [c.name, c.inputs])).toEqual([['parse', ['a', 'bad', 'c']], ['predict', [['a'], ['c']]]]);
    expect(out.steps.map((s) => s.cached)).toEqual([[false, false, false], [false, false, false]]);
  });

  it('gives each step what is left of the call\'s time limit, and starts no step once it is spent', async () => {
    await preparePipeline(paths, '/src/p3', pipelineDoc('p3', [{ servable: 'parse' }, { servable: 'parse' }, { servable: 'parse' }]));
    const given: (number | undefined)[] = [];
    const run = async (r: RunRequest, timeoutMs: number | undefined): Promise<RunOutcome> => {
      given.push(timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, 600));
      return { servable: r.name, method: 'run', runtime: 'host', output: r.input, cached: false, elapsedMs: 600 };
    };
    const err = await runPipeline(run, getLocal(paths, 'p3'), { name: 'p3', input: 1 }, { timeoutMs: 1000, fromSetting: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).message).toMatch(/^In pipeline "p3" steps\[2\] \(servable "parse"\): The call to "p3" did not finish within its time limit of 1 s/);
    expect(given).toHaveLength(2);
    // Margins wide enough for a loaded machine: the second step gets less than half the limit.
    expect(given[0]).toBeLessThanOrEqual(1000);
    expect(given[1]).toBeLessThan(500);
    // No limit: every step runs, with none.
    given.length = 0;
    await runPipeline(run, getLocal(paths, 'p3'), { name: 'p3', input: 1 }, { timeoutMs: undefined, fromSetting: true });
    expect(given).toEqual([undefined, undefined, undefined]);
  });

  it('stops a cycle made by editing files by hand at the first repeat', async () => {
    await preparePipeline(paths, '/src/b', pipelineDoc('b', [{ servable: 'parse' }]));
    await preparePipeline(paths, '/src/a', pipelineDoc('a', [{ servable: 'b' }]));
    // Bypass the build check: b now calls a.
    const file = join(paths.servables, 'b', 'context', 'servable', 'dlhub.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as ServableMetadata;
    doc.servable.steps = [{ servable: 'a' }];
    writeFileSync(file, JSON.stringify(doc));
    let calls = 0;
    const run = async (r: RunRequest): Promise<RunOutcome> => {
      calls += 1;
      const s = getLocal(paths, r.name);
      if (isPipeline(s.metadata)) return runPipeline(run, s, r);
      return { servable: r.name, method: 'run', runtime: 'host', output: r.input, cached: false, elapsedMs: 0 };
    };
    const err = await runPipeline(run, getLocal(paths, 'a'), { name: 'a', input: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetadataError);
    expect((err as Error).message).toContain('a -> b -> a');
    expect(calls).toBe(2);
  });
});
