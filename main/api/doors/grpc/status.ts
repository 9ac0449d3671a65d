import { status as Status, type ServiceError, Metadata } from '@grpc/grpc-js';
import type { DlhubError, ErrorCode } from '../../../errors.js';

/** The gRPC status of each error code (INTERNAL for any not listed): what an instrument's client switches on. */
export const GRPC_STATUS: Partial<Record<ErrorCode, Status>> = {
  METADATA_INVALID: Status.FAILED_PRECONDITION,
  SERVABLE_NOT_FOUND: Status.NOT_FOUND,
  METHOD_NOT_FOUND: Status.NOT_FOUND,
  INPUT_INVALID: Status.INVALID_ARGUMENT,
  INPUT_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  MODEL_ERROR: Status.INTERNAL,
  RUNNER_DIED: Status.INTERNAL,
  PROTOCOL_ERROR: Status.INTERNAL,
  RUNTIME_UNAVAILABLE: Status.UNAVAILABLE,
  BUILD_FAILED: Status.INTERNAL,
  DETECT_FAILED: Status.INVALID_ARGUMENT,
  CACHE_ERROR: Status.INTERNAL,
  STORAGE_ERROR: Status.INTERNAL,
  CATALOG_ERROR: Status.INTERNAL,
  QUERY_INVALID: Status.INVALID_ARGUMENT,
  IMPORT_INVALID: Status.INVALID_ARGUMENT,
  PATH_UNSAFE: Status.PERMISSION_DENIED,
  LIMIT_EXCEEDED: Status.RESOURCE_EXHAUSTED,
  // The engine is at its concurrency limit: try again shortly.
  BUSY: Status.UNAVAILABLE,
  RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  TIMEOUT: Status.DEADLINE_EXCEEDED,
  CANCELLED: Status.CANCELLED,
  TASK_NOT_FOUND: Status.NOT_FOUND,
  SERVICE_UNAVAILABLE: Status.UNAVAILABLE,
  UNAUTHORIZED: Status.UNAUTHENTICATED,
  INTERNAL: Status.INTERNAL,
  USAGE: Status.INVALID_ARGUMENT,
  NOT_FOUND: Status.NOT_FOUND,
  METHOD_NOT_ALLOWED: Status.UNIMPLEMENTED,
  FORBIDDEN: Status.PERMISSION_DENIED,
  CONFLICT: Status.FAILED_PRECONDITION,
  REPOSITORY_INVALID: Status.INVALID_ARGUMENT,
};

/** The name of a gRPC status (`INTERNAL`), as answers in frames spell it. */
export function statusName(code: Status): string {
  return Status[code] ?? 'UNKNOWN';
}

/**
 * A typed error as a gRPC status: the code from the table, the message as details, and the
 * DLHub code and hint as trailing metadata for clients that want them.
 */
export function toGrpcError(err: DlhubError, code: Status = GRPC_STATUS[err.code] ?? Status.INTERNAL): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('dlhub-code', err.code);
  if (err.hint) metadata.set('dlhub-hint', err.hint.replace(/[^\x20-\x7e]/g, '?'));
  return { code, details: err.message, metadata };
}
