/**
 * Types of a servable's metadata document (`dlhub.json`): the contract's (main/contract/metadata.ts),
 * re-exported for the servable layer's modules.
 */
import type { ShimName } from '../contract/metadata.js';

export type {
  ArgumentKind, ArgumentType, DataciteBlock, DataciteCreator, DlhubBlock, MethodDetails, MethodMetadata, PipelineStep,
  PythonDependencies, ServableBlock, ServableFiles, ServableMetadata, ShimName, ValueMapping,
} from '../contract/metadata.js';

/** Human-readable `servable.type` for each shim, as the DLHub SDK writes it. */
export const SHIM_TYPES: Record<ShimName, string> = {
  'python.PythonStaticMethodServable': 'Python static method',
  'python.PythonClassMethodServable': 'Python class method',
  'tensorflow.TensorFlowServable': 'TensorFlow Model',
  'sklearn.ScikitLearnServable': 'Scikit-learn estimator',
  'keras.KerasServable': 'Keras Model',
  'torch.TorchServable': 'Torch Model',
  'onnx.ONNXServable': 'ONNX Model',
};
