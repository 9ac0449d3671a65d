import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectError, DlhubError } from '../../../main/errors.js';
import { initServable, sanitizeName } from '../../../main/servable/init.js';
import type { InitOptions } from '../../../main/servable/init.js';
import { loadMetadataFile } from '../../../main/servable/validate.js';
import { EXAMPLE_OPTIONS } from './examples-spec.js';

// Debian's Python has numpy and scikit-learn; the pyenv python3 on PATH does not.
const SKLEARN_PYTHON = '/usr/bin/python3';
const root = mkdtempSync(join(tmpdir(), 'dlhub-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
function folder(name: string, files: Record<string, string> = {}): string {
  const dir = join(root, `${count++}`, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

function python(code: string, cwd: string): void {
  execFileSync(SKLEARN_PYTHON, ['-c', code], { cwd, stdio: 'pipe' });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON documents under test
const written = (dir: string): any => JSON.parse(readFileSync(join(dir, 'dlhub.json'), 'utf8'));

async function detectFailure(dir: string, opts: InitOptions = {}): Promise<DlhubError> {
  try {
    await initServable(dir, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(DlhubError);
    return err as DlhubError;
  }
  throw new Error('expected init to fail');
}

describe('initServable on scikit-learn pickles', () => {
  let rf: string;
  let lr: string;
  let jl: string;

  beforeAll(() => {
    rf = folder('Forest Model!', { 'notes.txt': 'trained on iris' });
    python(`import pickle; from sklearn.datasets import load_iris; from sklearn.ensemble import RandomForestClassifier
d = load_iris(); pickle.dump(RandomForestClassifier(n_estimators=5, random_state=0).fit(d.data, d.target_names[d.target]), open('model.pkl', 'wb'))`, rf);
    lr = folder('logreg');
    python(`import pickle; from sklearn.datasets import load_wine; from sklearn.linear_model import LogisticRegression
d = load_wine(); pickle.dump(LogisticRegression(max_iter=5000).fit(d.data, d.target), open('clf.pickle', 'wb'))`, lr);
    jl = folder('ridge');
    python(`import joblib, numpy as np; from sklearn.linear_model import Ridge
x = np.arange(30.0).reshape(10, 3); joblib.dump(Ridge().fit(x, x.sum(axis=1)), 'ridge.joblib')`, jl);
  });

  it('describes a RandomForest as DLHub does: run is predict_proba, with predict and predict_proba beside it', async () => {
    const result = await initServable(rf, { title: 'Iris forest', creators: ['Curie, Marie'] });
    const doc = written(rf);
    expect(result.detected).toMatchObject({ type: 'sklearn', file: 'model.pkl' });
    expect(result.detected.reason).toContain('sklearn.ensemble._forest.RandomForestClassifier');
    expect(doc.servable.shim).toBe('sklearn.ScikitLearnServable');
    expect(doc.servable.type).toBe('Scikit-learn estimator');
    expect(Object.keys(doc.servable.methods)).toEqual(['run', 'predict', 'predict_proba']);
    expect(doc.servable.methods.run.method_details).toEqual({ method_name: 'predict_proba' });
    expect(doc.servable.methods.run.output.shape).toEqual([null, 3]);
    expect(doc.servable.methods.predict.input.shape).toEqual([null, 4]);
    expect(doc.servable.methods.predict.output.shape).toEqual([null]);
    expect(doc.servable.methods.predict_proba.output.shape).toEqual([null, 3]);
    expect(doc.servable.methods.predict_proba.method_details).toEqual({ method_name: 'predict_proba' });
    expect(doc.servable.options).toMatchObject({ serialization_method: 'pickle', model_type: 'RandomForestClassifier', classes: ['setosa', 'versicolor', 'virginica'] });
    expect(doc.dlhub.name).toBe('forest-model');
    expect(doc.dlhub.files).toEqual({ model: 'model.pkl', other: ['notes.txt'] });
    expect(doc.datacite.creators).toEqual([{ creatorName: 'Curie, Marie', familyName: 'Curie', givenName: 'Marie', affiliations: [] }]);
    expect(doc.dlhub.dependencies.python['scikit-learn']).toMatch(/^\d+\.\d+/);
    expect(result.todo).toEqual(['datacite.descriptions: describe what the servable does (--description)']);
    expect(result.metadata).toEqual(doc);
  });

  it('describes a LogisticRegression with 13 features and 3 classes, flagging the provisional title', async () => {
    const result = await initServable(lr);
    const doc = written(lr);
    expect(doc.servable.methods.predict_proba.input.shape).toEqual([null, 13]);
    expect(doc.servable.methods.predict_proba.output.shape).toEqual([null, 3]);
    expect(doc.servable.options.classes).toEqual([0, 1, 2]);
    expect(doc.datacite.titles).toEqual([{ title: 'logreg' }]);
    expect(doc.datacite.creators).toEqual([]);
    expect(result.todo).toContain('datacite.titles: set a title (--title); "logreg" (the folder name) is used for now');
    expect(result.todo).toContain('datacite.creators: add the authors as "Family, Given" (--creator)');
    expect(() => loadMetadataFile(join(lr, 'dlhub.json'))).not.toThrow();
  });

  it('describes a joblib regressor: run is predict (no predict_proba), serialization joblib', async () => {
    const result = await initServable(jl, { title: 'Ridge' });
    const doc = written(jl);
    expect(result.detected.reason).toContain('sklearn.linear_model._ridge.Ridge');
    expect(Object.keys(doc.servable.methods)).toEqual(['run', 'predict']);
    expect(doc.servable.methods.run.method_details).toEqual({ method_name: 'predict' });
    expect(doc.servable.methods.run.output.shape).toEqual([null]);
    expect(doc.servable.methods.predict.input.shape).toEqual([null, 3]);
    expect(doc.servable.options.serialization_method).toBe('joblib');
    expect(doc.servable.options.classes).toBeUndefined();
  });

  it('refuses to overwrite dlhub.json unless asked', async () => {
    const err = await detectFailure(rf);
    expect(err.message).toContain('already exists');
    expect(err.hint).toContain('--force');
    const again = await initServable(rf, { overwrite: true, methods: ['predict'], deterministic: false });
    expect(Object.keys(again.metadata.servable.methods)).toEqual(['predict']);
    expect(written(rf).servable.deterministic).toBe(false);
  });
});

describe('initServable on Python modules', () => {
  const twoFunctions = `import numpy as np
from typing import List


def mean(values: List[float], digits: int = 2) -> float:
    """Mean of the values.

    Rounded to digits."""
    return round(sum(values) / len(values), digits)


def scale(x, factor: float):
    return x * factor


def _helper():
    pass
`;

  it('lists the functions when there are several and no --function', async () => {
    const dir = folder('tools', { 'tools.py': twoFunctions });
    const err = await detectFailure(dir);
    expect(err).toBeInstanceOf(DetectError);
    expect(err.message).toBe('tools.py defines several functions: mean (line 5), scale (line 12).');
    expect(err.hint).toBe('Choose one with --function NAME, e.g. --function mean.');
    expect(existsSync(join(dir, 'dlhub.json'))).toBe(false);
  });

  it('describes the chosen function from its annotations and docstring', async () => {
    const dir = folder('tools', { 'tools.py': twoFunctions });
    const result = await initServable(dir, { function: 'mean', title: 'Mean' });
    const run = written(dir).servable.methods.run;
    expect(written(dir).servable.shim).toBe('python.PythonStaticMethodServable');
    expect(run.description).toBe('Mean of the values.');
    expect(run.input).toEqual({ type: 'list', item_type: { type: 'number' }, description: 'values' });
    expect(run.output).toEqual({ type: 'number' });
    expect(run.parameters).toEqual({ digits: 2 });
    expect(run.method_details).toEqual({ module: 'tools', method_name: 'mean', autobatch: false });
    expect(written(dir).dlhub.files).toEqual({ other: ['tools.py'] });
    expect(written(dir).dlhub.dependencies.python).toEqual({ numpy: null });
    expect(result.todo).toContain('dlhub.dependencies.python: pin versions for numpy');
  });

  it('untyped arguments become python object with todo items; several arguments a tuple to unpack', async () => {
    const dir = folder('tools', { 'tools.py': twoFunctions });
    const result = await initServable(dir, { function: 'scale', title: 'Scale' });
    const run = written(dir).servable.methods.run;
    expect(run.input.type).toBe('tuple');
    expect(run.input.element_types).toEqual([{ type: 'python object', description: 'x' }, { type: 'number', description: 'factor' }]);
    expect(run.method_details.unpack).toBe(true);
    expect(result.todo.some((t) => t.startsWith('servable.methods.run.input.element_types[0]: argument "x" has no type annotation'))).toBe(true);
    expect(result.todo.some((t) => t.startsWith('servable.methods.run.output: the return value of scale has no type annotation'))).toBe(true);
    expect(result.todo).toContain('servable.methods.run.description: add a docstring to scale (it becomes the method description)');
  });

  it('names a missing function and lists the real ones', async () => {
    const dir = folder('tools', { 'tools.py': twoFunctions });
    const err = await detectFailure(dir, { function: 'median' });
    expect(err.message).toBe('tools.py has no top-level function named "median".');
    expect(err.hint).toBe('Its functions are: mean, scale.');
  });
});

describe('initServable detection failures', () => {
  it('an empty folder names the supported file kinds', async () => {
    const err = await detectFailure(folder('empty'));
    expect(err.code).toBe('DETECT_FAILED');
    expect(err.message).toMatch(/^No model file found in .*empty \(it is empty\)\.$/);
    expect(err.hint).toContain('.pkl');
    expect(err.hint).toContain('.onnx');
  });

  it('a pickle that is not a scikit-learn estimator says what it holds and suggests --type python', async () => {
    const dir = folder('custom');
    python(`import pickle, collections
Point = collections.namedtuple('Point', 'x y')
pickle.dump({'weights': [1.0, 2.0], 'when': __import__('datetime').date(2024, 1, 2)}, open('weights.pkl', 'wb'))`, dir);
    const err = await detectFailure(dir);
    expect(err).toBeInstanceOf(DetectError);
    expect(err.message).toBe('weights.pkl is a pickle but not of a scikit-learn estimator: it holds datetime.date.');
    expect(err.hint).toContain('--type python');
  });

  it('several model files ask for --model, and --model settles it', async () => {
    const dir = folder('two');
    python(`import pickle; from sklearn.linear_model import LogisticRegression
m = LogisticRegression().fit([[0], [1]], [0, 1]); pickle.dump(m, open('a.pkl', 'wb')); pickle.dump(m, open('b.pkl', 'wb'))`, dir);
    const err = await detectFailure(dir);
    expect(err.message).toBe('two holds several candidate files: a.pkl, b.pkl.');
    expect(err.hint).toBe('Choose one with --model FILE, e.g. --model a.pkl.');
    const result = await initServable(dir, { model: 'b.pkl', title: 'Dummy' });
    expect(result.metadata.dlhub.files).toEqual({ model: 'b.pkl', other: ['a.pkl'] });
    expect(result.metadata.servable.methods['predict']?.input?.shape).toEqual([null, 1]);
  });

  it('an ONNX file gets a run method with shape todo items', async () => {
    const dir = folder('net', { 'net.onnx': 'not really onnx' });
    const result = await initServable(dir, { title: 'Net', input: { type: 'ndarray', shape: [null, 8] } });
    expect(result.metadata.servable).toMatchObject({ shim: 'onnx.ONNXServable', type: 'ONNX Model' });
    expect(result.metadata.servable.methods['run']?.input?.shape).toEqual([null, 8]);
    expect(result.metadata.servable.methods['run']?.method_details?.method_name).toBe('run');
    expect(result.todo.some((t) => t.startsWith('servable.methods.run.input'))).toBe(false);
    expect(result.todo.some((t) => t.startsWith('servable.methods.run.output.shape'))).toBe(true);
  });

  it('an invalid --name is rejected by the validator and nothing is written', async () => {
    const dir = folder('ok', { 'net.pt': 'x' });
    const err = await detectFailure(dir, { name: 'Bad Name\nRUN id' });
    expect(err.code).toBe('METADATA_INVALID');
    expect(err.message).toContain('dlhub.name');
    expect(existsSync(join(dir, 'dlhub.json'))).toBe(false);
  });

  it('sanitizes folder names', () => {
    expect(sanitizeName('My Model (v2)')).toBe('my-model-v2');
    expect(sanitizeName('.hidden')).toBe('hidden');
    expect(sanitizeName('!!!')).toBe('servable');
    expect(sanitizeName('x'.repeat(80))).toHaveLength(64);
  });
});

describe('the examples are what dlhub init writes', () => {
  const examples = join(import.meta.dirname, '..', '..', '..', 'examples');

  it.each(Object.keys(EXAMPLE_OPTIONS))('examples/%s/dlhub.json', async (name) => {
    // Copy the sources to a fresh folder named like the example; model.pkl is trained there, never taken from the tree.
    const dir = folder(name);
    for (const file of ['noop.py', 'stats.py', 'train.py']) if (existsSync(join(examples, name, file))) copyFileSync(join(examples, name, file), join(dir, file));
    if (name === 'iris') execFileSync(SKLEARN_PYTHON, ['train.py'], { cwd: dir, stdio: 'pipe' });
    const result = await initServable(dir, EXAMPLE_OPTIONS[name]);
    expect(result.todo).toEqual([]);
    expect(written(dir)).toEqual(JSON.parse(readFileSync(join(examples, name, 'dlhub.json'), 'utf8')));
  });
});
