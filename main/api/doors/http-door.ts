// The HTTP door of the operations table: REST routes generated from each operation's `http` row,
// answers `{result}` or `{error}` with the error registry's status, progress and stream operations
// in NDJSON parts. On TCP with a guard it is the HTTP API (token or browser-mode cookie, Host,
// Origin; callers are `remote`); without one, the local service on a Unix socket only this user can open.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { HTTP_STATUS, InputError, NotFoundError, ServiceError, UsageError, errorMessage, toDlhubError } from '../../errors.js';
import type { OpName } from '../../contract/operations.js';
import { ROUTES as OP_ROUTES } from '../generated/routes.js';
import { fromWire, toWire } from '../codec.js';
import type { CallContext, Operations } from '../operations.js';
import { NDJSON, errorText, itemText, resultText } from './envelope.js';
import { invoke } from './invoke.js';
import { readBody } from './read-body.js';

/** Largest request body a door reads (a batch of inputs; each input is still held to DLHUB_MAX_INPUT_BYTES). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** What the HTTP API checks before routing: the bearer token, the Host and the Origin. */
export interface HttpGuard {
  token: string;
  /**
   * `host:port` values the Host header may carry (DNS rebinding: a browser sends the attacker's
   * name); undefined accepts any (`--http-allow-remote`, where the names are not known).
   */
  hosts: ReadonlySet<string> | undefined;
  /** Origins a browser may call from: the same loopback origins. */
  origins: ReadonlySet<string>;
}

/** The window's browser mode: it answers its own requests first (pages, the token exchange) and vouches for its session cookie. */
export interface BrowserMode {
  /** Answer the request if it is browser mode's own (true: answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
  /** Whether the request carries a valid browser-mode session (in place of the bearer token). */
  authenticate(req: IncomingMessage): boolean;
}

/** How an HTTP door is built. */
export interface HttpDoorOptions {
  /** The HTTP API's checks; without, the door trusts whoever can connect (the 0600 Unix socket). */
  guard?: HttpGuard | undefined;
  browserMode?: BrowserMode | undefined;
}

/** A running door: the server and a graceful stop. */
export interface RunningDoor {
  server: Server;
  /** Calls being answered now. */
  inFlight(): number;
  /** Stop accepting, end streams, let in-flight calls finish for up to `graceMs`, then drop the rest. */
  stop(graceMs: number): Promise<void>;
}

interface Route {
  op: OpName;
  /** Static paths match by string; the others by this pattern, whose groups are the request fields. */
  pattern: RegExp | undefined;
  params: string[];
  fromQuery: boolean;
  kind: 'answer' | 'progress' | 'stream';
}

/** Every path of the table with the routes at it, by method. */
interface PathRoutes {
  pattern: RegExp | undefined;
  byMethod: Map<string, Route>;
}

function compileRoutes(): { exact: Map<string, PathRoutes>; patterned: PathRoutes[] } {
  const exact = new Map<string, PathRoutes>();
  const patterned = new Map<string, PathRoutes>();
  for (const op of Object.keys(OP_ROUTES) as OpName[]) {
    const { method, path, kind } = OP_ROUTES[op];
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const pattern = params.length === 0 ? undefined : new RegExp(`^${path.replace(/\{\w+\}/g, '([^/]+)')}$`);
    const table = pattern ? patterned : exact;
    const at = table.get(path) ?? { pattern, byMethod: new Map<string, Route>() };
    at.byMethod.set(method, { op, params, pattern, fromQuery: method !== 'POST', kind });
    table.set(path, at);
  }
  return { exact, patterned: [...patterned.values()] };
}

const ROUTES = compileRoutes();
/** Paths every door answers besides the table's (GET and HEAD). */
const OWN_PATHS = new Set(['/health', '/openapi.json']);

/** The route of `method path`, or the typed error a client gets: 404 for no such path, 405 (with the methods) for a wrong method. */
function match(method: string, path: string): { route: Route; values: string[] } {
  const exact = ROUTES.exact.get(path);
  const direct = exact?.byMethod.get(method);
  if (direct) return { route: direct, values: [] };
  // A static path (/v1/tasks/watch) wins over a pattern that would also take it (/v1/tasks/{id}) for its own methods.
  for (const at of ROUTES.patterned) {
    const route = at.byMethod.get(method);
    const m = route ? at.pattern?.exec(path) : null;
    if (route && m) return { route, values: m.slice(1) };
  }
  const found = [...(exact ? [exact] : []), ...ROUTES.patterned.filter((at) => at.pattern?.test(path))];
  if (found.length === 0) throw new NotFoundError('NOT_FOUND', `No operation at ${path}.`, { hint: 'The routes are listed in GET /openapi.json.' });
  const allow = [...new Set(found.flatMap((at) => [...at.byMethod.keys()]))];
  throw new UsageError('METHOD_NOT_ALLOWED', `${path} does not take ${method}; it takes ${allow.join(', ')}.`, { hint: 'See the route in GET /openapi.json.', details: { allow } });
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An error answer: the code's status, `Allow` for a wrong method, `Retry-After` for a refusal that passes. */
function sendError(res: ServerResponse, err: unknown): void {
  const e = toDlhubError(err);
  const status = HTTP_STATUS[e.code];
  const headers: Record<string, string> = {};
  const allow = e.details?.['allow'];
  if (e.code === 'METHOD_NOT_ALLOWED' && Array.isArray(allow)) headers['allow'] = allow.join(', ');
  if (status === 429 || status === 503) headers['retry-after'] = '1';
  if (status === 503 || status === 413) headers['connection'] = 'close';
  send(res, status, errorText(e), headers);
}

function tooLarge(): InputError {
  return new InputError('INPUT_TOO_LARGE', `The request body is over ${MAX_BODY_BYTES} bytes.`, { hint: 'Send fewer inputs per call, or submit them as several tasks.' });
}

/** A POST body as the request object: JSON, an object, values through the codec. */
function parseBody(op: OpName, body: Buffer): Record<string, unknown> {
  if (body.length === 0) {
    throw new UsageError('USAGE', `The request body of ${op} is empty: send a JSON object.`, { hint: 'See the operation\'s request schema in GET /openapi.json.', details: { field: '', rule: 'type' } });
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new UsageError('USAGE', `The request body is not JSON: ${errorMessage(err)}`, { hint: 'Send a JSON object with the operation\'s fields (see /openapi.json).' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('USAGE', `The request body of ${op} is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}: send a JSON object.`, {
      hint: 'See the operation\'s request schema in GET /openapi.json.',
      details: { field: '', rule: 'type' },
    });
  }
  return fromWire(value) as Record<string, unknown>;
}

function queryObject(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (query) for (const [k, v] of new URLSearchParams(query)) out[k] = v;
  return out;
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError('USAGE', `The path part "${part}" is not valid percent-encoding.`, { hint: 'Encode names with encodeURIComponent.' });
  }
}

function refused(message: string, hint: string): ServiceError {
  return new ServiceError('UNAUTHORIZED', message, { hint });
}

/** Host and Origin: a page elsewhere (DNS rebinding, another site) may not reach the API. */
function checkPlace(req: IncomingMessage, guard: HttpGuard): void {
  const host = req.headers.host ?? '';
  if (guard.hosts && !guard.hosts.has(host.toLowerCase())) {
    throw refused(`Host "${host}" is not this API's loopback address.`, `Call it as http://${[...guard.hosts][0] ?? '127.0.0.1'}/ (names that resolve elsewhere are refused against DNS rebinding).`);
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !guard.origins.has(origin.toLowerCase())) {
    throw refused(`Origin "${origin}" may not call this API.`, 'Only pages served from the same loopback address may; call it from a script or the SDK instead.');
  }
}

const BEARER = /^bearer[ \t]+(.*)$/i;

/** The bearer token (the scheme's name in any case), or a browser-mode session instead. */
function checkToken(req: IncomingMessage, guard: HttpGuard, browserMode: BrowserMode | undefined): void {
  const m = BEARER.exec(req.headers.authorization ?? '');
  if (m) {
    const given = Buffer.from((m[1] ?? '').trim());
    const want = Buffer.from(guard.token);
    if (given.length === want.length && timingSafeEqual(given, want)) return;
  } else if (browserMode?.authenticate(req) === true) return;
  throw refused('Missing or wrong bearer token.', 'Send "Authorization: Bearer <token>" with the token from $DLHUB_HOME/run/api-token (new at each `dlhub serve --http` start).');
}

/**
 * The signal of a request's connection, aborted when the connection closes. A client that goes away
 * closes it (HTTP/1.1 has no other way to give up on a request), so the operation hears that nobody
 * waits; one controller per connection, not per request, keeps a keep-alive client's calls cheap.
 */
const connectionSignals = new WeakMap<Socket, AbortController>();
function leaving(req: IncomingMessage): AbortController {
  const socket = req.socket;
  let controller = connectionSignals.get(socket);
  if (!controller) {
    const c = new AbortController();
    controller = c;
    connectionSignals.set(socket, c);
    socket.once('close', () => c.abort());
  }
  return controller;
}

/** Build an HTTP door over `api` (see HttpDoorOptions); listen with listenOnSocket or listenOnTcp. */
export function createHttpDoor(api: Operations, opts: HttpDoorOptions = {}): RunningDoor {
  const { guard, browserMode } = opts;
  let active = 0;
  let stopping = false;
  let openapi: string | undefined;
  /** Streams end at stop (they never finish by themselves). */
  const streams = new Set<AbortController>();
  const server = createServer((req, res) => {
    active += 1;
    res.once('close', () => {
      active -= 1;
    });
    handle(req, res).catch((err: unknown) => sendError(res, err));
  });
  // A malformed request (bad header, oversize head) gets a typed 400, never an exit.
  server.on('clientError', (err, socket) => {
    if (socket.writable && !(err as { code?: string }).code?.startsWith('ECONN')) {
      const text = errorText(new UsageError('USAGE', `The request could not be read: ${errorMessage(err)}.`));
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    } else socket.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (stopping) throw new ServiceError('SERVICE_UNAVAILABLE', 'The dlhub service is stopping.', { hint: 'Start it again with `dlhub serve`, or run without it.' });
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const method = req.method ?? 'GET';
      if (guard) checkPlace(req, guard);
      if (browserMode && (await browserMode.handle(req, res))) return;
      if (OWN_PATHS.has(path) && (method === 'GET' || method === 'HEAD')) {
        // Answered without a token: a health probe, and the document a client generator reads.
        if (path === '/health') send(res, 200, resultText({ ok: true, pid: process.pid }));
        // Built on first request: serving calls never load TypeBox.
        else send(res, 200, (openapi ??= JSON.stringify((await import('../../contract/openapi.js')).buildOpenApi())));
        return;
      }
      if (guard) checkToken(req, guard, browserMode);
      const { route, values } = match(method, path);
      const request = route.fromQuery ? queryObject(q < 0 ? '' : url.slice(q + 1)) : parseBody(route.op, await readBody(req, MAX_BODY_BYTES, tooLarge));
      for (let i = 0; i < route.params.length; i++) request[route.params[i] as string] = decodePart(values[i] ?? '');
      await answer(req, res, route, request);
    } catch (err) {
      sendError(res, err);
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse, route: Route, request: Record<string, unknown>): Promise<void> {
    const controller = leaving(req);
    const ctx: CallContext = { signal: controller.signal, ...(guard ? { remote: true } : {}) };
    if (route.kind === 'stream') return streamItems(res, route, request, ctx, controller);
    if (route.kind === 'progress' && (req.headers.accept ?? '').includes(NDJSON)) {
      res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
      ctx.onProgress = (p) => void res.write(`${JSON.stringify({ progress: toWire(p) })}\n`);
      let last: string;
      try {
        last = resultText(await invoke(api, route.op, request, ctx, route.fromQuery));
      } catch (err) {
        last = errorText(err);
      }
      res.end(`${last}\n`);
      return;
    }
    send(res, 200, resultText(await invoke(api, route.op, request, ctx, route.fromQuery)));
  }

  async function streamItems(res: ServerResponse, route: Route, request: Record<string, unknown>, ctx: CallContext, controller: AbortController): Promise<void> {
    // Validation errors still answer with their status; once items flow, an error is the last line.
    const items = (await invoke(api, route.op, request, ctx, route.fromQuery)) as AsyncIterable<unknown>;
    streams.add(controller);
    res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
    res.flushHeaders();
    let last = JSON.stringify({ result: null });
    try {
      for await (const item of items) {
        if (controller.signal.aborted) break;
        res.write(`${itemText(item)}\n`);
      }
    } catch (err) {
      last = errorText(err);
    } finally {
      streams.delete(controller);
    }
    res.end(`${last}\n`);
  }

  return {
    server,
    inFlight: () => active,
    async stop(graceMs) {
      stopping = true;
      for (const s of streams) s.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Listen on a Unix socket with mode 0600; a live service there is refused, a stale socket file replaced. */
export async function listenOnSocket(door: RunningDoor, socketPath: string, answers: (socket: string) => Promise<boolean>): Promise<void> {
  if (existsSync(socketPath)) {
    if (await answers(socketPath)) {
      throw new UsageError('USAGE', `A dlhub service is already running on ${socketPath}.`, {
        hint: 'Other dlhub commands already use it. Stop it first (Ctrl-C in its terminal) to start another.',
      });
    }
    // Nothing answers: the file is left from a service that died.
    rmSync(socketPath, { force: true });
  }
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(cannotListen(socketPath, err));
    door.server.once('error', fail);
    door.server.listen(socketPath, () => {
      door.server.off('error', fail);
      chmodSync(socketPath, 0o600);
      resolve();
    });
  });
}

function cannotListen(where: string, err: Error): UsageError {
  return new UsageError('USAGE', `Cannot listen on ${where}: ${err.message}`, {
    hint: (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'Another program uses that address: pick another port (0 picks a free one).' : 'Check the address and your permissions.',
  });
}

/** Listen on a TCP address; answers the port (useful with port 0). */
export async function listenOnTcp(door: RunningDoor, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(cannotListen(`${host}:${port}`, err));
    door.server.once('error', fail);
    door.server.listen(port, host, () => {
      door.server.off('error', fail);
      resolve();
    });
  });
  const address = door.server.address();
  return typeof address === 'object' && address ? address.port : port;
}
