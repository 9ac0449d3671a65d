import { join } from 'node:path';
import { DetectError } from '../errors.js';
import type { Detected, ServableKind } from './detect.js';
import type { MethodMetadata, PythonDependencies, ServableBlock } from './metadata.js';
import { findProbePython, runProbe } from './python-probe.js';

/** A servable block as far as the files tell, with what is left for a person to fill in. */
export interface Description {
  servable: ServableBlock;
  dependencies: PythonDependencies;
  todo: string[];
  reason: string;
}

interface PickleScan { globals?: [string, string][]; method?: string; is_pickle?: boolean }
interface SklearnInfo {
  module: string; class: string; sklearn_version: string; n_features_in: number | null;
  classes: (string | number | boolean)[] | null; is_classifier: boolean; has_predict: boolean; has_predict_proba: boolean; summary: string;
}

const NON_SKLEARN_HINT = 'If it is your own object, wrap the code that uses it in a Python function and run `dlhub init DIR --type python --module MODULE --function NAME`; the pickle is then copied as an extra file.';

/** Find the estimator class from the pickle's opcodes, without unpickling it. */
function scanEstimator(path: string, file: string): { module: string; name: string; via: string } {
  const python = findProbePython();
  if (!python) throw new DetectError('DETECT_FAILED', 'No Python 3 was found to inspect the pickle.', { hint: 'Install python3 or set DLHUB_PYTHON to a Python 3 interpreter.' });
  const scan = runProbe<PickleScan>(python, ['pickle', path]);
  const globals = scan.globals ?? [];
  if (scan.error || (!scan.is_pickle && globals.length === 0)) {
    throw new DetectError('DETECT_FAILED', `${file} is not a readable pickle${scan.error ? `: ${scan.error}` : ''}.`, { hint: `Save the estimator with pickle.dump or joblib.dump, or choose another file with --model. ${NON_SKLEARN_HINT}` });
  }
  const estimator = globals.find(([mod, name]) => mod.startsWith('sklearn.') && /^[A-Z]/.test(name));
  if (!estimator) {
    const seen = [...new Set(globals.map(([m, n]) => `${m}.${n}`))].slice(0, 6);
    throw new DetectError('DETECT_FAILED', `${file} is a pickle but not of a scikit-learn estimator: it holds ${seen.length > 0 ? seen.join(', ') : 'only plain Python values (dict, list, numbers)'}.`, { hint: NON_SKLEARN_HINT, details: { globals: seen } });
  }
  return { module: estimator[0], name: estimator[1], via: scan.method === 'scan' ? 'scanned from its bytes' : 'read from its opcodes' };
}

function rows(n: number | null): MethodMetadata['input'] {
  return {
    type: 'ndarray', shape: [null, n], item_type: { type: 'float' },
    description: n === null ? 'Records to evaluate, one row each' : `Records to evaluate, one row of ${n} features each`,
  };
}

/** Describe a scikit-learn estimator: scan first, then load it with a Python that has scikit-learn to read its shape. */
export function describeSklearn(dir: string, detected: Detected): Description {
  const path = join(dir, detected.file);
  const serialization = detected.file.toLowerCase().endsWith('.joblib') ? 'joblib' : 'pickle';
  const est = scanEstimator(path, detected.file);
  const todo: string[] = [];
  const python = findProbePython(serialization === 'joblib' ? ['sklearn', 'joblib'] : ['sklearn']);
  let info: SklearnInfo | undefined;
  if (python) {
    const answer = runProbe<SklearnInfo>(python, ['sklearn', path, serialization]);
    if (answer.error) throw new DetectError('DETECT_FAILED', `${detected.file} names ${est.module}.${est.name} but did not load with ${python}: ${answer.type ?? 'Error'}: ${answer.error}`, { hint: 'Load it with the scikit-learn version that saved it (set DLHUB_PYTHON to that Python), or pass --input/--output types yourself.' });
    info = answer;
  } else {
    todo.push('servable.methods: no Python with scikit-learn was found to read the number of features and classes; set DLHUB_PYTHON and run init again, or fill in the shapes');
  }
  const n = info?.n_features_in ?? null;
  if (info && n === null) todo.push('servable.methods.run.input.shape: the estimator does not record n_features_in_; set the number of features');
  const predict: MethodMetadata = { description: 'Predictions of the model, one per row', input: rows(n), output: { type: 'ndarray', shape: [null], description: 'Predictions of the model' }, parameters: {}, method_details: { method_name: 'predict' } };
  let proba: MethodMetadata | undefined;
  if (info?.has_predict_proba) {
    const k = info.classes?.length ?? null;
    proba = {
      description: 'Probability of each class, one row per input row', input: rows(n),
      output: { type: 'ndarray', shape: [null, k], item_type: { type: 'float' }, description: k === null ? 'Probabilities for membership in each class' : `Probabilities for membership in each of ${k} classes` },
      parameters: {}, method_details: { method_name: 'predict_proba' },
    };
  }
  // What DLHub's ScikitLearnModel writes: `run` (the method a DLHub client calls) is predict_proba
  // for a classifier that has it, else predict; the estimator's other methods stay beside it.
  const methods: Record<string, MethodMetadata> = {
    run: structuredClone(info?.is_classifier && proba ? proba : predict),
    predict,
    ...(proba ? { predict_proba: proba } : {}),
  };
  const options: Record<string, unknown> = { serialization_method: serialization, model_type: est.name };
  if (info) options['is_classifier'] = info.is_classifier;
  if (info?.classes) options['classes'] = info.classes;
  const servable: ServableBlock = {
    type: 'Scikit-learn estimator', shim: 'sklearn.ScikitLearnServable', model_type: est.name, methods, options,
    ...(info ? { model_summary: info.summary } : {}),
  };
  const loaded = info ? `; loaded with ${python ?? ''}: ${n ?? '?'} features${info.classes ? `, ${info.classes.length} classes` : ''}` : '';
  return {
    servable,
    dependencies: { 'scikit-learn': info?.sklearn_version ?? null, ...(serialization === 'joblib' ? { joblib: null } : {}) },
    todo,
    reason: `${detected.file} is a ${serialization} of ${est.module}.${est.name} (${est.via}${loaded})`,
  };
}

const TENSOR: Record<Exclude<ServableKind, 'sklearn' | 'python'>, { type: string; shim: string; call: string; dep: string; label: string }> = {
  keras: { type: 'Keras Model', shim: 'keras.KerasServable', call: 'predict', dep: 'tensorflow', label: 'Keras model' },
  torch: { type: 'Torch Model', shim: 'torch.TorchServable', call: '__call__', dep: 'torch', label: 'PyTorch model' },
  onnx: { type: 'ONNX Model', shim: 'onnx.ONNXServable', call: 'run', dep: 'onnxruntime', label: 'ONNX model' },
};

/** Describe a Keras, PyTorch or ONNX file; its shapes need the framework, so they are left for a person. */
export function describeTensorModel(detected: Detected): Description {
  const spec = TENSOR[detected.type as keyof typeof TENSOR];
  return {
    servable: {
      type: spec.type, shim: spec.shim, model_type: 'Deep NN',
      methods: {
        run: {
          input: { type: 'ndarray', shape: [null], item_type: { type: 'float' }, description: 'Tensor' },
          output: { type: 'ndarray', shape: [null], item_type: { type: 'float' }, description: 'Tensor' },
          parameters: {}, method_details: { method_name: spec.call },
        },
      },
      options: {},
    },
    dependencies: { [spec.dep]: null },
    todo: [
      'servable.methods.run.input.shape: set the input tensor shape, e.g. [null, 28, 28] (--input)',
      'servable.methods.run.output.shape: set the output tensor shape, e.g. [null, 10] (--output)',
      `dlhub.dependencies.python.${spec.dep}: pin the version the model was saved with`,
    ],
    reason: `${detected.file} is a ${spec.label} (by its extension)`,
  };
}
