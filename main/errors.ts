/**
 * Typed errors. Each family has a stable `code` that scripts and the UI can switch on,
 * a message that names what was wrong, and a `hint` that says how to fix it.
 */
export type ErrorCode =
  | 'METADATA_INVALID'
  | 'SERVABLE_NOT_FOUND'
  | 'METHOD_NOT_FOUND'
  | 'INPUT_INVALID'
  | 'INPUT_TOO_LARGE'
  | 'MODEL_ERROR'
  | 'RUNNER_DIED'
  | 'PROTOCOL_ERROR'
  | 'RUNTIME_UNAVAILABLE'
  | 'BUILD_FAILED'
  | 'DETECT_FAILED'
  | 'CACHE_ERROR'
  | 'STORAGE_ERROR'
  | 'CATALOG_ERROR'
  | 'QUERY_INVALID'
  | 'IMPORT_INVALID'
  | 'PATH_UNSAFE'
  | 'LIMIT_EXCEEDED'
  | 'BUSY'
  | 'RATE_LIMITED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'TASK_NOT_FOUND'
  | 'CLUSTER_NOT_FOUND'
  | 'CLUSTER_FAILED'
  | 'SERVICE_UNAVAILABLE'
  | 'UNAUTHORIZED'
  | 'INTERNAL'
  | 'USAGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'REPOSITORY_INVALID';

/** Base of every error this project throws on purpose. */
export class DlhubError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  /** Plain object for `--json` output and the API's `{ error }` envelope. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, name: this.name, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

/** dlhub.json (or a catalog record) does not satisfy the schema. */
export class MetadataError extends DlhubError {
  readonly problems: readonly MetadataProblem[];
  constructor(message: string, problems: readonly MetadataProblem[], hint?: string) {
    super('METADATA_INVALID', message, { hint: hint ?? 'Edit dlhub.json to fix the fields listed, then run the command again.', details: { problems } });
    this.problems = problems;
  }
}

/** One schema rejection: which field, which rule, how to fix it. */
export interface MetadataProblem {
  /** JSON pointer-ish path such as `datacite.creators[0].creatorName`. */
  field: string;
  rule: string;
  message: string;
  fix: string;
}

/** A named servable or method does not exist. */
export class NotFoundError extends DlhubError {}

/** The caller's input does not match the method's declared type, or is too large. */
export class InputError extends DlhubError {}

/** The model itself raised: carries the Python exception type, message and traceback. */
export class ModelError extends DlhubError {
  readonly pythonType: string;
  readonly traceback: string;
  constructor(pythonType: string, message: string, traceback: string) {
    super('MODEL_ERROR', `${pythonType}: ${message}`, {
      hint: 'The servable raised this error; check the input against `dlhub describe NAME`.',
      details: { type: pythonType, traceback },
    });
    this.pythonType = pythonType;
    this.traceback = traceback;
  }
}

/** The worker process or container failed: died, spoke the protocol wrongly, or could not start. */
export class WorkerError extends DlhubError {}

/** No container engine or host Python is available for the chosen runtime. */
export class RuntimeUnavailableError extends DlhubError {
  constructor(message: string, hint: string) {
    super('RUNTIME_UNAVAILABLE', message, { hint });
  }
}

/** Image build or build-context preparation failed. */
export class BuildError extends DlhubError {}

/** Model-type detection in `dlhub init` could not decide. */
export class DetectError extends DlhubError {}

/** Memo cache or catalog storage problems. */
export class StorageError extends DlhubError {}

/** A search query could not be parsed; carries the position. */
export class QueryError extends DlhubError {
  readonly position: number;
  constructor(message: string, position: number, hint: string) {
    super('QUERY_INVALID', message, { hint, details: { position } });
    this.position = position;
  }
}

/** Wrong command-line usage, or a request whose parameters do not match the operation's schema. */
export class UsageError extends DlhubError {}

/** A path from metadata, a record, an archive or the network would leave its folder, or names a special file. */
export class PathError extends DlhubError {}

/** A limit refused the call (size, depth, rate, concurrency, time): the message names the limit and how to change it. */
export class LimitError extends DlhubError {}

/** An asynchronous task does not exist, was cancelled, or timed out. */
export class TaskError extends DlhubError {}

/** The local service or HTTP API could not be reached, refused the token, or failed inside. */
export class ServiceError extends DlhubError {}

/** A git repository to publish from cannot be cloned, or does not hold a servable (dlhub.json at its root). */
export class RepositoryError extends DlhubError {}

/**
 * The error registry: every code maps to the one class that throws it, so an error that crossed
 * a door (HTTP, IPC, gRPC, a stored task) is rebuilt as the same class on the far side.
 */
const ERROR_CLASSES: Record<ErrorCode, new (code: ErrorCode, message: string, opts: { hint?: string; details?: Record<string, unknown> }) => DlhubError> = {
  METADATA_INVALID: DlhubError,
  SERVABLE_NOT_FOUND: NotFoundError,
  METHOD_NOT_FOUND: NotFoundError,
  INPUT_INVALID: InputError,
  INPUT_TOO_LARGE: InputError,
  MODEL_ERROR: DlhubError,
  RUNNER_DIED: WorkerError,
  PROTOCOL_ERROR: WorkerError,
  RUNTIME_UNAVAILABLE: DlhubError,
  BUILD_FAILED: BuildError,
  DETECT_FAILED: DetectError,
  CACHE_ERROR: StorageError,
  STORAGE_ERROR: StorageError,
  CATALOG_ERROR: StorageError,
  QUERY_INVALID: DlhubError,
  IMPORT_INVALID: DlhubError,
  PATH_UNSAFE: PathError,
  LIMIT_EXCEEDED: LimitError,
  BUSY: LimitError,
  RATE_LIMITED: LimitError,
  TIMEOUT: LimitError,
  CANCELLED: TaskError,
  TASK_NOT_FOUND: TaskError,
  CLUSTER_NOT_FOUND: NotFoundError,
  CLUSTER_FAILED: WorkerError,
  SERVICE_UNAVAILABLE: ServiceError,
  UNAUTHORIZED: ServiceError,
  INTERNAL: DlhubError,
  USAGE: UsageError,
  NOT_FOUND: NotFoundError,
  METHOD_NOT_ALLOWED: UsageError,
  FORBIDDEN: ServiceError,
  CONFLICT: UsageError,
  REPOSITORY_INVALID: RepositoryError,
};

/** HTTP status of each code, for the local service and the HTTP API (one map, used by every HTTP door). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  METADATA_INVALID: 400,
  SERVABLE_NOT_FOUND: 404,
  METHOD_NOT_FOUND: 404,
  INPUT_INVALID: 400,
  INPUT_TOO_LARGE: 413,
  MODEL_ERROR: 422,
  RUNNER_DIED: 502,
  PROTOCOL_ERROR: 502,
  RUNTIME_UNAVAILABLE: 503,
  BUILD_FAILED: 500,
  DETECT_FAILED: 400,
  CACHE_ERROR: 500,
  STORAGE_ERROR: 500,
  CATALOG_ERROR: 500,
  QUERY_INVALID: 400,
  IMPORT_INVALID: 400,
  PATH_UNSAFE: 400,
  LIMIT_EXCEEDED: 413,
  // The process is at its concurrency cap: the same call succeeds later (the HTTP door adds Retry-After).
  BUSY: 503,
  RATE_LIMITED: 429,
  TIMEOUT: 504,
  CANCELLED: 409,
  TASK_NOT_FOUND: 404,
  CLUSTER_NOT_FOUND: 404,
  CLUSTER_FAILED: 502,
  SERVICE_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  INTERNAL: 500,
  USAGE: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // The caller is known but may not do this (another user's name, a group they do not own).
  FORBIDDEN: 403,
  // The request contradicts what is stored (a version already taken with other content).
  CONFLICT: 409,
  // The repository named cannot be cloned or holds no servable.
  REPOSITORY_INVALID: 400,
};

/** The wire shape of an error at every door: `DlhubError.toJSON()`. */
export interface ErrorJSON {
  code: string;
  name?: string | undefined;
  message: string;
  hint?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

/** Did a wait for a task's result run out while the task goes on (TIMEOUT with limit "wait"), rather than the task failing? */
export function isWaitTimeout(err: unknown): boolean {
  return err instanceof DlhubError && err.code === 'TIMEOUT' && err.details?.['limit'] === 'wait';
}

/** Is `code` one this project defines? */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CLASSES, code);
}

/** Rebuild a typed error from its wire shape, as the same class (ModelError keeps its Python type and traceback). */
export function errorFromJSON(json: ErrorJSON): DlhubError {
  const details = json.details;
  const code: ErrorCode = isErrorCode(json.code) ? json.code : 'INTERNAL';
  if (code === 'MODEL_ERROR') {
    const type = typeof details?.['type'] === 'string' ? details['type'] : 'Exception';
    const traceback = typeof details?.['traceback'] === 'string' ? details['traceback'] : '';
    const prefix = `${type}: `;
    const err = new ModelError(type, json.message.startsWith(prefix) ? json.message.slice(prefix.length) : json.message, traceback);
    // Extra details (a pipeline's step, say) survive the door along with the Python type and traceback.
    return details ? Object.assign(err, { details: { ...details, type, traceback } }) : err;
  }
  if (code === 'METADATA_INVALID') {
    const problems = Array.isArray(details?.['problems']) ? (details['problems'] as MetadataProblem[]) : [];
    return new MetadataError(json.message, problems, json.hint);
  }
  if (code === 'QUERY_INVALID') {
    const position = typeof details?.['position'] === 'number' ? details['position'] : 0;
    return new QueryError(json.message, position, json.hint ?? '');
  }
  if (code === 'RUNTIME_UNAVAILABLE') {
    const err = new RuntimeUnavailableError(json.message, json.hint ?? '');
    return details ? Object.assign(err, { details }) : err;
  }
  const Cls = ERROR_CLASSES[code];
  return new Cls(code, json.message, { ...(json.hint !== undefined ? { hint: json.hint } : {}), ...(details ? { details } : {}) });
}

/** Any thrown value as a typed error: DlhubErrors pass through, anything else becomes INTERNAL with its message. */
export function toDlhubError(err: unknown): DlhubError {
  if (err instanceof DlhubError) return err;
  return new DlhubError('INTERNAL', `Internal error: ${errorMessage(err)}`, {
    hint: 'This is a bug in DLHub Desktop; please report it with the command that caused it.',
    cause: err,
  });
}

/** Narrow an unknown catch value to a message without losing typed errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
