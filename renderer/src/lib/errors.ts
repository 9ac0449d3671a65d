// Errors as the window shows them: what happened, and what to try.

/** An error ready to show: its code, message, hint and details (e.g. a query error's position). */
export interface ShownError {
  code: string;
  message: string;
  hint?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

/** Any thrown value as a ShownError. */
export function shownError(err: unknown): ShownError {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; hint?: unknown; details?: unknown };
    return {
      code: typeof e.code === 'string' ? e.code : 'INTERNAL',
      message: typeof e.message === 'string' ? e.message : JSON.stringify(err),
      hint: typeof e.hint === 'string' ? e.hint : undefined,
      details: typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : undefined,
    };
  }
  return { code: 'INTERNAL', message: String(err) };
}

/** Did the call fail because the service is not there (down, or restarting)? */
export function isUnreachable(e: ShownError): boolean {
  return e.code === 'SERVICE_UNAVAILABLE';
}
