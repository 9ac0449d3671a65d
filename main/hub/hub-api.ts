// The hub's HTTP API as the desktop calls it (hub/README.md): JSON over HTTP, the door kit's
// `{result}`/`{error}` envelope rebuilt into typed errors. A hub that cannot be reached (refused,
// reset, timed out, a gateway's 5xx) is SERVICE_UNAVAILABLE, which the outbox waits out.
import { ServiceError, errorFromJSON, toDlhubError, type DlhubError, type ErrorJSON } from '../errors.js';
import type { HubRequest, HubResponse } from '../../hub/contract.js';

/** How long one call to the hub may take before it counts as unreachable. */
const CALL_TIMEOUT_MS = 15_000;

/** Codes that mean "try again later": the hub or registry is away, busy or slow. */
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED', 'BUSY']);

/** Is this error worth waiting out (queue and retry), rather than a refusal to report? */
export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(toDlhubError(err).code);
}

/** The error for a hub that did not answer; never carries a header or a token. */
export function unreachable(hub: string, why: string): DlhubError {
  return new ServiceError('SERVICE_UNAVAILABLE', `The hub at ${hub} cannot be reached (${why}).`, {
    hint: 'Check the network and the hub address (`dlhub whoami`); publishes and shares wait in the outbox (`dlhub outbox`).',
  });
}

function causeOf(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer in ${CALL_TIMEOUT_MS / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? 'unknown';
}

/** One call to the hub: method, path (with query), optional JSON body and bearer token. */
export async function hubCall<T>(hub: string, method: string, path: string, opts: { body?: unknown; token?: string | undefined; signal?: AbortSignal | undefined; bare?: boolean } = {}): Promise<T> {
  const signals = [AbortSignal.timeout(CALL_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${hub}${path}`, { method, headers, body: opts.body === undefined ? null : JSON.stringify(opts.body), signal: AbortSignal.any(signals) });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw unreachable(hub, causeOf(err));
  }
  const text = await res.text().catch(() => '');
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    // A proxy's or gateway's page rather than the hub's answer.
    if (res.status >= 500) throw unreachable(hub, `HTTP ${res.status}`);
    throw new ServiceError('SERVICE_UNAVAILABLE', `${hub} answered HTTP ${res.status} with something that is not the hub's API.`, { hint: 'Check the hub address: it is the URL `dlhub-hub serve` prints.' });
  }
  const e = envelope as { result?: unknown; error?: ErrorJSON } | null;
  if (typeof e === 'object' && e !== null && e.error) throw errorFromJSON(e.error);
  if (opts.bare && res.ok) return envelope as T;
  if (typeof e !== 'object' || e === null || !('result' in e)) {
    if (res.status >= 500) throw unreachable(hub, `HTTP ${res.status}`);
    throw new ServiceError('SERVICE_UNAVAILABLE', `${hub} answered something that is not the hub's API (no "result" or "error").`, { hint: 'Check the hub address: it is the URL `dlhub-hub serve` prints.' });
  }
  return e.result as T;
}

const enc = encodeURIComponent;

/** The hub's operations the desktop uses, for one hub address and (when signed in) a token. */
export function hubApi(hub: string, token?: string, signal?: AbortSignal) {
  const call = <T>(method: string, path: string, body?: unknown, bare = false): Promise<T> => hubCall<T>(hub, method, path, { body, token, signal, bare });
  return {
    login: (req: HubRequest<'login'>) => call<HubResponse<'login'>>('POST', '/v1/auth/token', req),
    logout: () => call<HubResponse<'logout'>>('DELETE', '/v1/auth/token'),
    whoami: () => call<HubResponse<'whoami'>>('GET', '/v1/whoami'),
    registryAddress: () => call<HubResponse<'registryAddress'>>('GET', '/v1/registry'),
    registryToken: async (scope: string): Promise<string> => {
      const t = await call<{ token?: string; access_token?: string } | undefined>('GET', `/v1/registry/token?service=dlhub-registry&scope=${enc(scope)}`, undefined, true);
      return t?.token ?? t?.access_token ?? '';
    },
    publish: (req: HubRequest<'publish'>) => call<HubResponse<'publish'>>('POST', '/v1/servables', req),
    share: (owner: string, name: string, group: string) => call<HubResponse<'share'>>('POST', `/v1/servables/${enc(owner)}/${enc(name)}/share`, { group }),
    getServable: (owner: string, name: string) => call<HubResponse<'getServable'>>('GET', `/v1/servables/${enc(owner)}/${enc(name)}`),
    getVersion: (owner: string, name: string, version: string) => call<HubResponse<'getVersion'>>('GET', `/v1/servables/${enc(owner)}/${enc(name)}/versions/${enc(version)}`),
    changes: (since: string, limit: number) => call<HubResponse<'changes'>>('GET', `/v1/changes?since=${enc(since)}&limit=${limit}`),
    health: () => call<{ ok: boolean }>('GET', '/health'),
  };
}

/** The hub API for one address and token. */
export type HubApi = ReturnType<typeof hubApi>;
