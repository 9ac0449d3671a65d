// The hub's HTTP door, made from its operations table the way the local API's door is made from
// main/contract's: routes from each row's `http`, requests checked against the row's schema, the
// door kit's `{result}` / `{error}` envelope with statuses from the one error registry. Besides, it
// knows the callers (bearer tokens, Basic for the registry's token flow) and limits request sizes
// and rates.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { HTTP_STATUS, InputError, LimitError, NotFoundError, ServiceError, UsageError, errorMessage, toDlhubError } from '../main/errors.js';
import { errorText, resultText } from '../main/api/doors/envelope.js';
import { readBody } from '../main/api/doors/read-body.js';
import { HUB_OPERATIONS, type Caller, type HubOpName, type HubOperationSpec } from './contract.js';
import { jsonTextOf } from './json-text.js';
import { hashSecret } from './secrets.js';
import type { HubService } from './service.js';

/** Largest request body the hub reads. */
export const HUB_MAX_BODY_BYTES = 1024 * 1024;

/** How the door is built. */
export interface HubDoorOptions {
  /** Requests a minute from one token (or one address when anonymous); 0: no limit. */
  ratePerMinute?: number;
  /** The OpenAPI document, served at /openapi.json. */
  openapi: () => unknown;
}

interface Route {
  op: HubOpName;
  spec: HubOperationSpec;
  pattern: RegExp;
  params: string[];
  fromQuery: boolean;
  validate: ValidateFunction;
}

// ajv's CommonJS default export under NodeNext.
const Ajv = AjvModule as unknown as typeof AjvModule.default;

/** A schema as plain JSON without `$id`s (one ajv instance compiles them all; shared parts repeat). */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (k, v: unknown) => (k === '$id' ? undefined : v)) as unknown;
}

function compileRoutes(): Route[] {
  const body = new Ajv({ allErrors: false, strict: false });
  const query = new Ajv({ allErrors: false, strict: false, coerceTypes: true });
  return (Object.keys(HUB_OPERATIONS) as HubOpName[]).map((op) => {
    const spec: HubOperationSpec = HUB_OPERATIONS[op];
    const params = [...spec.http.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const fromQuery = spec.http.method === 'GET' || spec.http.method === 'DELETE';
    const pattern = new RegExp(`^${spec.http.path.replace(/\{\w+\}/g, '([^/]+)')}$`);
    return { op, spec, params, pattern, fromQuery, validate: (fromQuery ? query : body).compile(plain(spec.request) as object) };
  });
}

function describe(op: string, err: ErrorObject | undefined): string {
  if (!err) return `The request for ${op} does not match its schema.`;
  const field = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (err.keyword === 'additionalProperties') return `${field ? `${field}.` : ''}${String((err.params as { additionalProperty?: unknown }).additionalProperty)} is not a field of ${op}.`;
  if (err.keyword === 'required') return `${field ? `${field}.` : ''}${String((err.params as { missingProperty?: unknown }).missingProperty)} is required by ${op}.`;
  return `${field || 'the request'} ${err.message ?? 'is invalid'} (in ${op}).`;
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = toDlhubError(err);
  const status = HTTP_STATUS[e.code];
  const headers: Record<string, string> = {};
  if (status === 429 || status === 503) headers['retry-after'] = typeof e.details?.['retryAfter'] === 'number' ? String(e.details['retryAfter']) : '1';
  if (status === 413) headers['connection'] = 'close';
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="dlhub-hub"';
  const allow = e.details?.['allow'];
  if (e.code === 'METHOD_NOT_ALLOWED' && Array.isArray(allow)) headers['allow'] = allow.join(', ');
  send(res, status, errorText(e), headers);
}

/** The hub's 413: metadata, not model files, travels in its requests. */
function tooLarge(): InputError {
  return new InputError('INPUT_TOO_LARGE', `The request body is over ${HUB_MAX_BODY_BYTES} bytes.`, { hint: 'Metadata that large is not a servable\'s description: keep files in the image, not in dlhub.json.' });
}

function parseBody(op: string, body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as unknown);
  } catch (err) {
    throw new UsageError('USAGE', `The request body is not JSON: ${errorMessage(err)}`, { hint: 'Send a JSON object (see /openapi.json).' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('USAGE', `The request body of ${op} must be a JSON object.`, { hint: 'See /openapi.json.' });
  return value as Record<string, unknown>;
}

/** Query parameters as fields; a parameter given more than once becomes a list (the registry's `scope`). */
function queryObject(query: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...(had as string[]), v] : [had, v];
  }
  return out;
}

/** Fixed one-minute windows per key: simple, and enough to stop a runaway client. */
class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number) {}

  check(key: string): void {
    if (this.perMinute <= 0) return;
    const t = Date.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    if (w.count > this.perMinute) {
      const retryAfter = Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000));
      throw new LimitError('RATE_LIMITED', `More than ${this.perMinute} requests in a minute.`, { hint: `Wait ${retryAfter} s (Retry-After), then go on more slowly.`, details: { retryAfter } });
    }
  }
}

const BEARER = /^bearer[ \t]+(\S+)\s*$/i;
const BASIC = /^basic[ \t]+(\S+)\s*$/i;

/** Build the hub's HTTP server over `service`. */
export function createHubDoor(service: HubService, opts: HubDoorOptions): Server {
  const routes = compileRoutes();
  const limiter = new RateLimiter(opts.ratePerMinute ?? 600);
  let openapi: string | undefined;

  function match(method: string, path: string): { route: Route; values: string[] } {
    const at = routes.filter((r) => r.pattern.test(path));
    // A static path wins over a pattern that also takes it.
    const route = at.find((r) => r.spec.http.method === method && r.params.length === 0) ?? at.find((r) => r.spec.http.method === method);
    if (route) return { route, values: (route.pattern.exec(path) ?? []).slice(1) };
    if (at.length === 0) throw new NotFoundError('NOT_FOUND', `No operation at ${path}.`, { hint: 'The routes are listed in GET /openapi.json.' });
    const allow = [...new Set(at.map((r) => r.spec.http.method))];
    throw new UsageError('METHOD_NOT_ALLOWED', `${path} does not take ${method}; it takes ${allow.join(', ')}.`, { hint: 'See GET /openapi.json.', details: { allow } });
  }

  async function callerOf(req: IncomingMessage): Promise<Caller | undefined> {
    const auth = req.headers.authorization;
    if (auth === undefined || auth === '') return undefined;
    const bearer = BEARER.exec(auth);
    if (bearer) {
      const token = bearer[1] as string;
      const user = await service.userOfToken(token);
      if (user === undefined) throw new ServiceError('UNAUTHORIZED', 'The token is unknown, expired or revoked.', { hint: 'Sign in again with `dlhub login`.' });
      return { user, tokenHash: hashSecret(token) };
    }
    const basic = BASIC.exec(auth);
    if (basic) {
      const text = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const user = colon < 0 ? undefined : await service.userOfBasic(text.slice(0, colon), text.slice(colon + 1));
      if (user === undefined) throw new ServiceError('UNAUTHORIZED', 'Wrong user or password.', { hint: 'Use your hub user and password (or a hub token as the password).' });
      return { user };
    }
    throw new ServiceError('UNAUTHORIZED', 'The Authorization header is neither Bearer nor Basic.', { hint: 'Send "Authorization: Bearer <token>".' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if ((method === 'GET' || method === 'HEAD') && path === '/health') return send(res, 200, resultText({ ok: true }));
    if ((method === 'GET' || method === 'HEAD') && path === '/openapi.json') return send(res, 200, (openapi ??= JSON.stringify(opts.openapi())));
    const bearer = BEARER.exec(req.headers.authorization ?? '');
    limiter.check(bearer ? `t:${hashSecret(bearer[1] as string)}` : `a:${req.socket.remoteAddress ?? ''}`);
    const { route, values } = match(method, path);
    const caller = await callerOf(req);
    if (route.spec.access === 'user' && !caller) throw new ServiceError('UNAUTHORIZED', `${route.op} needs a signed-in user.`, { hint: 'Send "Authorization: Bearer <token>" (from POST /v1/auth/token or `dlhub login`).' });
    const request = route.fromQuery ? queryObject(q < 0 ? '' : url.slice(q + 1)) : parseBody(route.op, await readBody(req, HUB_MAX_BODY_BYTES, tooLarge));
    route.params.forEach((p, i) => {
      try {
        request[p] = decodeURIComponent(values[i] ?? '');
      } catch {
        throw new UsageError('USAGE', `The path part "${values[i] ?? ''}" is not valid percent-encoding.`, { hint: 'Encode names with encodeURIComponent.' });
      }
    });
    if (!route.validate(request)) {
      const first = route.validate.errors?.[0];
      throw new UsageError('USAGE', describe(route.op, first), { hint: `See the ${route.op} request schema in /openapi.json.`, details: { field: first?.instancePath ?? '', rule: first?.keyword ?? '' } });
    }
    const fn = service[route.op] as (r: unknown, c: { caller: Caller | undefined }) => Promise<unknown>;
    const answer = await fn.call(service, request, { caller });
    // An answer that carries its JSON text (a feed page) is sent as it is: it holds plain JSON values only, which the codec leaves alone.
    const text = jsonTextOf(answer);
    send(res, 200, route.spec.bare ? JSON.stringify(answer) : text !== undefined ? `{"result":${text}}` : resultText(answer));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, err));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  // Idle connections stay open a minute, not Node's 5 s: a desktop busy filing a page of a long sync for longer than that
  // sends its next feed request on the connection it holds, which the hub would have closed under it (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
