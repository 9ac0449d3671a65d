// How an operation travels as an HTTP request (over TCP or the Unix socket), from its row of the
// table: path fields filled in, the rest as a query string (GET, DELETE) or a JSON body (POST).
// Browser-safe: the fetch transport and the Node socket transport both build requests here.
import { InputError, UsageError } from '../../errors.js';
import type { OpName } from '../../contract/operations.js';
import { ROUTES } from '../generated/routes.js';
import { toWire } from '../codec.js';
import { NDJSON } from './envelope.js';

/** One operation as an HTTP request. */
export interface WireRequest {
  method: string;
  /** Path and query, e.g. /v1/tasks?limit=5 */
  path: string;
  body: string | undefined;
  /** Whether the answer comes in NDJSON parts (a stream operation, or progress someone listens to). */
  parts: boolean;
  headers: Record<string, string>;
}

/**
 * JSON turns NaN and Infinity into null without a word: refuse them here, as the in-process door does,
 * so `1e999` is the same error through a service as without it.
 */
function refuseNonFinite(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new InputError('INPUT_INVALID', `The request holds ${value}${key ? ` (at "${key}")` : ''}, which JSON cannot carry.`, {
      hint: 'Send finite numbers; to send NaN or Infinity on purpose, put them in a float64 ndarray, which carries them exactly.',
    });
  }
  return value;
}

/** The HTTP request of one operation; `progress`: the caller listens to progress events (asks for NDJSON). */
export function wireRequest(op: OpName, req: object, progress: boolean): WireRequest {
  const { method, path, kind } = ROUTES[op];
  const rest: Record<string, unknown> = { ...req };
  const filled = path.replace(/\{(\w+)\}/g, (_m, field: string) => {
    const v = rest[field];
    delete rest[field];
    // A missing path field would name another route: refuse it here, as the in-process door does.
    if ((typeof v !== 'string' && typeof v !== 'number') || v === '') {
      throw new UsageError('USAGE', `${field} is required by ${op}.`, { hint: `See the ${op} request schema in /openapi.json.`, details: { field: `/${field}`, rule: 'required' } });
    }
    return encodeURIComponent(String(v));
  });
  const parts = kind === 'stream' || (kind === 'progress' && progress);
  const headers: Record<string, string> = parts ? { accept: NDJSON } : {};
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    return { method, path: filled, body: JSON.stringify(toWire(rest), refuseNonFinite), parts, headers };
  }
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) query.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  const qs = query.toString();
  return { method, path: qs ? `${filled}?${qs}` : filled, body: undefined, parts, headers };
}

/** Split text chunks into lines (the last, unterminated one included); each line is parsed as JSON. */
export async function* ndjsonLines(chunks: AsyncIterable<string>): AsyncIterable<unknown> {
  let pending = '';
  for await (const chunk of chunks) {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) yield JSON.parse(line) as unknown;
      nl = pending.indexOf('\n');
    }
  }
  if (pending.trim()) yield JSON.parse(pending) as unknown;
}
