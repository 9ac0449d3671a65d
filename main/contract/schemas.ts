// Schemas of every request and answer, as data: TypeBox values that are JSON Schema at run time and
// TypeScript types through Static<>. Type-only imports keep this module free of engine code.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { InitResult } from '../servable/init.js';
import type { ArgumentType, ServableMetadata, MethodMetadata } from '../servable/metadata.js';
import type { SearchResult } from '../catalog/search.js';
import type { ImportReport } from '../catalog/transfer.js';
import type { EngineStatus, TaskInfo as EngineTaskInfo } from '../engine/task-types.js';

import { RUNTIME_CHOICES } from './runtimes.js';

export { RUNTIME_CHOICES };
const Opt = <T extends TSchema>(s: T) => Type.Optional(s);
const strict = { additionalProperties: false } as const;

/** A servable name as `dlhub build` writes it. */
export const ServableName = Type.String({ minLength: 1, maxLength: 128, description: 'servable name (dlhub.name)' });
/** A task id as `submitTask` returns it. */
export const TaskId = Type.String({ minLength: 1, maxLength: 128, description: 'task id' });

/**
 * A value at a door. JSON values travel as themselves; binary values use two reserved tagged
 * objects (an object whose only key is `$bytes` or `$ndarray`): bytes as `{"$bytes": "<base64>"}`,
 * an n-dimensional array as `{"$ndarray": {"dtype": "float64", "shape": [2, 3], "data": "<base64>"}}`
 * (C order, little endian). Nested anywhere in a value.
 */
export const Value = Type.Unknown({
  description:
    'Any JSON value. Bytes travel as {"$bytes": base64}; ndarrays as {"$ndarray": {"dtype", "shape", "data": base64 of the little-endian C-order elements}}.',
});

const Runtime = Type.Union(RUNTIME_CHOICES.map((r) => Type.Literal(r)) as [ReturnType<typeof Type.Literal<'docker'>>, ReturnType<typeof Type.Literal<'host'>>], { description: 'where the servable runs' });
const TimeoutMs = Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'per-call time limit in milliseconds' });
const Parameters = Type.Record(Type.String(), Type.Unknown(), { description: 'keyword arguments passed to the method' });

// Fields shared by a run and a submitted task: one input, or a batch of inputs, never both.
const callFields = {
  method: Opt(Type.String({ minLength: 1, maxLength: 128, description: 'method to call (default: run, else the first declared)' })),
  input: Opt(Value),
  inputs: Opt(Type.Array(Value, { description: 'a batch: one answer per input, in order' })),
  noCache: Opt(Type.Boolean({ description: 'skip the memo cache for this call' })),
  runtime: Opt(Runtime),
  parameters: Opt(Parameters),
  timeoutMs: Opt(TimeoutMs),
};
const oneOfInputs = { not: { required: ['input', 'inputs'] } };

const ErrorBody = Type.Object({
  code: Type.String(),
  name: Opt(Type.String()),
  message: Type.String(),
  hint: Opt(Type.String()),
  details: Opt(Type.Record(Type.String(), Type.Unknown())),
});

/** `runServable` / `submitTask`: a servable call. */
export const RunRequest = Type.Object({ name: ServableName, ...callFields }, { ...strict, ...oneOfInputs, description: 'give `input` or `inputs`, not both' });
export type RunRequest = Static<typeof RunRequest>;

/** What a run answered, and where it came from. */
export const RunOutcome = Type.Object({
  servable: Type.String(),
  method: Type.String(),
  runtime: Type.String({ description: 'the runtime that answered (docker, host, …)' }),
  output: Value,
  cached: Type.Union([Type.Boolean(), Type.Array(Type.Boolean())], { description: 'whether the memo cache answered (per input for a batch)' }),
  elapsedMs: Type.Number(),
  inferenceMs: Opt(Type.Number({ minimum: 0, description: "the model's own time in the runner for the inputs computed in this call, in ms (at most elapsedMs; 0 when the memo cache answered them all; absent from a runner built before it was sent)" })),
  errors: Opt(Type.Array(Type.Union([ErrorBody, Type.Null()]), { description: 'for a batch: per input, its typed error (its output is then null) or null' })),
  steps: Opt(Type.Array(Type.Object({
    step: Type.Integer({ minimum: 0 }),
    servable: Type.String(),
    method: Type.String(),
    runtime: Type.String(),
    cached: Type.Union([Type.Boolean(), Type.Array(Type.Boolean())]),
    elapsedMs: Type.Number(),
  }), { description: "a pipeline's answer: how each step went, in order" })),
});
export type RunOutcome = Static<typeof RunOutcome>;

/** The error envelope every door answers with. */
export const ErrorEnvelope = Type.Object({ error: ErrorBody });

const TaskStatus = Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);

/** One asynchronous task. */
export const TaskInfo = Type.Unsafe<EngineTaskInfo>(
  Type.Object({
    id: Type.String(),
    servable: Type.String(),
    method: Opt(Type.String()),
    status: TaskStatus,
    batch: Type.Boolean(),
    createdAt: Type.String(),
    startedAt: Opt(Type.String()),
    finishedAt: Opt(Type.String()),
    error: Opt(ErrorBody),
    restarts: Type.Integer(),
  }),
);

const ArgumentTypeSchema = Type.Unsafe<ArgumentType>(Type.Object({ type: Type.String() }, { description: 'a DLHub argument type, e.g. {"type": "ndarray", "shape": [null, 4]}' }));

/** `initServable`: write dlhub.json for a folder on the machine that runs the operation. */
export const InitRequest = Type.Object(
  {
    dir: Type.String({ minLength: 1, description: 'model folder (a path on the serving machine)' }),
    name: Opt(Type.String()),
    title: Opt(Type.String()),
    creators: Opt(Type.Array(Type.String())),
    description: Opt(Type.String()),
    domains: Opt(Type.Array(Type.String())),
    version: Opt(Type.String()),
    year: Opt(Type.Union([Type.Integer(), Type.String()])),
    license: Opt(Type.String()),
    type: Opt(Type.Union([Type.Literal('sklearn'), Type.Literal('python'), Type.Literal('keras'), Type.Literal('torch'), Type.Literal('onnx')])),
    model: Opt(Type.String()),
    module: Opt(Type.String()),
    function: Opt(Type.String()),
    methods: Opt(Type.Array(Type.String())),
    input: Opt(ArgumentTypeSchema),
    output: Opt(ArgumentTypeSchema),
    dependencies: Opt(Type.Record(Type.String(), Type.String())),
    deterministic: Opt(Type.Boolean()),
    network: Opt(Type.Boolean()),
    overwrite: Opt(Type.Boolean()),
  },
  strict,
);
export type InitRequest = Static<typeof InitRequest>;
export const InitResultSchema = Type.Unsafe<InitResult>(Type.Object({ path: Type.String(), metadata: Type.Record(Type.String(), Type.Unknown()), todo: Type.Array(Type.String()), detected: Type.Record(Type.String(), Type.Unknown()) }));

/** `buildServable`. */
export const BuildRequest = Type.Object(
  {
    dir: Type.String({ minLength: 1, description: 'folder with dlhub.json (a path on the serving machine)' }),
    force: Opt(Type.Boolean()),
    runtime: Opt(Runtime),
    baseImage: Opt(Type.String({ minLength: 1 })),
    acceptInstalled: Opt(Type.Boolean({ description: 'build a pinned package the base image cannot satisfy with the version it has; recorded in labels and describe' })),
  },
  strict,
);
export type BuildRequest = Static<typeof BuildRequest>;

export const BuildOutcome = Type.Object({
  name: Type.String(),
  version: Opt(Type.String()),
  contentKey: Type.String(),
  image: Opt(Type.Object({ tag: Type.String(), imageId: Type.String(), rebuilt: Type.Boolean(), seconds: Type.Number() })),
  imageSkipped: Opt(Type.String()),
});
/** What `dlhub build` did (`image` is set when an image exists for this content after the build). */
export interface BuildOutcome {
  name: string;
  version: string | undefined;
  contentKey: string;
  image: { tag: string; imageId: string; rebuilt: boolean; seconds: number } | undefined;
  imageSkipped: string | undefined;
}

/** Progress of long work, for a CLI bar or a UI indicator. */
export const ProgressEvent = Type.Object({ phase: Type.String(), step: Type.Number(), total: Type.Number(), message: Type.String() });
export type ProgressEvent = Static<typeof ProgressEvent>;

export const NameRequest = Type.Object({ name: ServableName }, strict);
export const Empty = Type.Object({}, strict);

/** `describeServable`: like DLHub's describe_servable plus describe_methods. */
export interface ServableDescription {
  name: string;
  metadata: ServableMetadata;
  methods: Record<string, MethodMetadata>;
  image: { tag: string; imageId: string } | undefined;
  deterministic: boolean;
  /** Pinned packages built with the base image's version instead (`dlhub build --accept-installed`). */
  substitutions?: { package: string; wanted: string; installed: string }[] | undefined;
  /** `catalog` when the servable is not built here and the description comes from its catalog record. */
  source?: 'local' | 'catalog' | undefined;
  /** Fields a DLHub service added to the record beyond its published schema, by dotted path. */
  serviceFields?: Record<string, unknown> | undefined;
}
export const ServableDescriptionSchema = Type.Unsafe<ServableDescription>(
  Type.Object({
    name: Type.String(),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    methods: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown())),
    image: Opt(Type.Object({ tag: Type.String(), imageId: Type.String() })),
    deterministic: Type.Boolean(),
    substitutions: Opt(Type.Array(Type.Object({ package: Type.String(), wanted: Type.String(), installed: Type.String() }))),
    source: Opt(Type.Union([Type.Literal('local'), Type.Literal('catalog')])),
    serviceFields: Opt(Type.Record(Type.String(), Type.Unknown())),
  }),
);

export const ServableSummary = Type.Object({
  name: Type.String(),
  version: Opt(Type.String()),
  type: Opt(Type.String()),
  title: Opt(Type.String()),
  methods: Type.Array(Type.String()),
  image: Opt(Type.String()),
  preparedAt: Type.String(),
});
/** One row of `dlhub ls`. */
export interface ServableSummary {
  name: string;
  version: string | undefined;
  type: string | undefined;
  title: string | undefined;
  methods: string[];
  image: string | undefined;
  preparedAt: string;
}

export const RemoveOutcome = Type.Object({ name: Type.String(), imageRemoved: Type.Boolean(), memoEntriesRemoved: Type.Integer() });
export type RemoveOutcome = Static<typeof RemoveOutcome>;

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
export const Removed = Type.Object({ removed: Type.Integer() });

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
export const SearchResultSchema = Type.Unsafe<SearchResult>(
  Type.Object({
    query: Type.String(),
    advanced: Type.Boolean(),
    allVersions: Type.Boolean(),
    total: Type.Integer(),
    page: Type.Integer(),
    pageSize: Type.Integer(),
    hits: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    facets: Type.Record(Type.String(), Type.Array(Type.Object({ value: Type.Union([Type.String(), Type.Number()]), count: Type.Integer() }))),
  }),
);

export const ExportRequest = Type.Object({ file: Type.String({ minLength: 1 }), allVersions: Opt(Type.Boolean()) }, strict);
export const ExportOutcome = Type.Object({ file: Type.String(), written: Type.Integer() });
export const ImportRequest = Type.Object({ file: Type.String({ minLength: 1 }) }, strict);
export const ImportReportSchema = Type.Unsafe<ImportReport>(
  Type.Object({ imported: Type.Integer(), skipped: Type.Integer(), errors: Type.Array(Type.Record(Type.String(), Type.Unknown())), ms: Type.Number() }),
);

export const TaskRequest = Type.Object({ id: TaskId }, strict);
export const ResultRequest = Type.Object({ id: TaskId, waitMs: Opt(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'wait this long for an unfinished task' })) }, strict);
export const ListTasksRequest = Type.Object({ status: Opt(TaskStatus), limit: Opt(Type.Integer({ minimum: 1, maximum: 10_000 })) }, strict);

/** `status`: workers, queue, tasks and limits from the engine, plus the memo cache's figures. */
export const StatusSchema = Type.Unsafe<EngineStatus & { cache: Static<typeof CacheStats> }>(
  Type.Object({
    workers: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    queued: Type.Integer(),
    inFlight: Type.Integer(),
    tasks: Type.Record(Type.String(), Type.Integer()),
    limits: Type.Record(Type.String(), Type.Unknown()),
    cache: CacheStats,
  }),
);

/** `batchRun`: submit many calls at once (Globus Compute's batch_run); one task id per call, in order. */
export const BatchRunRequest = Type.Object({ tasks: Type.Array(RunRequest, { minItems: 1, maxItems: 100_000 }) }, strict);
export const BatchRunOutcome = Type.Object({ taskIds: Type.Array(Type.String()) });

/** `getBatchResult`: the state of many tasks; finished ones carry their outcome or their typed error. */
export const BatchResultRequest = Type.Object({ taskIds: Type.Array(TaskId, { minItems: 1, maxItems: 100_000 }), waitMs: Opt(Type.Integer({ minimum: 0, maximum: 3_600_000 })) }, strict);
export const BatchItem = Type.Object({
  status: TaskStatus,
  pending: Type.Boolean({ description: 'true until the task finished (Globus Compute get_batch_result)' }),
  result: Opt(RunOutcome),
  error: Opt(ErrorBody),
});
export type BatchItem = Static<typeof BatchItem>;
export const BatchResult = Type.Object({ results: Type.Record(Type.String(), BatchItem) });

/** Schema of a list of T. */
export function listOf<T extends TSchema>(item: T) {
  return Type.Array(item);
}
