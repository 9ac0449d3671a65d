import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { assetPath } from './assets.js';
import { describeTensorModel, type Description } from './describe-model.js';
import type { Detected } from './detect.js';
import { findProbePython } from './python-probe.js';

/** What resources/runner/inspect_torch.py answers about a PyTorch file. */
export interface TorchProbe {
  torch_version?: string;
  kind?: 'module' | 'torchscript' | 'state_dict';
  class?: string;
  dtype?: string;
  input_shape?: (number | null)[] | null;
  output_shape?: (number | null)[] | null;
  how?: string | null;
  tensors?: number;
  error?: string;
}

/** Run the PyTorch probe with a host Python that has torch; undefined when there is none or it fails to run. */
export function probeTorchFile(path: string): { python: string; answer: TorchProbe } | undefined {
  const python = findProbePython(['torch']);
  if (!python) return undefined;
  const res = spawnSync(python, [assetPath('resources', 'runner', 'inspect_torch.py'), path], { encoding: 'utf8', timeout: 120_000, maxBuffer: 4 * 1024 * 1024 });
  if (res.error || res.status !== 0) return undefined;
  try {
    return { python, answer: JSON.parse(res.stdout.trim().split('\n').pop() ?? '') as TorchProbe };
  } catch {
    return undefined;
  }
}

/**
 * Describe a PyTorch file: the generic tensor description, plus what this machine's torch reads from
 * it: the torch version (pinned as the dependency), the input and output shapes where the first and
 * last layers tell them, and what to add for a bare state_dict.
 */
export function describeTorch(dir: string, detected: Detected): Description {
  const d = describeTensorModel(detected);
  const probed = probeTorchFile(join(dir, detected.file));
  if (!probed) {
    d.todo.push('dlhub.dependencies.python.torch: no Python with torch was found here to read the file (install python3-torch or set DLHUB_PYTHON)');
    return d;
  }
  const { answer, python } = probed;
  const run = d.servable.methods['run'];
  if (answer.torch_version) {
    d.dependencies = { torch: answer.torch_version };
    d.todo = d.todo.filter((t) => !t.startsWith('dlhub.dependencies.python.torch'));
  }
  if (answer.kind === 'state_dict') {
    d.todo.push(`servable.options.model_class: ${detected.file} is a state_dict (weights only); put the module's class in a .py file here and set "<module>.<Class>" (servable.options.model_kwargs for its arguments)`);
  }
  if (run) {
    for (const [side, shape] of [['input', answer.input_shape], ['output', answer.output_shape]] as const) {
      if (!shape) continue;
      run[side] = { type: 'ndarray', ...run[side], shape, description: `Tensor of shape ${JSON.stringify(shape)}${answer.dtype ? ` (${answer.dtype})` : ''}` };
      if (!shape.slice(1).includes(null)) d.todo = d.todo.filter((t) => !t.startsWith(`servable.methods.run.${side}.shape`));
    }
  }
  if (answer.class) d.servable.model_summary = `${answer.kind === 'torchscript' ? 'TorchScript module' : answer.class}${answer.dtype ? `, ${answer.dtype}` : ''}`;
  const what = answer.error ? `; ${python} could not load it (${answer.error})` : `; read with torch ${answer.torch_version ?? '?'} (${python})${answer.how ? `: ${answer.how}` : ''}`;
  d.reason = `${d.reason.replace(/ \(by its extension\)$/, '')} (${answer.kind ?? 'by its extension'})${what}`;
  return d;
}
