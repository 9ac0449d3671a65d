// The operations table: every operation the API offers, as data. Doors (the local service, the
// HTTP API, the CLI's service proxy, the SDK's HTTP transport) are generated from it; none lists
// operations by hand.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ErrorCode } from '../errors.js';
import * as S from './schemas.js';
import type { ProgressEvent } from './schemas.js';
import { UploadOutcome, UploadRequest } from './upload.js';
import { RuntimeAvailability } from './runtimes.js';
import { ClusterInfo, ClusterName, ClusterReport, ClusterSpec } from './clusters.js';
import { DoctorReport, FitReport } from './hardware.js';
import * as H from './hub.js';
import { GrpcStatus, StartGrpcRequest } from './grpc.js';
import { PublishRepositoryOutcome, PublishRepositoryRequest } from './hub-repository.js';

/** How an operation answers: once, with progress events before the answer, or as a stream of items. */
export type OperationKind = 'answer' | 'progress' | 'stream';

/** One operation of the contract. */
export interface OperationSpec {
  summary: string;
  kind: OperationKind;
  request: TSchema;
  response: TSchema;
  /** Codes this operation may raise besides USAGE (bad request), INTERNAL and the door's own. */
  errors: readonly ErrorCode[];
  /** HTTP method and path; `{name}` and `{id}` come from the request's field of that name. */
  http: { method: 'GET' | 'POST' | 'DELETE'; path: string };
  /**
   * Where the CLI performs it when a service runs: `service` sends it there (warm workers, one
   * cache); `local` keeps it in the CLI's process because it reads the caller's folders or files.
   */
  cli: 'service' | 'local';
}

const RUN_ERRORS = ['SERVABLE_NOT_FOUND', 'CLUSTER_NOT_FOUND', 'CLUSTER_FAILED', 'METHOD_NOT_FOUND', 'INPUT_INVALID', 'INPUT_TOO_LARGE', 'MODEL_ERROR', 'RUNNER_DIED', 'PROTOCOL_ERROR', 'RUNTIME_UNAVAILABLE', 'LIMIT_EXCEEDED', 'RATE_LIMITED', 'TIMEOUT', 'CACHE_ERROR'] as const satisfies readonly ErrorCode[];

/** Every operation, by name. */
export const OPERATIONS = {
  initServable: {
    summary: 'Describe a model folder as a servable: detect its type and write dlhub.json',
    kind: 'answer', request: S.InitRequest, response: S.InitResult,
    errors: ['DETECT_FAILED', 'METADATA_INVALID', 'PATH_UNSAFE'],
    http: { method: 'POST', path: '/v1/servables/init' }, cli: 'local',
  },
  buildServable: {
    summary: 'Prepare a servable folder and build its image (progress events on in-process doors)',
    kind: 'progress', request: S.BuildRequest, response: S.BuildOutcome,
    errors: ['METADATA_INVALID', 'BUILD_FAILED', 'RUNTIME_UNAVAILABLE', 'PATH_UNSAFE'],
    http: { method: 'POST', path: '/v1/servables/build' }, cli: 'local',
  },
  runServable: {
    summary: 'Run a servable on one input or a batch of inputs and answer its output',
    kind: 'answer', request: S.RunRequest, response: S.RunOutcome, errors: [...RUN_ERRORS, 'BUSY'],
    http: { method: 'POST', path: '/v1/servables/{name}/run' }, cli: 'service',
  },
  describeServable: {
    summary: 'Full metadata and methods of a local servable',
    kind: 'answer', request: S.NameRequest, response: S.ServableDescription, errors: ['SERVABLE_NOT_FOUND'],
    http: { method: 'GET', path: '/v1/servables/{name}' }, cli: 'service',
  },
  listServables: {
    summary: 'Every servable prepared on this machine',
    kind: 'answer', request: S.Empty, response: Type.Array(S.ServableSummary), errors: [],
    http: { method: 'GET', path: '/v1/servables' }, cli: 'service',
  },
  listRuntimes: {
    summary: 'The runtimes this version knows, most preferred first: whether each can run servables now, why not, and its version',
    kind: 'answer', request: S.Empty, response: Type.Array(RuntimeAvailability), errors: [],
    http: { method: 'GET', path: '/v1/runtimes' }, cli: 'service',
  },
  addCluster: {
    summary: 'Add (or replace) a cluster batches can be sent to with `on`',
    kind: 'answer', request: ClusterSpec, response: ClusterInfo, errors: [],
    http: { method: 'POST', path: '/v1/clusters' }, cli: 'service',
  },
  listClusters: {
    summary: 'The clusters added, with whether each answers now and its partitions',
    kind: 'answer', request: S.Empty, response: Type.Array(Type.Object({ cluster: ClusterInfo, report: ClusterReport })), errors: [],
    http: { method: 'GET', path: '/v1/clusters' }, cli: 'service',
  },
  removeCluster: {
    summary: 'Forget a cluster; refused (CONFLICT) while a batch runs there',
    kind: 'answer', request: Type.Object({ name: ClusterName }, { additionalProperties: false }), response: Type.Object({ removed: Type.Boolean() }), errors: ['CLUSTER_NOT_FOUND', 'CONFLICT'],
    http: { method: 'DELETE', path: '/v1/clusters/{name}' }, cli: 'service',
  },
  doctor: {
    summary: 'What this machine offers servables: CPUs, RAM, free disk, NVIDIA GPUs and the runtimes with their versions; and each cluster added: whether it answers, its partitions and GPUs',
    kind: 'answer', request: S.Empty, response: DoctorReport, errors: [],
    http: { method: 'GET', path: '/v1/doctor' }, cli: 'service',
  },
  fitServable: {
    summary: 'Whether a local or catalog servable can run on this machine and on each cluster added (its declared GPU, memory and CPUs), and why not',
    kind: 'answer', request: S.NameRequest, response: FitReport, errors: ['SERVABLE_NOT_FOUND'],
    http: { method: 'GET', path: '/v1/servables/{name}/fit' }, cli: 'service',
  },
  removeServable: {
    summary: 'Remove a servable: its files, its image and its cached results',
    kind: 'answer', request: S.NameRequest, response: S.RemoveOutcome, errors: ['SERVABLE_NOT_FOUND'],
    http: { method: 'DELETE', path: '/v1/servables/{name}' }, cli: 'service',
  },
  cacheStats: {
    summary: 'Memo cache figures',
    kind: 'answer', request: S.Empty, response: S.CacheStats, errors: ['CACHE_ERROR'],
    http: { method: 'GET', path: '/v1/cache' }, cli: 'service',
  },
  cacheClear: {
    summary: 'Empty the memo cache, or one servable\'s part of it',
    kind: 'answer', request: S.CacheClearRequest, response: S.Removed, errors: ['CACHE_ERROR'],
    http: { method: 'DELETE', path: '/v1/cache' }, cli: 'service',
  },
  searchCatalog: {
    summary: 'Search the catalog offline: free text, or DLHub field queries with advanced',
    kind: 'answer', request: S.SearchRequest, response: S.SearchResult, errors: ['QUERY_INVALID', 'CATALOG_ERROR', 'LIMIT_EXCEEDED'],
    http: { method: 'GET', path: '/v1/search' }, cli: 'service',
  },
  exportCatalog: {
    summary: 'Write the catalog as JSON Lines to a file on the serving machine',
    kind: 'answer', request: S.ExportRequest, response: S.ExportOutcome, errors: ['CATALOG_ERROR', 'PATH_UNSAFE'],
    http: { method: 'POST', path: '/v1/catalog/export' }, cli: 'local',
  },
  importCatalog: {
    summary: 'Read a JSON Lines catalog from a file on the serving machine; bad lines reported and skipped',
    kind: 'progress', request: S.ImportRequest, response: S.ImportReport, errors: ['IMPORT_INVALID', 'CATALOG_ERROR', 'PATH_UNSAFE'],
    http: { method: 'POST', path: '/v1/catalog/import' }, cli: 'local',
  },
  submitTask: {
    summary: 'Submit a servable call as an asynchronous task; answers its id at once',
    kind: 'answer', request: S.RunRequest, response: S.TaskInfo, errors: ['SERVABLE_NOT_FOUND', 'METHOD_NOT_FOUND', 'INPUT_INVALID', 'INPUT_TOO_LARGE', 'LIMIT_EXCEEDED', 'RATE_LIMITED'],
    http: { method: 'POST', path: '/v1/servables/{name}/tasks' }, cli: 'service',
  },
  getTask: {
    summary: 'The state of one task',
    kind: 'answer', request: S.TaskRequest, response: S.TaskInfo, errors: ['TASK_NOT_FOUND'],
    http: { method: 'GET', path: '/v1/tasks/{id}' }, cli: 'service',
  },
  getResult: {
    summary: 'The outcome of a finished task, or its typed error re-raised (waits up to waitMs)',
    kind: 'answer', request: S.ResultRequest, response: S.RunOutcome, errors: ['TASK_NOT_FOUND', 'CANCELLED', ...RUN_ERRORS],
    http: { method: 'GET', path: '/v1/tasks/{id}/result' }, cli: 'service',
  },
  cancelTask: {
    summary: 'Cancel a pending or running task',
    kind: 'answer', request: S.TaskRequest, response: S.TaskInfo, errors: ['TASK_NOT_FOUND'],
    http: { method: 'DELETE', path: '/v1/tasks/{id}' }, cli: 'service',
  },
  listTasks: {
    summary: 'Recent tasks, newest first',
    kind: 'answer', request: S.ListTasksRequest, response: Type.Array(S.TaskInfo), errors: [],
    http: { method: 'GET', path: '/v1/tasks' }, cli: 'service',
  },
  status: {
    summary: 'Workers, queue, tasks, limits and the memo cache',
    kind: 'answer', request: S.Empty, response: S.Status, errors: [],
    http: { method: 'GET', path: '/v1/status' }, cli: 'service',
  },
  batchRun: {
    summary: 'Submit many calls at once; one task id per call, in order',
    kind: 'answer', request: S.BatchRunRequest, response: S.BatchRunOutcome, errors: ['SERVABLE_NOT_FOUND', 'METHOD_NOT_FOUND', 'INPUT_INVALID', 'INPUT_TOO_LARGE', 'LIMIT_EXCEEDED', 'RATE_LIMITED'],
    http: { method: 'POST', path: '/v1/batches' }, cli: 'service',
  },
  getBatchResult: {
    summary: 'The state of many tasks; finished ones carry their outcome or typed error',
    kind: 'answer', request: S.BatchResultRequest, response: S.BatchResult, errors: [],
    http: { method: 'POST', path: '/v1/batches/results' }, cli: 'service',
  },
  watchTasks: {
    summary: 'Task state changes as they happen: one TaskInfo per change, until the caller stops reading (NDJSON over HTTP)',
    kind: 'stream', request: S.Empty, response: S.TaskInfo, errors: [],
    http: { method: 'GET', path: '/v1/tasks/watch' }, cli: 'service',
  },
  uploadFolder: {
    summary: 'Upload a folder\'s files into a new folder under $DLHUB_HOME/staging, for initServable and buildServable over a network door (a folder dropped on the window in browser mode)',
    kind: 'answer', request: UploadRequest, response: UploadOutcome, errors: ['PATH_UNSAFE', 'LIMIT_EXCEEDED', 'INPUT_INVALID'],
    http: { method: 'POST', path: '/v1/uploads' }, cli: 'service',
  },
  hubStatus: {
    summary: 'The hub this desktop uses: whether it answers, who is signed in, the last catalog sync and the outbox\'s size',
    kind: 'answer', request: S.Empty, response: H.HubStatus, errors: [],
    http: { method: 'GET', path: '/v1/hub' }, cli: 'local',
  },
  hubLogin: {
    summary: 'Sign in to a hub (user and password, client id and secret, or a token); the token is kept in $DLHUB_HOME/credentials, mode 0600',
    kind: 'answer', request: H.HubLoginRequest, response: H.HubIdentity, errors: ['UNAUTHORIZED', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED'],
    http: { method: 'POST', path: '/v1/hub/login' }, cli: 'local',
  },
  hubLogout: {
    summary: 'Sign out: revoke the token on the hub and delete the credentials file',
    kind: 'answer', request: S.Empty, response: H.HubLogoutOutcome, errors: [],
    http: { method: 'POST', path: '/v1/hub/logout' }, cli: 'local',
  },
  hubWhoami: {
    summary: 'Who this desktop is on the hub, and their groups',
    kind: 'answer', request: S.Empty, response: H.HubIdentity, errors: ['UNAUTHORIZED', 'SERVICE_UNAVAILABLE'],
    http: { method: 'GET', path: '/v1/hub/whoami' }, cli: 'local',
  },
  publishServable: {
    summary: 'Publish a local servable to the hub: push its image, then its metadata with the image digest; queued in the outbox when the hub or its registry cannot be reached',
    kind: 'progress', request: H.PublishRequest, response: H.HubWorkOutcome, errors: ['SERVABLE_NOT_FOUND', 'UNAUTHORIZED', 'FORBIDDEN', 'CONFLICT', 'RUNTIME_UNAVAILABLE'],
    http: { method: 'POST', path: '/v1/servables/{name}/publish' }, cli: 'local',
  },
  publishRepository: {
    summary: 'Publish from a git repository (a URL, or a local folder) with dlhub.json at its root: cloned shallowly at a ref, built, then published with the repository and commit recorded; queued in the outbox when the hub cannot be reached',
    kind: 'progress', request: PublishRepositoryRequest, response: PublishRepositoryOutcome, errors: ['REPOSITORY_INVALID', 'PATH_UNSAFE', 'METADATA_INVALID', 'BUILD_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'CONFLICT', 'RUNTIME_UNAVAILABLE', 'LIMIT_EXCEEDED'],
    http: { method: 'POST', path: '/v1/hub/publish-repository' }, cli: 'local',
  },
  shareServable: {
    summary: 'Share a published servable with a group on the hub; queued in the outbox when the hub cannot be reached',
    kind: 'answer', request: H.ShareRequest, response: H.HubWorkOutcome, errors: ['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND'],
    http: { method: 'POST', path: '/v1/servables/{name}/share' }, cli: 'local',
  },
  pullServable: {
    summary: 'Pull OWNER/NAME[@VERSION] from the hub: its metadata, its image by digest (verified), then register it here to run offline',
    kind: 'progress', request: H.PullRequest, response: H.PullOutcome, errors: ['UNAUTHORIZED', 'NOT_FOUND', 'SERVICE_UNAVAILABLE', 'CONFLICT', 'RUNTIME_UNAVAILABLE'],
    http: { method: 'POST', path: '/v1/hub/pull' }, cli: 'local',
  },
  syncCatalog: {
    summary: 'Bring the catalog up to date with the hub\'s change feed since the last sync (records added, withdrawn ones removed); each page lands whole or not at all',
    kind: 'answer', request: S.Empty, response: H.SyncOutcome, errors: ['UNAUTHORIZED', 'SERVICE_UNAVAILABLE', 'CATALOG_ERROR'],
    http: { method: 'POST', path: '/v1/hub/sync' }, cli: 'local',
  },
  listOutbox: {
    summary: 'Publishes and shares waiting for the hub, and those sent or failed, newest first',
    kind: 'answer', request: S.Empty, response: H.OutboxList, errors: [],
    http: { method: 'GET', path: '/v1/hub/outbox' }, cli: 'local',
  },
  drainOutbox: {
    summary: 'Send what waits in the outbox now (each at most once on the hub, by its idempotency key)',
    kind: 'answer', request: S.Empty, response: H.OutboxList, errors: [],
    http: { method: 'POST', path: '/v1/hub/outbox/drain' }, cli: 'local',
  },
  grpcStatus: {
    summary: 'Whether the instruments\' gRPC door listens, on which address, and with TLS or not',
    kind: 'answer', request: S.Empty, response: GrpcStatus, errors: [],
    http: { method: 'GET', path: '/v1/grpc' }, cli: 'service',
  },
  startGrpc: {
    summary: 'Start the instruments\' gRPC door on an address (loopback unless a certificate makes it TLS; over a network door loopback only)',
    kind: 'answer', request: StartGrpcRequest, response: GrpcStatus, errors: ['CONFLICT', 'FORBIDDEN', 'SERVICE_UNAVAILABLE', 'PATH_UNSAFE'],
    http: { method: 'POST', path: '/v1/grpc/start' }, cli: 'service',
  },
  stopGrpc: {
    summary: 'Stop the instruments\' gRPC door (streams in flight are closed)',
    kind: 'answer', request: S.Empty, response: GrpcStatus, errors: [],
    http: { method: 'POST', path: '/v1/grpc/stop' }, cli: 'service',
  },
} as const satisfies Record<string, OperationSpec>;

/** Name of an operation. */
export type OpName = keyof typeof OPERATIONS;
/** Every operation name, in table order. */
export const OP_NAMES = Object.keys(OPERATIONS) as OpName[];
/** The request an operation takes. */
export type OpRequest<K extends OpName> = Static<(typeof OPERATIONS)[K]['request']>;
/** What an operation answers. */
export type OpResponse<K extends OpName> = Static<(typeof OPERATIONS)[K]['response']>;

/** Names of the operations of kind `stream`: they answer a sequence of items rather than one value. */
export type StreamOpName = { [K in OpName]: (typeof OPERATIONS)[K]['kind'] extends 'stream' ? K : never }[OpName];

/** One item of a stream operation (its row's `response` schema is the schema of one item). */
export type OpItem<K extends OpName> = OpResponse<K>;

/** What calling an operation gives: its answer, or for a stream operation the items as they come. */
export type OpResult<K extends OpName> = K extends StreamOpName ? AsyncIterable<OpItem<K>> : Promise<OpResponse<K>>;

/**
 * What a door hands an operation besides its request: the caller's cancel signal (a closed
 * connection aborts it), a listener for progress events, and whether the caller came over the
 * network (HTTP, browser mode, gRPC) rather than with the user's own reach (SDK, CLI, Unix socket, IPC).
 */
export interface CallContext {
  signal?: AbortSignal | undefined;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
  remote?: boolean | undefined;
}

/**
 * Every operation of the contract as a method: what the composition root (`Dlhub`) implements,
 * what each door calls and what the generated client proxy offers. Derived from the operations
 * table, so a new row is a type error until served.
 */
export type Operations = {
  [K in OpName]: (req: OpRequest<K>, ctx?: CallContext) => OpResult<K>;
};
