// The formation-enthalpy pipeline on real workers, on both runtimes: the same answer as calling its
// three servables one after the other, memo hits per step, a bad composition failing in the parse
// step as a ModelError that names the step, and a batch that goes through each step.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { DLHubClient } from '../../main/api/sdk.js';
import type { PipelineOutcome } from '../../main/engine/pipeline.js';
import { LimitError, MetadataError, ModelError, errorFromJSON, type ErrorJSON } from '../../main/errors.js';
import { NdArray } from '../../main/runtime/protocol/values.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { requireDocker, testBaseImage } from '../helpers/docker.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'formation-enthalpy');
// The training data's range (eV/atom): a forest cannot predict outside it.
const LOWEST = -4.24;
const HIGHEST = -0.12;

/** The example's model, trained by its train.py (setup.sh does this once) when it is not there yet. */
function ensureModel(): void {
  if (!existsSync(join(EXAMPLE, 'predict', 'model.pkl'))) {
    execFileSync('/usr/bin/python3', [join(EXAMPLE, 'predict', 'train.py')], { stdio: 'ignore' });
  }
}

for (const runtime of ['docker', 'host'] as const) {
  describe(`formation-enthalpy pipeline on the ${runtime} runtime`, () => {
    const work = tempDir(`dlhub-pipeline-${runtime}-`);
    let api: Dlhub;
    const build = async (dir: string): Promise<void> => {
      await api.buildServable({ dir, runtime: runtime === 'host' ? 'host' : undefined });
    };

    /** What a caller gets by calling the three servables one after the other. */
    async function byHand(formula: string): Promise<number> {
      const fractions = await api.runServable({ name: 'fe-parse', input: formula, runtime });
      const features = await api.runServable({ name: 'fe-features', input: fractions.output, runtime });
      const predicted = await api.runServable({ name: 'fe-predict', method: 'predict', input: [features.output], runtime });
      const out = predicted.output;
      return (out instanceof NdArray ? out.flat()[0] : (out as number[])[0]) as number;
    }

    beforeAll(async () => {
      await requireDocker();
      ensureModel();
      api = new Dlhub({ home: join(work.dir, 'home'), baseImage: testBaseImage(), settings: { idleMs: 60_000 } });
      for (const step of ['parse', 'features', 'predict']) await build(join(EXAMPLE, step));
      await build(EXAMPLE);
    });
    afterAll(async () => {
      await api?.close();
      work.cleanup();
    });

    it('answers as the three servables called one after the other, every step on this runtime', async () => {
      for (const formula of ['Fe2O3', 'NaCl', 'Ca(OH)2']) {
        const expected = await byHand(formula);
        const got = (await api.runServable({ name: 'formation-enthalpy', input: formula, runtime, noCache: true })) as PipelineOutcome;
        expect(got.output).toBe(expected);
        expect(got.output).toBeGreaterThanOrEqual(LOWEST);
        expect(got.output).toBeLessThanOrEqual(HIGHEST);
        expect(got.steps.map((s) => [s.servable, s.method, s.runtime])).toEqual([
          ['fe-parse', 'run', runtime], ['fe-features', 'run', runtime], ['fe-predict', 'predict', runtime],
        ]);
      }
    });

    it('`dlhub run` prints the answer and how each step went', async () => {
      await api.runServable({ name: 'formation-enthalpy', input: 'KCl', runtime });
      const r = await runCli(['run', 'formation-enthalpy', '--input', '"KCl"', '--runtime', runtime], { DLHUB_HOME: join(work.dir, 'home'), DLHUB_NO_SERVICE: '1' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(String(await byHand('KCl')));
      expect(r.stdout).toMatch(/step 0 fe-parse\.run: memo cache hit/);
      expect(r.stdout).toMatch(/step 2 fe-predict\.predict: memo cache hit/);
    });

    it('answers a repeated composition from the memo cache, step by step', async () => {
      const first = (await api.runServable({ name: 'formation-enthalpy', input: 'Al2O3', runtime })) as PipelineOutcome;
      expect(first.cached).toBe(false);
      expect(first.steps.map((s) => s.cached)).toEqual([false, false, false]);
      const again = (await api.runServable({ name: 'formation-enthalpy', input: 'Al2O3', runtime })) as PipelineOutcome;
      expect(again.output).toBe(first.output);
      expect(again.cached).toBe(true);
      expect(again.steps.map((s) => s.cached)).toEqual([true, true, true]);
      // Another formula with the same fractions (Al0.4O0.6) misses in parse only: features and predict are hits.
      const same = (await api.runServable({ name: 'formation-enthalpy', input: 'Al0.4O0.6', runtime })) as PipelineOutcome;
      expect(same.output).toBe(first.output);
      expect(same.steps.map((s) => s.cached)).toEqual([false, true, true]);
    });

    it('fails a bad composition in the parse step as a ModelError naming the step, also across a door', async () => {
      const err = await api.runServable({ name: 'formation-enthalpy', input: 'Xx2', runtime }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      const model = err as ModelError;
      expect(model.pythonType).toBe('ValueError');
      expect(model.message).toContain("'Xx' at position 0 is not an element");
      expect(model.message).toContain('pipeline "formation-enthalpy" steps[0] (servable "fe-parse"');
      expect(model.details).toMatchObject({ pipeline: 'formation-enthalpy', step: 0, stepServable: 'fe-parse' });
      const far = errorFromJSON(JSON.parse(JSON.stringify(model)) as ErrorJSON);
      expect(far).toBeInstanceOf(ModelError);
      expect(far.message).toBe(model.message);
    });

    it('runs a batch through each step; a bad item fails alone, naming its step', async () => {
      const formulas = ['NaCl', 'Xx2', 'SiO2', 'U3O8'];
      const got = (await api.runServable({ name: 'formation-enthalpy', inputs: formulas, runtime, noCache: true })) as PipelineOutcome;
      const outputs = got.output as (number | null)[];
      expect(outputs[0]).toBe(await byHand('NaCl'));
      expect(outputs[2]).toBe(await byHand('SiO2'));
      expect(outputs[1]).toBeNull();
      expect(outputs[3]).toBeNull();
      expect(got.errors?.[0]).toBeNull();
      expect(got.errors?.[1]).toMatchObject({ code: 'MODEL_ERROR', details: { step: 0, stepServable: 'fe-parse' } });
      // Uranium parses but has no features in the example's table: it fails one step later.
      expect(got.errors?.[3]).toMatchObject({ code: 'MODEL_ERROR', details: { step: 1, stepServable: 'fe-features', type: 'KeyError' } });
      expect(got.steps).toHaveLength(3);
    });

    it('runs as an asynchronous task through the SDK: the result, or the step\'s ModelError re-raised', async () => {
      const client = DLHubClient.inProcess(api);
      const id = await client.submit('formation-enthalpy', 'MgO', { runtime });
      expect(await client.getResult(id, { waitMs: 60_000 })).toBe(await byHand('MgO'));
      // The stored answer keeps the pipeline's account of its steps and the model time, as a direct run has them.
      const stored = await api.getResult({ id });
      expect(stored.steps?.map((st) => st.servable)).toEqual(['fe-parse', 'fe-features', 'fe-predict']);
      // The model time is kept (not dropped on the way through state.db), and is part of the call's time.
      expect(stored.inferenceMs).toBeTypeOf('number');
      expect(stored.inferenceMs).toBeLessThanOrEqual(stored.elapsedMs);
      const bad = await client.submit('formation-enthalpy', 'Mg(O', { runtime });
      const err = await client.getResult(bad, { waitMs: 60_000 }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).message).toContain('steps[0] (servable "fe-parse")');
    });

    it('parses any string to fractions summing to 1 or refuses it with a ValueError (fuzzed, one batch)', async () => {
      const unit = fc.constantFrom('Fe', 'O', 'Na', 'Cl', 'Si', 'H', 'x', 'X', '(', ')', '2', '3', '0', '.', ' ', '5');
      const formulas = fc.sample(fc.string({ unit, maxLength: 10 }), { numRuns: 200, seed: 7 });
      const got = await api.runServable({ name: 'fe-parse', inputs: formulas, runtime, noCache: true });
      const outputs = got.output as (Record<string, number> | null)[];
      formulas.forEach((formula, i) => {
        const error = got.errors?.[i];
        if (error) {
          expect(error, formula).toMatchObject({ code: 'MODEL_ERROR', details: { type: 'ValueError' } });
          expect(error.message, formula).toMatch(/composition/);
        } else {
          const total = Object.values(outputs[i] ?? {}).reduce((a, b) => a + b, 0);
          expect(total, formula).toBeCloseTo(1, 9);
        }
      });
      // Both kinds occur, so the check above tested something on each side.
      expect(got.errors?.some((e) => e !== null)).toBe(true);
      expect(outputs.some((o) => o !== null)).toBe(true);
    });
  });
}

describe('building pipelines', () => {
  const work = tempDir('dlhub-pipeline-build-');
  let api: Dlhub;

  function pipelineFolder(name: string, steps: unknown[]): string {
    const dir = join(work.dir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
      datacite: { titles: [{ title: name }], creators: [{ creatorName: 'Doe, Jane' }] },
      dlhub: { name, version: '1.0.0', type: 'pipeline' },
      servable: { type: 'pipeline', steps },
    }));
    return dir;
  }

  beforeAll(async () => {
    api = new Dlhub({ home: join(work.dir, 'home') });
    const parse = join(work.dir, 'parse');
    cpSync(join(EXAMPLE, 'parse'), parse, { recursive: true });
    await api.buildServable({ dir: parse, runtime: 'host' });
  });
  afterAll(async () => {
    await api?.close();
    work.cleanup();
  });

  it('builds without an image, lists and describes it, and removes it', async () => {
    const built = await api.buildServable({ dir: pipelineFolder('just-parse', [{ servable: 'fe-parse' }]) });
    expect(built.image).toBeUndefined();
    expect(built.imageSkipped).toMatch(/pipeline/);
    const listed = (await api.listServables()).find((s) => s.name === 'just-parse');
    expect(listed?.type).toBe('pipeline');
    // No methods in its dlhub.json: `run` is recorded, typed like the first step's input.
    const described = await api.describeServable({ name: 'just-parse' });
    expect(Object.keys(described.methods)).toEqual(['run']);
    expect(described.methods['run']?.input).toEqual(JSON.parse(readFileSync(join(EXAMPLE, 'parse', 'dlhub.json'), 'utf8')).servable.methods.run.input);
    const out = await api.runServable({ name: 'just-parse', input: 'NaCl', runtime: 'host' });
    expect(out.output).toEqual({ Cl: 0.5, Na: 0.5 });
    await api.removeServable({ name: 'just-parse' });
    expect((await api.listServables()).map((s) => s.name)).toEqual(['fe-parse']);
  });

  it('shares the call\'s time limit among the steps: three 0.4 s steps overrun 1 s, as the pipeline\'s TIMEOUT', async () => {
    const nap = join(work.dir, 'nap');
    mkdirSync(nap, { recursive: true });
    writeFileSync(join(nap, 'app.py'), 'import time\n\ndef nap(x):\n    time.sleep(0.4)\n    return x\n');
    writeFileSync(join(nap, 'dlhub.json'), JSON.stringify({
      datacite: { titles: [{ title: 'nap' }], creators: [{ creatorName: 'Doe, Jane' }] },
      dlhub: { name: 'nap', version: '1.0.0', files: { other: ['app.py'] } },
      servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { input: { type: 'python object' }, method_details: { module: 'app', method_name: 'nap' } } } },
    }));
    await api.buildServable({ dir: nap, runtime: 'host' });
    await api.buildServable({ dir: pipelineFolder('naps', [{ servable: 'nap' }, { servable: 'nap' }, { servable: 'nap' }]) });
    await api.runServable({ name: 'nap', input: 0, runtime: 'host', noCache: true }); // the worker is warm: only the naps count
    expect((await api.runServable({ name: 'naps', input: 1, runtime: 'host', noCache: true, timeoutMs: 10_000 })).output).toBe(1);
    const err = await api.runServable({ name: 'naps', input: 2, runtime: 'host', noCache: true, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).code).toBe('TIMEOUT');
    expect((err as LimitError).message).toMatch(/^In pipeline "naps" steps\[[12]\] \(servable "nap"\): The call to "naps" did not finish within its time limit of 1 s/);
  });

  it('refuses a missing step and a pipeline that includes itself, naming the field', async () => {
    const missing = await api.buildServable({ dir: pipelineFolder('broken', [{ servable: 'fe-parse' }, { servable: 'fe-featurs' }]) }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MetadataError);
    expect((missing as MetadataError).problems.map((p) => p.field)).toEqual(['servable.steps[1].servable']);
    await api.buildServable({ dir: pipelineFolder('inner', [{ servable: 'fe-parse' }]) });
    await api.buildServable({ dir: pipelineFolder('outer', [{ servable: 'inner' }]) });
    const loop = await api.buildServable({ dir: pipelineFolder('inner', [{ servable: 'outer' }]) }).catch((e: unknown) => e);
    expect(loop).toBeInstanceOf(MetadataError);
    expect((loop as MetadataError).message).toContain('inner -> outer -> inner');
    // The refused rebuild kept the working pipeline.
    expect((await api.runServable({ name: 'outer', input: 'NaCl', runtime: 'host' })).output).toEqual({ Cl: 0.5, Na: 0.5 });
  });
});
