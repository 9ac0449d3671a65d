// The HTTP door as a client sees it: statuses by meaning (404, 405 with Allow, 413 for a chunked
// body, 503 with Retry-After at the concurrency cap), the token (any-case scheme, or browser mode's
// session), HEAD on the public documents, and a service that keeps answering after hostile requests.
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { createHttpDoor, listenOnTcp, MAX_BODY_BYTES, type BrowserMode, type RunningDoor } from '../../main/api/doors/http-door.js';
import { buildEngineServables } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { result?: unknown; error?: { code: string; message: string } } | undefined;
}

/** One request with node:http (any method, header and body, chunked when `chunks` is given). */
function send(port: number, method: string, path: string, opts: { headers?: Record<string, string>; body?: string; chunks?: () => Generator<Buffer> } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...opts.headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Raw['body']) : undefined }));
    });
    // Writing on after the answer came (a refused chunked upload) may end in a reset: the answer is what counts.
    req.on('error', (err) => reject(err));
    if (opts.chunks) {
      const chunks = opts.chunks();
      const pump = (): void => {
        for (;;) {
          const next = chunks.next();
          if (next.done) return void req.end();
          if (!req.write(next.value)) return void req.once('drain', pump);
        }
      };
      req.once('response', () => req.removeAllListeners('drain'));
      pump();
    } else req.end(opts.body);
  });
}

describe('the HTTP door', () => {
  const work = tempDir('dlhub-doors-http-');
  const token = 'http-door-token';
  let dlhub: Dlhub;
  let door: RunningDoor;
  let port = 0;
  const auth = { authorization: `Bearer ${token}` };
  const browserMode: BrowserMode = {
    handle: (req, res) => {
      if (req.url !== '/app/') return false;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>DLHub</title>');
      return true;
    },
    authenticate: (req) => (req.headers.cookie ?? '').includes('dlhub-session=good'),
  };

  beforeAll(async () => {
    const home = join(work.path, 'home');
    await buildEngineServables(home, work.path, [['twice', 'double']], { hostOnly: true });
    dlhub = new Dlhub({ home, settings: { maxConcurrency: 1 } });
    const guard = { token, hosts: new Set<string>(), origins: new Set<string>() };
    door = createHttpDoor(dlhub, { guard, browserMode });
    port = await listenOnTcp(door, '127.0.0.1', 0);
    guard.hosts.add(`127.0.0.1:${port}`);
  }, 120_000);

  afterAll(async () => {
    await door?.stop(1000);
    await dlhub?.close();
    work.remove();
  });

  it('answers an unknown route 404 NOT_FOUND and a wrong method 405 with Allow', async () => {
    const none = await send(port, 'GET', '/v1/nothing', { headers: auth });
    expect(none.status).toBe(404);
    expect(none.body?.error?.code).toBe('NOT_FOUND');
    const wrong = await send(port, 'PUT', '/v1/servables/twice', { headers: auth });
    expect(wrong.status).toBe(405);
    expect(wrong.body?.error?.code).toBe('METHOD_NOT_ALLOWED');
    expect(String(wrong.headers['allow']).split(', ').sort()).toEqual(['DELETE', 'GET']);
  });

  it('answers HEAD and GET of /openapi.json and /health without a token, and the rest only with one', async () => {
    for (const path of ['/openapi.json', '/health']) {
      expect((await send(port, 'HEAD', path)).status).toBe(200);
      expect((await send(port, 'GET', path)).status).toBe(200);
    }
    expect((await send(port, 'GET', '/v1/servables')).status).toBe(401);
  });

  it('takes the Bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await send(port, 'GET', '/v1/servables', { headers: { authorization: `${scheme} ${token}` } })).status, scheme).toBe(200);
    }
    expect((await send(port, 'GET', '/v1/servables', { headers: { authorization: `Basic ${token}` } })).status).toBe(401);
  });

  it('lets browser mode answer its own pages first and accepts its session instead of the token', async () => {
    const page = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/app/', headers: { host: `127.0.0.1:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(page).toBe(200);
    expect((await send(port, 'GET', '/v1/servables', { headers: { cookie: 'dlhub-session=good' } })).status).toBe(200);
    expect((await send(port, 'GET', '/v1/servables', { headers: { cookie: 'dlhub-session=bad' } })).status).toBe(401);
  });

  it('answers an empty body to /run with a USAGE error instead of running the model on null', async () => {
    const r = await send(port, 'POST', '/v1/servables/twice/run', { headers: { ...auth, 'content-type': 'application/json' }, body: '' });
    expect(r.status).toBe(400);
    expect(r.body?.error?.code).toBe('USAGE');
    expect(r.body?.error?.message).toMatch(/empty/);
  });

  it('answers a chunked body over the limit with 413, and still answers after', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const r = await send(port, 'POST', '/v1/servables/twice/run', {
      headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      *chunks() {
        for (let sent = 0; sent <= MAX_BODY_BYTES + chunk.length; sent += chunk.length) yield chunk;
      },
    });
    expect(r.status).toBe(413);
    expect(r.body?.error?.code).toBe('INPUT_TOO_LARGE');
    expect((await send(port, 'GET', '/health')).status).toBe(200);
  }, 60_000);

  it('refuses a call over the concurrency cap with 503 BUSY and Retry-After', async () => {
    const slow = send(port, 'POST', '/v1/servables/twice/run', { headers: auth, body: JSON.stringify({ input: { s: 2 }, runtime: 'host', noCache: true }) });
    await waitFor('the slow call to hold the only slot', async () => (await dlhub.status()).inFlight === 1);
    const refused = await send(port, 'POST', '/v1/servables/twice/run', { headers: auth, body: JSON.stringify({ input: 1, runtime: 'host', noCache: true }) });
    expect(refused.status).toBe(503);
    expect(refused.body?.error?.code).toBe('BUSY');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await slow).status).toBe(200);
  }, 60_000);

  it('keeps answering after malformed and hostile requests', async () => {
    const hostile: string[] = [
      'GET /v1/servables HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n',
      'POST /v1/servables/twice/run HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"in',
      'GARBAGE\r\n\r\n',
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n${'X-Pad: y\r\n'.repeat(2000)}\r\n`,
    ];
    for (const text of hostile) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(text));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
        setTimeout(() => socket.destroy(), 500).unref();
      });
    }
    const bodies = ['{"input": {"$ndarray": {"dtype": "float64", "shape": [-1], "data": ""}}}', '{"__proto__": {"x": 1}, "input": 1}', `{"input": ${'['.repeat(5000)}${']'.repeat(5000)}}`];
    for (const body of bodies) {
      const r = await send(port, 'POST', '/v1/servables/twice/run', { headers: auth, body });
      expect(r.status, body.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(r.status, body.slice(0, 40)).toBeLessThan(500);
    }
    expect((await send(port, 'GET', '/v1/servables', { headers: auth })).status).toBe(200);
  });
});
