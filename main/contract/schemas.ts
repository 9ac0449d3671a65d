// Schemas of every request and answer, as data: TypeBox values that are JSON Schema at run time and
// TypeScript types through Static<>. Each wire type is declared here once; the engine, catalog,
// servable layer, SDK and doors take theirs from this module. A schema with an `$id` becomes a
// named component of the OpenAPI document (openapi.ts), referenced where it is used.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DTYPES } from './ndarray.js';
import { ArgumentType, MethodMetadata, ServableMetadata } from './metadata.js';
import { RuntimeName } from './runtimes.js';

const Opt = <T extends TSchema>(s: T) => Type.Optional(s);
const strict = { additionalProperties: false } as const;
const Base64 = Type.String({ contentEncoding: 'base64', description: 'base64 text (RFC 4648, with padding)' });

/** A servable name as `dlhub build` writes it. */
export const ServableName = Type.String({ minLength: 1, maxLength: 128, description: 'servable name (dlhub.name)' });
/** A task id as `submitTask` returns it. */
export const TaskId = Type.String({ minLength: 1, maxLength: 128, description: 'task id' });

/** Bytes at a door: `{"$bytes": "<base64>"}`. */
export const BytesWire = Type.Object({ $bytes: Base64 }, { ...strict, $id: 'Bytes', description: 'bytes: an object whose only key is $bytes' });
export type BytesWire = Static<typeof BytesWire>;

/** An n-dimensional array at a door: dtype, shape and the little-endian C-order elements as base64. */
export const NdArrayWire = Type.Object(
  {
    $ndarray: Type.Object(
      {
        dtype: Type.Union(DTYPES.map((d) => Type.Literal(d)), { description: 'numpy dtype' }),
        shape: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 64, description: 'sizes of the dimensions; [] for a single element' }),
        data: Type.String({ contentEncoding: 'base64', description: 'base64 of the elements, little endian, C order' }),
      },
      strict,
    ),
  },
  { ...strict, $id: 'NdArray', description: 'an n-dimensional array: an object whose only key is $ndarray' },
);
export type NdArrayWire = Static<typeof NdArrayWire>;

/**
 * A value at a door. JSON values travel as themselves; binary values as the two reserved tagged
 * objects (an object whose only key is `$bytes` or `$ndarray`), nested anywhere. In a process the
 * value is JSON plus Uint8Array (bytes) and NdArray; the codec (codec.ts) turns one into the other,
 * so its type here is `unknown` while the schema names the wire forms for a client generator.
 */
export const Value = Type.Unknown({
  $id: 'Value',
  description: 'Any JSON value; bytes are {"$bytes": base64}, n-dimensional arrays {"$ndarray": {dtype, shape, data}}, nested anywhere.',
  anyOf: [
    { $ref: 'NdArray' },
    { $ref: 'Bytes' },
    { type: ['null', 'boolean', 'number', 'string'] },
    // Lists and objects of values, named without recursion: generated client types (openapi-fetch's) give up on a recursive union.
    { type: 'array', description: 'a list of values' },
    { type: 'object', description: 'an object of values' },
  ],
});

/** A typed error as every door carries it (`DlhubError.toJSON()`). */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'a stable error code (USAGE, SERVABLE_NOT_FOUND, …)' }),
    name: Opt(Type.String()),
    message: Type.String(),
    hint: Opt(Type.String()),
    details: Opt(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** The error envelope every door answers with. */
export const ErrorEnvelope = Type.Object({ error: ErrorBody }, { $id: 'ErrorEnvelope' });
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

const TimeoutMs = Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'per-call time limit in milliseconds' });

/** How to call a servable, besides what to call it on: the options of the SDK's `run`. */
export const CallOptions = Type.Object({
  method: Opt(Type.String({ minLength: 1, maxLength: 128, description: 'method to call (default: run, else the first declared)' })),
  noCache: Opt(Type.Boolean({ description: 'skip the memo cache for this call' })),
  runtime: Opt(RuntimeName),
  on: Opt(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'send the call to this cluster (`dlhub cluster add`): pilot jobs answer it' })),
  parameters: Opt(Type.Record(Type.String(), Type.Unknown(), { description: 'keyword arguments passed to the method' })),
  timeoutMs: Opt(TimeoutMs),
});
export type CallOptions = Static<typeof CallOptions>;

/** `runServable` / `submitTask`: a servable call on one input or a batch of inputs, never both. */
export const RunRequest = Type.Object(
  {
    name: ServableName,
    input: Opt(Value),
    inputs: Opt(Type.Array(Value, { description: 'a batch: one answer per input, in order' })),
    ...CallOptions.properties,
  },
  { ...strict, not: { required: ['input', 'inputs'] }, description: 'give `input` or `inputs`, not both' },
);
export type RunRequest = Static<typeof RunRequest>;

const Cached = Type.Union([Type.Boolean(), Type.Array(Type.Boolean())], { description: 'whether the memo cache answered (per input for a batch)' });

/** How one step of a pipeline went. */
export const StepOutcome = Type.Object({
  step: Type.Integer({ minimum: 0 }),
  servable: Type.String(),
  method: Type.String(),
  runtime: Type.String(),
  cached: Cached,
  elapsedMs: Type.Number(),
});
export type StepOutcome = Static<typeof StepOutcome>;

/** What a run answered, and where it came from. */
export const RunOutcome = Type.Object(
  {
    servable: Type.String(),
    method: Type.String(),
    // A string, not the request's RuntimeName: a client keeps reading answers from a newer service.
    runtime: Type.String({ description: 'the runtime that answered (docker, host, …)' }),
    output: Value,
    cached: Cached,
    elapsedMs: Type.Number(),
    inferenceMs: Opt(Type.Number({ minimum: 0, description: "the model's own time in the runner for the inputs computed in this call, in ms (at most elapsedMs; 0 when the memo cache answered them all; absent from a runner built before it was sent)" })),
    errors: Opt(Type.Array(Type.Union([ErrorBody, Type.Null()]), { description: 'for a batch: per input, its typed error (its output is then null) or null' })),
    steps: Opt(Type.Array(StepOutcome, { description: "a pipeline's answer: how each step went, in order" })),
    warnings: Opt(Type.Array(Type.String(), { description: 'what went wrong beside the answer, e.g. the answer could not be kept in the memo cache' })),
  },
  { $id: 'RunOutcome' },
);
export type RunOutcome = Static<typeof RunOutcome>;

/** The life of an asynchronous task, as DLHub and Globus Compute report it. */
const TASK_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const TaskStatus = Type.Union(TASK_STATUSES.map((s) => Type.Literal(s)));
export type TaskStatus = Static<typeof TaskStatus>;

/** How far a running task has got: inputs answered (memo hits included) and, on a cluster, its chunk files. */
export const TaskProgress = Type.Object({
  done: Type.Integer({ minimum: 0, description: 'inputs answered so far (memo hits and failed inputs included)' }),
  total: Type.Integer({ minimum: 0, description: 'inputs in the call' }),
  chunks: Opt(Type.Object({
    done: Type.Integer({ minimum: 0, description: 'chunk files answered' }),
    total: Type.Integer({ minimum: 0, description: 'chunk files written to the spool so far' }),
    jobs: Type.Integer({ minimum: 0, description: 'pilot job arrays submitted' }),
  }, { description: 'a batch on a cluster: its chunks, answered by pilot jobs' })),
});
export type TaskProgress = Static<typeof TaskProgress>;

/** One asynchronous task (a single input or a batch), as stored in state.db and shown at every door. */
export const TaskInfo = Type.Object(
  {
    id: Type.String(),
    servable: Type.String(),
    method: Opt(Type.String()),
    status: TaskStatus,
    batch: Type.Boolean({ description: 'submitted with `inputs` (a batch) rather than one `input`' }),
    createdAt: Type.String({ description: 'ISO timestamp' }),
    startedAt: Opt(Type.String()),
    finishedAt: Opt(Type.String()),
    error: Opt(ErrorBody),
    restarts: Type.Integer({ description: 'times the task was started again after a restart of the process that ran it' }),
    on: Opt(Type.String({ description: 'the cluster it was sent to (`on`)' })),
    progress: Opt(TaskProgress),
  },
  { $id: 'TaskInfo' },
);
export type TaskInfo = Static<typeof TaskInfo>;

/** Kinds of model folder `dlhub init` recognises. */
const SERVABLE_KINDS = ['sklearn', 'python', 'keras', 'torch', 'onnx'] as const;
export const ServableKind = Type.Union(SERVABLE_KINDS.map((k) => Type.Literal(k)));
export type ServableKind = Static<typeof ServableKind>;

/** `initServable`: write dlhub.json for a folder on the machine that runs the operation. */
export const InitRequest = Type.Object(
  {
    dir: Type.String({ minLength: 1, description: 'model folder (a path on the serving machine)' }),
    name: Opt(Type.String()),
    title: Opt(Type.String()),
    creators: Opt(Type.Array(Type.String(), { description: '"Family, Given" each; a name without a comma is kept whole' })),
    description: Opt(Type.String()),
    domains: Opt(Type.Array(Type.String())),
    version: Opt(Type.String()),
    year: Opt(Type.Union([Type.Integer(), Type.String()])),
    license: Opt(Type.String()),
    type: Opt(ServableKind),
    model: Opt(Type.String({ description: 'model file, relative to the folder' })),
    module: Opt(Type.String({ description: 'Python module of a function servable' })),
    function: Opt(Type.String()),
    methods: Opt(Type.Array(Type.String(), { description: 'keep only these methods' })),
    input: Opt(ArgumentType),
    output: Opt(ArgumentType),
    dependencies: Opt(Type.Record(Type.String(), Type.String())),
    deterministic: Opt(Type.Boolean()),
    network: Opt(Type.Boolean()),
    overwrite: Opt(Type.Boolean()),
  },
  strict,
);
export type InitRequest = Static<typeof InitRequest>;

/** What `dlhub init` found in a folder. */
export const Detected = Type.Object({ type: ServableKind, file: Type.String(), reason: Type.String() });
export type Detected = Static<typeof Detected>;

/** What `dlhub init` wrote and what a person must still fill in. */
export const InitResult = Type.Object({
  path: Type.String(),
  metadata: ServableMetadata,
  todo: Type.Array(Type.String(), { description: 'fields to fill in by hand, e.g. "datacite.titles: set a title (--title)"' }),
  detected: Detected,
});
export type InitResult = Static<typeof InitResult>;

/** `buildServable`. */
export const BuildRequest = Type.Object(
  {
    dir: Type.String({ minLength: 1, description: 'folder with dlhub.json (a path on the serving machine)' }),
    force: Opt(Type.Boolean()),
    runtime: Opt(RuntimeName),
    baseImage: Opt(Type.String({ minLength: 1 })),
    acceptInstalled: Opt(Type.Boolean({ description: 'build a pinned package the base image cannot satisfy with the version it has; recorded in labels and describe' })),
  },
  strict,
);
export type BuildRequest = Static<typeof BuildRequest>;

/** What `dlhub build` did (`image` is set when an image exists for this content after the build). */
export const BuildOutcome = Type.Object({
  name: Type.String(),
  version: Opt(Type.String()),
  contentKey: Type.String(),
  image: Opt(Type.Object({ tag: Type.String(), imageId: Type.String(), rebuilt: Type.Boolean(), seconds: Type.Number() })),
  imageSkipped: Opt(Type.String({ description: 'why no image was built' })),
});
export type BuildOutcome = Static<typeof BuildOutcome>;

/** Progress of long work, for a CLI bar or a UI indicator. */
export const ProgressEvent = Type.Object({ phase: Type.String(), step: Type.Number(), total: Type.Number(), message: Type.String() }, { $id: 'ProgressEvent' });
export type ProgressEvent = Static<typeof ProgressEvent>;

export const NameRequest = Type.Object({ name: ServableName }, strict);
export type NameRequest = Static<typeof NameRequest>;
export const Empty = Type.Object({}, strict);
export type Empty = Static<typeof Empty>;

/** `describeServable`: like DLHub's describe_servable plus describe_methods. */
export const ServableDescription = Type.Object({
  name: Type.String(),
  metadata: ServableMetadata,
  methods: Type.Record(Type.String(), MethodMetadata),
  image: Opt(Type.Object({ tag: Type.String(), imageId: Type.String() })),
  deterministic: Type.Boolean(),
  substitutions: Opt(Type.Array(Type.Object({ package: Type.String(), wanted: Type.String(), installed: Type.String() }), { description: "pinned packages built with the base image's version instead (dlhub build --accept-installed)" })),
  source: Opt(Type.Union([Type.Literal('local'), Type.Literal('catalog')], { description: '`catalog` when the servable is not built here and the description comes from its catalog record' })),
  serviceFields: Opt(Type.Record(Type.String(), Type.Unknown(), { description: 'fields a DLHub service added to the record beyond its published schema, by dotted path' })),
});
export type ServableDescription = Static<typeof ServableDescription>;

/** One row of `dlhub ls`. */
export const ServableSummary = Type.Object({
  name: Type.String(),
  version: Opt(Type.String()),
  type: Opt(Type.String()),
  title: Opt(Type.String()),
  methods: Type.Array(Type.String()),
  image: Opt(Type.String()),
  preparedAt: Type.String(),
});
export type ServableSummary = Static<typeof ServableSummary>;

export const RemoveOutcome = Type.Object({
  name: Type.String(),
  imageRemoved: Type.Boolean(),
  imageKept: Opt(Type.String({ description: 'why the image stayed (another DLHub home on this engine uses it); this home\'s tag is gone either way' })),
  memoEntriesRemoved: Type.Integer(),
});
export type RemoveOutcome = Static<typeof RemoveOutcome>;

/** The memo cache's figures. */
export const CacheStats = Type.Object({
  file: Type.String(),
  entries: Type.Integer(),
  bytes: Type.Integer(),
  budgetBytes: Type.Integer(),
  hits: Type.Integer(),
  misses: Type.Integer(),
  servables: Type.Array(Type.Object({ name: Type.String(), entries: Type.Integer(), bytes: Type.Integer() })),
});
export type CacheStats = Static<typeof CacheStats>;

export const CacheClearRequest = Type.Object({ name: Opt(ServableName) }, strict);
export type CacheClearRequest = Static<typeof CacheClearRequest>;
export const Removed = Type.Object({ removed: Type.Integer() });
export type Removed = Static<typeof Removed>;

/** `searchCatalog`: free text, or DLHub's field syntax with `advanced`. */
export const SearchRequest = Type.Object(
  {
    query: Type.String({ maxLength: 100_000 }),
    advanced: Opt(Type.Boolean()),
    allVersions: Opt(Type.Boolean()),
    page: Opt(Type.Integer({ minimum: 1 })),
    pageSize: Opt(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  strict,
);
export type SearchRequest = Static<typeof SearchRequest>;

/** One result row: what a results list shows about a servable version. */
export const SearchHit = Type.Object({
  servable: Type.String(),
  name: Type.String(),
  owner: Type.String(),
  version: Type.String(),
  title: Type.String(),
  description: Type.String(),
  type: Type.String(),
  domains: Type.Array(Type.String()),
  creators: Type.Array(Type.String()),
  year: Type.Union([Type.Integer(), Type.Null()]),
  doi: Type.String(),
  methods: Type.Array(Type.String()),
  local: Type.Boolean(),
  latest: Type.Boolean(),
  score: Type.Number(),
});
export type SearchHit = Static<typeof SearchHit>;

/** One facet bucket: a value and how many matching records carry it. */
export const FacetCount = Type.Object({ value: Type.String(), count: Type.Integer() });
export type FacetCount = Static<typeof FacetCount>;

/** Counts over the whole matching set (not just the page), for the four facets DLHub shows. */
export const Facets = Type.Object({ type: Type.Array(FacetCount), domains: Type.Array(FacetCount), creators: Type.Array(FacetCount), year: Type.Array(FacetCount) });
export type Facets = Static<typeof Facets>;

/** A page of ranked results, the total, and facet counts over every match. */
export const SearchResult = Type.Object({
  query: Type.String(),
  advanced: Type.Boolean(),
  allVersions: Type.Boolean(),
  total: Type.Integer(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  hits: Type.Array(SearchHit),
  facets: Facets,
});
export type SearchResult = Static<typeof SearchResult>;

export const ExportRequest = Type.Object({ file: Type.String({ minLength: 1 }), allVersions: Opt(Type.Boolean()) }, strict);
export type ExportRequest = Static<typeof ExportRequest>;
export const ExportOutcome = Type.Object({ file: Type.String(), written: Type.Integer() });
export type ExportOutcome = Static<typeof ExportOutcome>;
export const ImportRequest = Type.Object({ file: Type.String({ minLength: 1 }) }, strict);
export type ImportRequest = Static<typeof ImportRequest>;

/** One problem with a metadata document: where, which rule, and how to fix it. */
export const MetadataProblem = Type.Object({
  field: Type.String({ description: 'a path such as datacite.creators[0].creatorName' }),
  rule: Type.String(),
  message: Type.String(),
  fix: Type.String(),
});
export type MetadataProblem = Static<typeof MetadataProblem>;

/** A line of an import file that was skipped, and why. */
export const ImportProblem = Type.Object({ line: Type.Integer({ minimum: 1 }), problems: Type.Array(MetadataProblem) });
export type ImportProblem = Static<typeof ImportProblem>;

/** Outcome of an import: counts, and each bad line with its problems (the first ones of them). */
export const ImportReport = Type.Object({ imported: Type.Integer(), skipped: Type.Integer(), errors: Type.Array(ImportProblem), ms: Type.Number() });
export type ImportReport = Static<typeof ImportReport>;

export const TaskRequest = Type.Object({ id: TaskId }, strict);
export type TaskRequest = Static<typeof TaskRequest>;
export const ResultRequest = Type.Object({ id: TaskId, waitMs: Opt(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'wait this long for an unfinished task' })) }, strict);
export type ResultRequest = Static<typeof ResultRequest>;
export const ListTasksRequest = Type.Object({ status: Opt(TaskStatus), limit: Opt(Type.Integer({ minimum: 1, maximum: 10_000 })) }, strict);
export type ListTasksRequest = Static<typeof ListTasksRequest>;

/** One warm worker, for `dlhub status`. */
export const WorkerStatus = Type.Object({
  servable: Type.String(),
  runtime: Type.String(),
  replica: Type.Integer(),
  state: Type.Union([Type.Literal('starting'), Type.Literal('idle'), Type.Literal('busy')]),
  calls: Type.Integer(),
  startedAt: Type.String(),
});
export type WorkerStatus = Static<typeof WorkerStatus>;

/** The engine's part of `status`: workers, queue, tasks and limits. */
export const EngineStatus = Type.Object({
  workers: Type.Array(WorkerStatus),
  queued: Type.Integer({ description: 'calls waiting for a worker or a concurrency slot' }),
  inFlight: Type.Integer({ description: 'calls being answered now' }),
  tasks: Type.Object(Object.fromEntries(TASK_STATUSES.map((s) => [s, Type.Integer()])) as Record<TaskStatus, ReturnType<typeof Type.Integer>>),
  limits: Type.Object({
    maxConcurrency: Type.Integer(),
    maxReplicasPerServable: Type.Integer(),
    maxReplicasTotal: Type.Integer(),
    maxBatchItems: Type.Integer(),
    rateLimit: Opt(Type.Object({ calls: Type.Integer(), perSeconds: Type.Number() })),
    timeoutMs: Opt(Type.Integer()),
  }),
});
export type EngineStatus = Static<typeof EngineStatus>;

/** `status`: workers, queue, tasks and limits from the engine, plus the memo cache's figures. */
export const Status = Type.Composite([EngineStatus, Type.Object({ cache: CacheStats })]);
export type Status = Static<typeof Status>;

/** `batchRun`: submit many calls at once (Globus Compute's batch_run); one task id per call, in order. */
export const BatchRunRequest = Type.Object({ tasks: Type.Array(RunRequest, { minItems: 1, maxItems: 100_000 }) }, strict);
export type BatchRunRequest = Static<typeof BatchRunRequest>;
export const BatchRunOutcome = Type.Object({ taskIds: Type.Array(Type.String()) });
export type BatchRunOutcome = Static<typeof BatchRunOutcome>;

/** `getBatchResult`: the state of many tasks; finished ones carry their outcome or their typed error. */
export const BatchResultRequest = Type.Object({ taskIds: Type.Array(TaskId, { minItems: 1, maxItems: 100_000 }), waitMs: Opt(Type.Integer({ minimum: 0, maximum: 3_600_000 })) }, strict);
export type BatchResultRequest = Static<typeof BatchResultRequest>;
export const BatchItem = Type.Object({
  status: TaskStatus,
  pending: Type.Boolean({ description: 'true until the task finished (Globus Compute get_batch_result)' }),
  result: Opt(RunOutcome),
  error: Opt(ErrorBody),
});
export type BatchItem = Static<typeof BatchItem>;
export const BatchResult = Type.Object({ results: Type.Record(Type.String(), BatchItem) });
export type BatchResult = Static<typeof BatchResult>;
