import type { ShownError } from '../lib/errors.js';

/** An error as the window shows it: what happened, and what to try. */
export function ErrorBox({ error, title }: { error: ShownError; title?: string }) {
  // A missing service is the banner's to say (it retries by itself), not every screen's.
  if (error.code === 'SERVICE_UNAVAILABLE') return null;
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <p>{error.message}</p>
      {error.hint ? <p className="hint">Try: {error.hint}</p> : null}
      <p className="code">{error.code}</p>
    </div>
  );
}
