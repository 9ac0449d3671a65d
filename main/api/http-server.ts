import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { HTTP_STATUS, ServiceError, UsageError, InputError, errorMessage, toDlhubError, type DlhubError } from '../errors.js';
import type { OpName } from '../contract/operations.js';
import { ROUTES as OP_ROUTES } from './generated/routes.js';
import { fromWire, toWire } from './codec.js';
import { invoke } from './door.js';
import type { Operations } from './operations.js';

/** Largest request body a door reads (a batch of inputs; each input is still held to DLHUB_MAX_INPUT_BYTES). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

interface Route {
  op: OpName;
  method: string;
  /** Static paths match by string; the others by this pattern, whose groups are the request fields. */
  pattern: RegExp | undefined;
  params: string[];
  fromQuery: boolean;
}

/** The routes of every operation, from the table. */
function compileRoutes(): { exact: Map<string, Route>; patterned: Route[] } {
  const exact = new Map<string, Route>();
  const patterned: Route[] = [];
  for (const op of Object.keys(OP_ROUTES) as OpName[]) {
    const { method, path } = OP_ROUTES[op];
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const route: Route = { op, method, params, fromQuery: method !== 'POST', pattern: undefined };
    if (params.length === 0) exact.set(`${method} ${path}`, route);
    else {
      route.pattern = new RegExp(`^${path.replace(/\{\w+\}/g, '([^/]+)')}$`);
      patterned.push(route);
    }
  }
  return { exact, patterned };
}

const ROUTES = compileRoutes();

function match(method: string, path: string): { route: Route; values: string[] } | undefined {
  const exact = ROUTES.exact.get(`${method} ${path}`);
  if (exact) return { route: exact, values: [] };
  for (const route of ROUTES.patterned) {
    if (route.method !== method) continue;
    const m = route.pattern?.exec(path);
    if (m) return { route, values: m.slice(1) };
  }
  return undefined;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown, status?: number): void {
  const e: DlhubError = toDlhubError(err);
  let text: string;
  try {
    text = JSON.stringify({ error: e.toJSON() });
  } catch {
    text = JSON.stringify({ error: { code: e.code, name: e.name, message: e.message, hint: e.hint } });
  }
  send(res, status ?? HTTP_STATUS[e.code], text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(): InputError {
  return new InputError('INPUT_TOO_LARGE', `The request body is over ${MAX_BODY_BYTES} bytes.`, { hint: 'Send fewer inputs per call, or submit them as several tasks.' });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new UsageError('USAGE', `The request body is not JSON: ${errorMessage(err)}`, { hint: 'Send a JSON object with the operation\'s fields (see /openapi.json).' });
  }
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

/** What a door server checks on top of routing: the HTTP API's token, Host and Origin. */
export interface DoorGuard {
  token: string;
  /**
   * `host:port` values the Host header may carry (DNS rebinding: a browser sends the attacker's
   * name); undefined accepts any (`--http-allow-remote`, where the names are not known).
   */
  hosts: ReadonlySet<string> | undefined;
  /** Origins a browser may call from: the same loopback origins. */
  origins: ReadonlySet<string>;
}

/** A running door: the server and a graceful stop. */
export interface RunningDoor {
  server: Server;
  /** Calls being answered now. */
  inFlight(): number;
  /** Stop accepting, let in-flight calls finish for up to `graceMs`, then drop the rest. */
  stop(graceMs: number): Promise<void>;
}

function refused(message: string, hint: string): ServiceError {
  return new ServiceError('UNAUTHORIZED', message, { hint });
}

function checkGuard(req: IncomingMessage, guard: DoorGuard, needToken: boolean): void {
  const host = req.headers.host ?? '';
  if (guard.hosts && !guard.hosts.has(host.toLowerCase())) {
    throw refused(`Host "${host}" is not this API's loopback address.`, `Call it as http://${[...guard.hosts][0] ?? '127.0.0.1'}/ (names that resolve elsewhere are refused against DNS rebinding).`);
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !guard.origins.has(origin.toLowerCase())) {
    throw refused(`Origin "${origin}" may not call this API.`, 'Only pages served from the same loopback address may; call it from a script or the SDK instead.');
  }
  if (!needToken) return;
  const auth = req.headers.authorization ?? '';
  const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7).trim() : '');
  const want = Buffer.from(guard.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw refused('Missing or wrong bearer token.', 'Send "Authorization: Bearer <token>" with the token from $DLHUB_HOME/run/api-token (new at each `dlhub serve --http` start).');
  }
}

/**
 * One door server for the operations table: REST routes generated from each operation's `http`
 * row, requests validated and decoded with the value codec, answers `{result}` or `{error}` with
 * the error registry's status. With a guard it is the HTTP API (token, Host, Origin); without, the
 * local service on a Unix socket that only this user can open.
 */
export function createDoor(api: Operations, guard?: DoorGuard): RunningDoor {
  let active = 0;
  let stopping = false;
  let openapi: string | undefined;
  const server = createServer((req, res) => {
    active += 1;
    res.once('close', () => {
      active -= 1;
    });
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (stopping) {
        res.setHeader('connection', 'close');
        throw new ServiceError('SERVICE_UNAVAILABLE', 'The dlhub service is stopping.', { hint: 'Start it again with `dlhub serve`, or run without it.' });
      }
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const method = req.method ?? 'GET';
      if (path === '/health' && method === 'GET') {
        if (guard) checkGuard(req, guard, false);
        send(res, 200, JSON.stringify({ result: { ok: true, pid: process.pid } }));
        return;
      }
      if (path === '/openapi.json' && method === 'GET') {
        if (guard) checkGuard(req, guard, false);
        // Built on first request: serving calls never loads TypeBox.
        openapi ??= JSON.stringify((await import('../contract/openapi.js')).buildOpenApi());
        send(res, 200, openapi);
        return;
      }
      if (guard) checkGuard(req, guard, true);
      const found = match(method, path);
      if (!found) {
        sendError(res, new UsageError('USAGE', `No operation at ${method} ${path}.`, { hint: 'The routes are listed in GET /openapi.json.' }), 404);
        return;
      }
      const { route, values } = found;
      let request: Record<string, unknown>;
      if (route.fromQuery) {
        request = queryObject(q < 0 ? '' : url.slice(q + 1));
      } else {
        const body = parseJson(await readBody(req));
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new UsageError('USAGE', `The request body of ${route.op} is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}: send a JSON object.`, {
            hint: 'See the operation\'s request schema in GET /openapi.json.',
            details: { field: '', rule: 'type' },
          });
        }
        request = fromWire(body) as Record<string, unknown>;
      }
      route.params.forEach((p, i) => {
        request[p] = decodePart(values[i] ?? '');
      });
      const result = await invoke(api, route.op, request, undefined, route.fromQuery);
      send(res, 200, JSON.stringify({ result: toWire(result) }));
    } catch (err) {
      sendError(res, err);
    }
  }

  return {
    server,
    inFlight: () => active,
    async stop(graceMs) {
      stopping = true;
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
    door.server.once('error', (err) => reject(cannotListen(`${host}:${port}`, err)));
    door.server.listen(port, host, () => {
      door.server.removeAllListeners('error');
      resolve();
    });
  });
  const address = door.server.address();
  return typeof address === 'object' && address ? address.port : port;
}
