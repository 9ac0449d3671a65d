/**
 * Types of a servable's metadata document (`dlhub.json`), matching schemas/servable.json.
 * The field names are DLHub's so a document written by the DLHub Python SDK loads unchanged.
 */

/** DLHub's argument types, plus `file`. */
export type ArgumentKind =
  | 'number' | 'ndarray' | 'string' | 'python object' | 'boolean' | 'integer' | 'float' | 'complex'
  | 'timedelta' | 'datetime' | 'list' | 'dict' | 'tuple' | 'file';

/** Type of one method input or output. `shape` uses null for a dimension of any size. */
export interface ArgumentType {
  type: ArgumentKind;
  description?: string;
  shape?: (number | null)[];
  python_type?: string;
  item_type?: ArgumentType;
  element_types?: ArgumentType[];
  properties?: Record<string, ArgumentType>;
  file_types?: string[];
}

/** How the runner builds the call, as the DLHub SDK writes it. */
export interface MethodDetails {
  method_name?: string;
  module?: string;
  class_name?: string;
  autobatch?: boolean;
  unpack?: boolean;
  [key: string]: unknown;
}

/** One callable method of a servable. */
export interface MethodMetadata {
  description?: string;
  input?: ArgumentType;
  output?: ArgumentType;
  parameters?: Record<string, unknown>;
  method_details?: MethodDetails;
}

/** Named files (`model`, `pickle`, ...) and `other`, relative to the servable folder. */
export interface ServableFiles {
  other?: string[];
  [role: string]: string | string[] | undefined;
}

/** PEP 508 name -> version specifier; null or '' means any version. */
export type PythonDependencies = Record<string, string | null>;

/** A DataCite creator; the SDK writes familyName/givenName, older documents creatorName. */
export interface DataciteCreator {
  creatorName?: string;
  familyName?: string;
  givenName?: string;
  affiliations?: string[];
  nameIdentifiers?: { nameIdentifier: string; nameIdentifierScheme: string; schemeURI?: string }[];
}

/** The `datacite` block (citation metadata). */
export interface DataciteBlock {
  titles: { title: string; type?: string; lang?: string }[];
  creators: DataciteCreator[];
  identifier?: { identifier: string; identifierType: 'DOI' };
  publisher?: string;
  publicationYear?: string;
  resourceType?: { resourceTypeGeneral: string; resourceType?: string };
  descriptions?: { description: string; descriptionType: string; lang?: string }[];
  rightsList?: { rights?: string; rightsURI?: string }[];
  version?: string;
  [key: string]: unknown;
}

/** The `dlhub` block (identity, files, dependencies). `network` is a DLHub Desktop addition. */
export interface DlhubBlock {
  name: string;
  version?: string;
  type?: 'servable' | 'dataset' | 'pipeline';
  owner?: string;
  domains?: string[];
  visible_to?: string[];
  publication_date?: number;
  id?: string | null;
  files?: ServableFiles;
  dependencies?: { python?: PythonDependencies };
  /** Give the container network access; default false. */
  network?: boolean;
  test?: boolean;
  transfer_method?: Record<string, unknown>;
}

/** Known runner shims; others may appear in imported documents. */
export type ShimName =
  | 'python.PythonStaticMethodServable'
  | 'python.PythonClassMethodServable'
  | 'sklearn.ScikitLearnServable'
  | 'tensorflow.TensorFlowServable'
  | 'keras.KerasServable'
  | 'torch.TorchServable'
  | 'onnx.ONNXServable';

/** The `servable` block (how to run it). `deterministic` is a DLHub Desktop addition. */
export interface ServableBlock {
  type: string;
  shim: ShimName | (string & {});
  methods: Record<string, MethodMetadata>;
  options?: Record<string, unknown>;
  model_type?: string;
  model_summary?: string;
  language?: string;
  files?: ServableFiles;
  /** Older SDKs wrote dependencies here instead of under dlhub. */
  dependencies?: { python?: PythonDependencies };
  /** false turns the memo cache off; default true. */
  deterministic?: boolean;
  /** DLHub Desktop: the steps of a pipeline (`type: "pipeline"`, which needs no shim or methods). */
  steps?: PipelineStep[];
}

/** How a value is reshaped between pipeline steps: `pick` a key, index or path of them, then `wrap` it. */
export interface ValueMapping {
  pick?: string | number | (string | number)[];
  /** 'list': value -> [value]; 'object': value -> { [key]: value }. */
  wrap?: 'list' | 'object';
  key?: string;
}

/** One step of a pipeline servable: a local servable, its method, and the mappings in and out. */
export interface PipelineStep {
  servable: string;
  method?: string;
  description?: string;
  parameters?: Record<string, unknown>;
  input?: ValueMapping;
  output?: ValueMapping;
}

/** A whole dlhub.json document. */
export interface ServableMetadata {
  datacite: DataciteBlock;
  dlhub: DlhubBlock;
  servable: ServableBlock;
}

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
