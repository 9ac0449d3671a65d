import type { ServableMetadata } from './metadata.js';

/** Import names the runner needs for each servable kind, so the host runtime can pick a Python that has them. */
const SHIM_MODULES: Record<string, string[]> = {
  'sklearn.ScikitLearnServable': ['sklearn', 'numpy'],
  'keras.KerasServable': ['tensorflow', 'numpy'],
  'torch.TorchServable': ['torch', 'numpy'],
  'onnx.ONNXServable': ['onnxruntime', 'numpy'],
  'python.PythonStaticMethodServable': [],
};

// Distribution names whose import name differs; the rest import under their own name.
const IMPORT_NAMES: Record<string, string> = {
  'scikit-learn': 'sklearn',
  'tensorflow-cpu': 'tensorflow',
  pillow: 'PIL',
  'pyyaml': 'yaml',
  'opencv-python': 'cv2',
};

/** Python modules a host interpreter must import to run this servable. */
export function requiredModules(metadata: ServableMetadata): string[] {
  const shim = metadata.servable.shim ?? '';
  const modules = new Set(SHIM_MODULES[shim] ?? []);
  const deps = metadata.dlhub.dependencies?.python ?? {};
  for (const dist of Object.keys(deps)) {
    const lower = dist.toLowerCase();
    modules.add(IMPORT_NAMES[lower] ?? lower.replace(/-/g, '_'));
  }
  return [...modules].sort();
}
