// A servable's metadata document (`dlhub.json`) as schemas, matching schemas/servable.json: the field
// names are DLHub's so a document written by the DLHub Python SDK loads unchanged. The servable
// layer validates documents against schemas/servable.json; these schemas give the doors and the
// renderer the same shapes as types. `Rest` keeps the keys a block may carry beyond those named.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Opt = <T extends TSchema>(s: T) => Type.Optional(s);
const Rest = Type.Record(Type.String(), Type.Unknown());

/** DLHub's argument types, plus `file`. */
const ARGUMENT_KINDS = ['number', 'ndarray', 'string', 'python object', 'boolean', 'integer', 'float', 'complex', 'timedelta', 'datetime', 'list', 'dict', 'tuple', 'file'] as const;
export const ArgumentKind = Type.Union(ARGUMENT_KINDS.map((k) => Type.Literal(k)));
export type ArgumentKind = Static<typeof ArgumentKind>;

/** Type of one method input or output. `shape` uses null for a dimension of any size. */
export const ArgumentType = Type.Recursive(
  (This) =>
    Type.Object({
      type: ArgumentKind,
      description: Opt(Type.String()),
      shape: Opt(Type.Array(Type.Union([Type.Integer(), Type.Null()]))),
      python_type: Opt(Type.String()),
      item_type: Opt(This),
      element_types: Opt(Type.Array(This)),
      properties: Opt(Type.Record(Type.String(), This)),
      file_types: Opt(Type.Array(Type.String())),
    }),
  { $id: 'ArgumentType', description: 'a DLHub argument type, e.g. {"type": "ndarray", "shape": [null, 4]}' },
);
export type ArgumentType = Static<typeof ArgumentType>;

/** How the runner builds the call, as the DLHub SDK writes it. */
export const MethodDetails = Type.Intersect([
  Type.Object({
    method_name: Opt(Type.String()),
    module: Opt(Type.String()),
    class_name: Opt(Type.String()),
    autobatch: Opt(Type.Boolean()),
    unpack: Opt(Type.Boolean()),
  }),
  Rest,
]);
export type MethodDetails = Static<typeof MethodDetails>;

/** One callable method of a servable. */
export const MethodMetadata = Type.Object({
  description: Opt(Type.String()),
  input: Opt(ArgumentType),
  output: Opt(ArgumentType),
  parameters: Opt(Rest),
  method_details: Opt(MethodDetails),
});
export type MethodMetadata = Static<typeof MethodMetadata>;

/** Named files (`model`, `pickle`, ...) and `other`, relative to the servable folder. */
export const ServableFiles = Type.Intersect([
  Type.Object({ other: Opt(Type.Array(Type.String())) }),
  Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
]);
export type ServableFiles = Static<typeof ServableFiles>;

/** PEP 508 name -> version specifier; null or '' means any version. */
export const PythonDependencies = Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]));
export type PythonDependencies = Static<typeof PythonDependencies>;

const Dependencies = Type.Object({ python: Opt(PythonDependencies) });

/** A DataCite creator; the SDK writes familyName/givenName, older documents creatorName. */
export const DataciteCreator = Type.Object({
  creatorName: Opt(Type.String()),
  familyName: Opt(Type.String()),
  givenName: Opt(Type.String()),
  affiliations: Opt(Type.Array(Type.String())),
  nameIdentifiers: Opt(Type.Array(Type.Object({ nameIdentifier: Type.String(), nameIdentifierScheme: Type.String(), schemeURI: Opt(Type.String()) }))),
});
export type DataciteCreator = Static<typeof DataciteCreator>;

/** The `datacite` block (citation metadata). */
export const DataciteBlock = Type.Intersect([
  Type.Object({
    titles: Type.Array(Type.Object({ title: Type.String(), type: Opt(Type.String()), lang: Opt(Type.String()) })),
    creators: Type.Array(DataciteCreator),
    identifier: Opt(Type.Object({ identifier: Type.String(), identifierType: Type.Literal('DOI') })),
    publisher: Opt(Type.String()),
    publicationYear: Opt(Type.String()),
    resourceType: Opt(Type.Object({ resourceTypeGeneral: Type.String(), resourceType: Opt(Type.String()) })),
    descriptions: Opt(Type.Array(Type.Object({ description: Type.String(), descriptionType: Type.String(), lang: Opt(Type.String()) }))),
    rightsList: Opt(Type.Array(Type.Object({ rights: Opt(Type.String()), rightsURI: Opt(Type.String()) }))),
    version: Opt(Type.String()),
  }),
  Rest,
]);
export type DataciteBlock = Static<typeof DataciteBlock>;

/** What a servable needs from the machine that runs it (dlhub.resources, a DLHub Desktop addition); `fitServable` checks it. */
export const Resources = Type.Object({
  gpu: Opt(Type.Boolean({ description: 'it needs an NVIDIA GPU' })),
  gpu_memory_gb: Opt(Type.Number({ exclusiveMinimum: 0, description: 'GPU memory it needs, in GB' })),
  memory_gb: Opt(Type.Number({ exclusiveMinimum: 0, description: 'RAM it needs, in GB' })),
  cpus: Opt(Type.Integer({ minimum: 1, description: 'CPU cores it needs' })),
  cpu_fallback: Opt(Type.Boolean({ description: 'with gpu: it may run on the CPU where no GPU is usable' })),
}, { additionalProperties: false });
export type Resources = Static<typeof Resources>;

/** The `dlhub` block (identity, files, dependencies). `network` is a DLHub Desktop addition. */
export const DlhubBlock = Type.Object({
  name: Type.String(),
  version: Opt(Type.String()),
  type: Opt(Type.Union([Type.Literal('servable'), Type.Literal('dataset'), Type.Literal('pipeline')])),
  owner: Opt(Type.String()),
  domains: Opt(Type.Array(Type.String())),
  visible_to: Opt(Type.Array(Type.String())),
  publication_date: Opt(Type.Number()),
  id: Opt(Type.Union([Type.String(), Type.Null()])),
  files: Opt(ServableFiles),
  dependencies: Opt(Dependencies),
  network: Opt(Type.Boolean({ description: 'give the container network access; default false' })),
  resources: Opt(Resources),
  test: Opt(Type.Boolean()),
  transfer_method: Opt(Rest),
});
export type DlhubBlock = Static<typeof DlhubBlock>;

/** Known runner shims; others may appear in imported documents. */
const SHIM_NAMES = [
  'python.PythonStaticMethodServable',
  'python.PythonClassMethodServable',
  'sklearn.ScikitLearnServable',
  'tensorflow.TensorFlowServable',
  'keras.KerasServable',
  'torch.TorchServable',
  'onnx.ONNXServable',
] as const;
export type ShimName = (typeof SHIM_NAMES)[number];

/** How a value is reshaped between pipeline steps: `pick` a key, index or path of them, then `wrap` it. */
export const ValueMapping = Type.Object({
  pick: Opt(Type.Union([Type.String(), Type.Number(), Type.Array(Type.Union([Type.String(), Type.Number()]))])),
  wrap: Opt(Type.Union([Type.Literal('list'), Type.Literal('object')], { description: "'list': value -> [value]; 'object': value -> { [key]: value }" })),
  key: Opt(Type.String()),
});
export type ValueMapping = Static<typeof ValueMapping>;

/** One step of a pipeline servable: a local servable, its method, and the mappings in and out. */
export const PipelineStep = Type.Object({
  servable: Type.String(),
  method: Opt(Type.String()),
  description: Opt(Type.String()),
  parameters: Opt(Rest),
  input: Opt(ValueMapping),
  output: Opt(ValueMapping),
});
export type PipelineStep = Static<typeof PipelineStep>;

/** The `servable` block (how to run it). `deterministic` is a DLHub Desktop addition. */
export const ServableBlock = Type.Object({
  type: Type.String(),
  shim: Type.String({ description: `a runner shim: ${SHIM_NAMES.join(', ')}, or another an imported document names` }),
  methods: Type.Record(Type.String(), MethodMetadata),
  options: Opt(Rest),
  model_type: Opt(Type.String()),
  model_summary: Opt(Type.String()),
  language: Opt(Type.String()),
  files: Opt(ServableFiles),
  dependencies: Opt(Dependencies),
  deterministic: Opt(Type.Boolean({ description: 'false turns the memo cache off; default true' })),
  steps: Opt(Type.Array(PipelineStep, { description: 'the steps of a pipeline (`type: "pipeline"`, which needs no shim or methods)' })),
});
export type ServableBlock = Static<typeof ServableBlock>;

/** A whole dlhub.json document. */
export const ServableMetadata = Type.Object({ datacite: DataciteBlock, dlhub: DlhubBlock, servable: ServableBlock }, { $id: 'ServableMetadata' });
export type ServableMetadata = Static<typeof ServableMetadata>;
