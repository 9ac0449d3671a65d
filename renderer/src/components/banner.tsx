import { useApp } from './context.js';

/** The service-down and signed-out banner; while down the connection store retries by itself. */
export function Banner() {
  const status = useApp((s) => s.connection, (c) => c.status);
  const retry = useApp((s) => s.connection, (c) => c.retryInSeconds);
  const check = useApp((s) => s.connection, (c) => c.check);
  if (status === 'down') {
    return (
      <div className="banner down" role="status" aria-live="polite">
        <span>The DLHub service is not answering. Trying again in {retry} s…</span>
        <button type="button" onClick={() => void check()}>Try now</button>
      </div>
    );
  }
  if (status === 'signed-out') {
    return (
      <div className="banner signed-out" role="alert">
        This page is not signed in. Open the address that <code>npm start</code> (or <code>dlhub serve --ui</code>) printed, the one with <code>?token=</code>.
      </div>
    );
  }
  return null;
}
