// A fetch-based client of the HTTP door for browser mode: the session cookie goes along by itself
// (same origin), so no token is ever held by the page. Each operation's route comes from the
// contract's table; progress and stream operations read NDJSON lines.
import { OPERATIONS, type OpName } from '../../../main/contract/index.js';
import { fromWire, toWire } from './values.js';
import type { CallContext, Ops } from './ops.js';

/** An error as a door sends it, kept typed for the stores (code, message, hint, details). */
export class OpError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly status: number;
  constructor(raw: unknown, status: number) {
    const body = (typeof raw === 'object' && raw !== null ? raw : {}) as { code?: string; message?: string; hint?: string; details?: Record<string, unknown> };
    super(typeof body.message === 'string' ? body.message : 'The service refused the call.');
    this.name = 'OpError';
    this.code = body.code ?? 'INTERNAL';
    this.hint = body.hint;
    this.details = body.details;
    this.status = status;
  }
}

/** The error a call gets when nothing answers. */
export function unreachable(err: unknown): OpError {
  return new OpError({ code: 'SERVICE_UNAVAILABLE', message: `The DLHub service did not answer (${err instanceof Error ? err.message : String(err)}).`, hint: 'It may have stopped: start it again with npm start.' }, 0);
}

const NDJSON = 'application/x-ndjson';

function wire(op: OpName, req: Record<string, unknown>, parts: boolean): { url: string; init: RequestInit } {
  const { method, path } = OPERATIONS[op].http;
  const rest: Record<string, unknown> = { ...req };
  const filled = path.replace(/\{(\w+)\}/g, (_m, field: string) => {
    const v = rest[field];
    delete rest[field];
    return encodeURIComponent(typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  });
  const headers: Record<string, string> = parts ? { accept: NDJSON } : {};
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    return { url: filled, init: { method, headers, body: JSON.stringify(toWire(rest)) } };
  }
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) query.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  const qs = query.toString();
  return { url: qs ? `${filled}?${qs}` : filled, init: { method, headers } };
}

type Line = { result?: unknown; error?: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> }; progress?: unknown; item?: unknown };

async function* lines(res: Response): AsyncIterable<Line> {
  const reader = res.body?.getReader();
  if (!reader) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (text) yield JSON.parse(text) as Line;
    }
    if (done) break;
  }
  if (buffered.trim()) yield JSON.parse(buffered) as Line;
}

/** A client of every operation over `fetch`, relative to `base` (the page's own origin by default). */
export function createHttpOps(base = '', fetchFn: typeof fetch = (...a) => fetch(...a)): Ops {
  const send = async (op: OpName, req: Record<string, unknown>, ctx: CallContext | undefined, parts: boolean): Promise<Response> => {
    const { url, init } = wire(op, req, parts);
    try {
      return await fetchFn(`${base}${url}`, { ...init, credentials: 'same-origin', ...(ctx?.signal ? { signal: ctx.signal } : {}) });
    } catch (err) {
      if (ctx?.signal?.aborted) throw err;
      throw unreachable(err);
    }
  };
  const answer = async (op: OpName, req: Record<string, unknown>, ctx?: CallContext): Promise<unknown> => {
    const parts = OPERATIONS[op].kind === 'progress' && ctx?.onProgress !== undefined;
    const res = await send(op, req, ctx, parts);
    if ((res.headers.get('content-type') ?? '').startsWith(NDJSON)) {
      for await (const line of lines(res)) {
        if (line.progress !== undefined) ctx?.onProgress?.(line.progress as never);
        else if (line.error) throw new OpError(line.error, res.status);
        else if ('result' in line) return fromWire(line.result);
      }
      throw unreachable(new Error('the answer ended early'));
    }
    let body: Line;
    try {
      body = (await res.json()) as Line;
    } catch (err) {
      throw unreachable(err);
    }
    if (body.error) throw new OpError(body.error, res.status);
    return fromWire(body.result);
  };
  const stream = (op: OpName) => (req: Record<string, unknown>, ctx?: CallContext): AsyncIterable<unknown> => ({
    async *[Symbol.asyncIterator]() {
      const res = await send(op, req, ctx, true);
      if (!(res.headers.get('content-type') ?? '').startsWith(NDJSON)) {
        const body = (await res.json()) as Line;
        throw new OpError(body.error ?? { message: 'The service does not stream this operation.' }, res.status);
      }
      for await (const line of lines(res)) {
        if (line.item !== undefined) yield fromWire(line.item);
        else if (line.error) throw new OpError(line.error, res.status);
      }
    },
  });
  const ops: Record<string, unknown> = {};
  for (const op of Object.keys(OPERATIONS) as OpName[]) {
    const kind = OPERATIONS[op].kind as string;
    ops[op] = kind === 'stream' ? stream(op) : (req: Record<string, unknown>, ctx?: CallContext) => answer(op, req ?? {}, ctx);
  }
  return ops as unknown as Ops;
}
