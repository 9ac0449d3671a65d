import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, rmSync } from 'node:fs';
import { DlhubError, errorMessage } from '../errors.js';
import type { Operations } from './operations.js';

/** Operations the local service exposes; build and init stay in the caller's process (they read its folders). */
export const SERVICE_OPERATIONS = ['runServable', 'describeServable', 'listServables', 'removeServable', 'cacheStats', 'cacheClear', 'searchCatalog'] as const;
export type ServiceOperation = (typeof SERVICE_OPERATIONS)[number];

const MAX_BODY_BYTES = 64 * 1024 * 1024;

function statusFor(err: unknown): number {
  if (!(err instanceof DlhubError)) return 500;
  switch (err.code) {
    case 'SERVABLE_NOT_FOUND':
    case 'METHOD_NOT_FOUND':
      return 404;
    case 'INPUT_INVALID':
    case 'INPUT_TOO_LARGE':
    case 'USAGE':
    case 'QUERY_INVALID':
    case 'METADATA_INVALID':
      return 400;
    case 'RUNTIME_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new DlhubError('INPUT_TOO_LARGE', `Request body over ${MAX_BODY_BYTES} bytes.`, { hint: 'Send smaller inputs.' });
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new DlhubError('USAGE', `Request body is not JSON: ${errorMessage(err)}`, { hint: 'POST a JSON object with the operation\'s parameters.' });
  }
}

/**
 * The local service: the operations over HTTP on a Unix socket that only this user can open
 * (mode 0600), so warm workers outlive a single CLI command without any network exposure.
 */
export function startLocalService(api: Operations, socketPath: string): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const match = /^\/v1\/([A-Za-z]+)$/.exec(req.url ?? '');
      const op = match?.[1] as ServiceOperation | undefined;
      if (req.method !== 'POST' || !op || !(SERVICE_OPERATIONS as readonly string[]).includes(op)) {
        send(res, 404, { error: { code: 'USAGE', message: `No operation at ${req.method ?? ''} ${req.url ?? ''}.`, hint: `POST /v1/<op> with op one of ${SERVICE_OPERATIONS.join(', ')}.` } });
        return;
      }
      try {
        const params = (await readBody(req)) as never;
        const call = (api[op] as (p: never) => Promise<unknown>).bind(api);
        send(res, 200, { result: await call(params) });
      } catch (err) {
        const body = err instanceof DlhubError ? err.toJSON() : { code: 'INTERNAL', message: errorMessage(err) };
        send(res, statusFor(err), { error: body });
      }
    })();
  });
  rmSync(socketPath, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      resolve(server);
    });
  });
}
