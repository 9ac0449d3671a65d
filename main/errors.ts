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
  | 'USAGE';

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

/** Wrong command-line usage. */
export class UsageError extends DlhubError {}

/** Narrow an unknown catch value to a message without losing typed errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
