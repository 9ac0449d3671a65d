import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DetectError } from '../errors.js';
import type { Detected } from './detect.js';
import type { Description } from './describe-model.js';
import type { ArgumentType, MethodMetadata, PythonDependencies } from './metadata.js';
import { findProbePython, runProbe } from './python-probe.js';

type ProbedType = (ArgumentType & { unknown_shape?: boolean }) | null;
interface ProbedFunction {
  name: string; line: number; doc: string | null;
  inputs: { name: string; type: ProbedType }[]; output: ProbedType; parameters: Record<string, unknown>;
}
interface ProbedModule { functions?: ProbedFunction[]; imports?: string[]; stdlib?: string[] }

// Import names whose distribution on PyPI is named differently.
const DISTRIBUTIONS: Record<string, string> = { sklearn: 'scikit-learn', PIL: 'pillow', yaml: 'pyyaml', cv2: 'opencv-python', skimage: 'scikit-image' };

/** Strip probe-only markers and note what a person must still describe. */
function clean(type: ProbedType, field: string, what: string, todo: string[]): ArgumentType {
  if (type === null) {
    todo.push(`${field}: ${what} has no type annotation; describe it (--${field.endsWith('output') ? 'output' : 'input'} '{"type": "list", "item_type": {"type": "number"}}') or annotate the function`);
    return { type: 'python object', description: what };
  }
  const { unknown_shape: unknownShape, ...rest } = type;
  if (unknownShape) todo.push(`${field}.shape: ${what} is an ndarray; set its shape, e.g. [null, 4]`);
  if (rest.item_type) rest.item_type = clean(rest.item_type, `${field}.item_type`, what, todo);
  if (rest.element_types) rest.element_types = rest.element_types.map((t, i) => clean(t as ProbedType, `${field}.element_types[${i}]`, what, todo));
  return rest;
}

function pickFunction(functions: ProbedFunction[], wanted: string | undefined, file: string): ProbedFunction {
  if (wanted) {
    const fn = functions.find((f) => f.name === wanted);
    if (!fn) throw new DetectError('DETECT_FAILED', `${file} has no top-level function named "${wanted}".`, { hint: functions.length > 0 ? `Its functions are: ${functions.map((f) => f.name).join(', ')}.` : 'Define the function at the top level of the module (not inside a class or another function).' });
    return fn;
  }
  if (functions.length === 1) return functions[0] as ProbedFunction;
  if (functions.length === 0) throw new DetectError('DETECT_FAILED', `${file} defines no public top-level function to serve.`, { hint: 'Define one at the top level (names starting with _ are private), or choose another file with --module.' });
  throw new DetectError('DETECT_FAILED', `${file} defines several functions: ${functions.map((f) => `${f.name} (line ${f.line})`).join(', ')}.`, {
    hint: `Choose one with --function NAME, e.g. --function ${functions[0]?.name ?? ''}.`, details: { functions: functions.map((f) => f.name) },
  });
}

/** Describe a function of a .py file as a Python static method servable, reading it with `ast` (never importing it). */
export function describeFunction(dir: string, detected: Detected, functionName: string | undefined): Description {
  const python = findProbePython();
  if (!python) throw new DetectError('DETECT_FAILED', 'No Python 3 was found to read the module.', { hint: 'Install python3 or set DLHUB_PYTHON to a Python 3 interpreter.' });
  const probed = runProbe<ProbedModule>(python, ['functions', join(dir, detected.file)]);
  if (probed.error) throw new DetectError('DETECT_FAILED', `${detected.file} could not be parsed: ${probed.type ?? 'Error'}: ${probed.error}`, { hint: 'Fix the syntax error (python3 -m py_compile FILE shows it) and run init again.' });
  const fn = pickFunction(probed.functions ?? [], functionName, detected.file);
  const module = detected.file.replace(/\.py$/, '').replace(/\//g, '.');
  const todo: string[] = [];
  const base = 'servable.methods.run';
  let input: ArgumentType;
  let unpack = false;
  if (fn.inputs.length === 1) {
    const only = fn.inputs[0] as { name: string; type: ProbedType };
    input = clean(only.type, `${base}.input`, `argument "${only.name}"`, todo);
    input.description ??= only.name;
  } else {
    // Several arguments travel as one tuple that the runner unpacks, as DLHub's SDK does.
    unpack = true;
    input = { type: 'tuple', description: fn.inputs.map((a) => a.name).join(', '), element_types: fn.inputs.map((a, i) => ({ ...clean(a.type, `${base}.input.element_types[${i}]`, `argument "${a.name}"`, todo), description: a.name })) };
  }
  const output = clean(fn.output, `${base}.output`, `the return value of ${fn.name}`, todo);
  const method: MethodMetadata = {
    ...(fn.doc ? { description: fn.doc.split('\n\n')[0]?.trim() ?? fn.doc } : {}),
    input, output, parameters: fn.parameters,
    method_details: { module, method_name: fn.name, autobatch: false, ...(unpack ? { unpack: true } : {}) },
  };
  if (!fn.doc) todo.push(`${base}.description: add a docstring to ${fn.name} (it becomes the method description)`);
  const local = (name: string): boolean => existsSync(join(dir, `${name}.py`)) || existsSync(join(dir, name, '__init__.py'));
  const dependencies: PythonDependencies = {};
  for (const name of probed.imports ?? []) {
    if ((probed.stdlib ?? []).includes(name) || local(name)) continue;
    dependencies[DISTRIBUTIONS[name] ?? name] = null;
  }
  if (Object.keys(dependencies).length > 0) todo.push(`dlhub.dependencies.python: pin versions for ${Object.keys(dependencies).join(', ')}`);
  return {
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: method }, options: {} },
    dependencies, todo,
    reason: `${detected.file} defines ${fn.name}() (line ${fn.line}), read with ast`,
  };
}
