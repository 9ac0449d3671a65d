import { request, type Agent, type RequestOptions } from 'node:http';
import { existsSync } from 'node:fs';
import { InputError, ServiceError, errorFromJSON, errorMessage, type ErrorJSON } from '../errors.js';
import type { OpName, OpRequest, OpResponse } from '../contract/operations.js';
import { ROUTES } from './generated/routes.js';
import { fromWire, toWire } from './codec.js';

/** Where a door listens: the local service's Unix socket, or the HTTP API's base URL and token. */
export interface Endpoint {
  socketPath?: string | undefined;
  /** e.g. http://127.0.0.1:8765 */
  baseUrl?: string | undefined;
  token?: string | undefined;
  /** Give up on a call after this long (0: never). */
  timeoutMs?: number | undefined;
  /** A keep-alive agent for many calls (the SDK); one-shot CLI calls go without. */
  agent?: Agent | undefined;
}

interface Wire {
  method: string;
  path: string;
  body: string | undefined;
}

/**
 * JSON turns NaN and Infinity into null without a word: refuse them here, as the in-process door does,
 * so `1e999` is the same error through the service as without it.
 */
function refuseNonFinite(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new InputError('INPUT_INVALID', `The request holds ${value}${key ? ` (at "${key}")` : ''}, which JSON cannot carry.`, {
      hint: 'Send finite numbers; to send NaN or Infinity on purpose, put them in a float64 ndarray, which carries them exactly.',
    });
  }
  return value;
}

/** The HTTP request of one operation, from its row of the table: path fields filled in, the rest as query or JSON body. */
export function wireRequest(op: OpName, req: Record<string, unknown>): Wire {
  const { method, path } = ROUTES[op];
  const rest: Record<string, unknown> = { ...req };
  const filled = path.replace(/\{(\w+)\}/g, (_m, field: string) => {
    const v = rest[field];
    delete rest[field];
    return encodeURIComponent(typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  });
  if (method === 'POST') return { method, path: filled, body: JSON.stringify(toWire(rest), refuseNonFinite) };
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) query.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  const qs = query.toString();
  return { method, path: qs ? `${filled}?${qs}` : filled, body: undefined };
}

function unavailable(ep: Endpoint, err: unknown): ServiceError {
  const where = ep.socketPath ?? ep.baseUrl ?? '?';
  return new ServiceError('SERVICE_UNAVAILABLE', `The dlhub service at ${where} did not answer: ${errorMessage(err)}.`, {
    hint: ep.socketPath
      ? 'It may have stopped or crashed mid-call: start it again with `dlhub serve`, or set DLHUB_NO_SERVICE=1 to run without it.'
      : 'Check that `dlhub serve --http` is running at that address.',
  });
}

function requestOptions(ep: Endpoint, wire: Wire): RequestOptions {
  const headers: Record<string, string | number> = {};
  if (wire.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(wire.body);
  }
  if (ep.token) headers['authorization'] = `Bearer ${ep.token}`;
  const base: RequestOptions = { method: wire.method, headers, ...(ep.agent ? { agent: ep.agent } : {}) };
  if (ep.socketPath) return { ...base, socketPath: ep.socketPath, path: wire.path };
  const url = new URL(ep.baseUrl ?? 'http://127.0.0.1');
  return { ...base, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 80, path: `${url.pathname.replace(/\/$/, '')}${wire.path}` };
}

/** Send one raw request; answers the parsed JSON envelope. */
function exchange(ep: Endpoint, wire: Wire): Promise<{ result?: unknown; error?: ErrorJSON }> {
  return new Promise((resolve, reject) => {
    const req = request(requestOptions(ep, wire), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(unavailable(ep, err)));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: ErrorJSON });
        } catch (err) {
          reject(new ServiceError('SERVICE_UNAVAILABLE', `The dlhub service answered something that is not JSON (HTTP ${res.statusCode ?? '?'}): ${errorMessage(err)}.`, { hint: 'Check that the address points at `dlhub serve`.' }));
        }
      });
    });
    if (ep.timeoutMs) req.setTimeout(ep.timeoutMs, () => req.destroy(new Error(`no answer within ${ep.timeoutMs} ms`)));
    req.on('error', (err) => reject(unavailable(ep, err)));
    req.end(wire.body);
  });
}

/** Call one operation through a door; its error comes back as the same typed class, its value through the codec. */
export async function callOp<K extends OpName>(ep: Endpoint, op: K, req: OpRequest<K>): Promise<OpResponse<K>> {
  const envelope = await exchange(ep, wireRequest(op, (req ?? {})));
  if (envelope.error) throw errorFromJSON(envelope.error);
  return fromWire(envelope.result) as OpResponse<K>;
}

/** Is a local service answering on this socket? Never throws. */
export async function serviceAnswers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    const r = await exchange({ socketPath, timeoutMs: 1000 }, { method: 'GET', path: '/health', body: undefined });
    return r.result !== undefined;
  } catch {
    return false;
  }
}
