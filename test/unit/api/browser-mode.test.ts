// Browser mode's handler on a bare node:http server: the one-time sign-in code sets an HttpOnly,
// SameSite=Strict cookie and redirects to the clean address (refused a second time), the cookie
// authenticates and nothing else does, pages carry the CSP, only the built files are served, API
// paths are left to the door, and a page asked under another host name gets nothing.
import { createServer, request, type Server } from 'node:http';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserMode, isLoopbackHost, readCookie, type BrowserMode } from '../../../main/api/doors/browser-mode.js';
import { tempDir } from '../../helpers/home.js';

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

describe('browser mode', () => {
  const work = tempDir('dlhub-browser-mode-');
  const root = join(work.path, 'renderer');
  let mode: BrowserMode;
  let server: Server;
  let base: string;
  let port = 0;

  function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(async () => {
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>DLHub Desktop</title>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(work.path, 'secret.txt'), 'secret');
    symlinkSync(join(work.path, 'secret.txt'), join(root, 'assets', 'link.js'));
    mode = createBrowserMode({ root });
    server = createServer((req, res) => {
      void Promise.resolve(mode.handle(req, res)).then((answered) => {
        if (answered) return;
        res.writeHead(mode.authenticate(req) ? 200 : 401);
        res.end('door');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => {
    server.close();
    work.remove();
  });

  it('the one-time code sets an HttpOnly SameSite=Strict cookie and redirects to the address without it; a second use is refused', async () => {
    const url = new URL(mode.signInUrl(base));
    const token = url.searchParams.get('token') ?? '';
    expect(await get(`/v1/status`)).toMatchObject({ status: 401 });
    const wrong = await get('/?token=not-the-code');
    expect(wrong.status).toBe(401);
    const first = await get(`/?token=${token}`);
    expect(first.status).toBe(303);
    expect(first.headers['location']).toBe('/');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/^dlhub-session-[0-9a-f]+=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(token);
    const session = cookie.split(';')[0] ?? '';
    expect(await get('/v1/status', { cookie: session })).toMatchObject({ status: 200, body: 'door' });
    expect(await get('/v1/status', { cookie: `${session.slice(0, -2)}xx` })).toMatchObject({ status: 401 });
    expect(await get('/v1/status', { cookie: `other=1; ${session}; more=2` })).toMatchObject({ status: 200 });
    const again = await get(`/?token=${token}`);
    expect(again.status).toBe(401);
    expect(again.body).toContain('already used');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('serves the built files with the CSP, and nothing outside them (links not followed)', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('DLHub Desktop');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(await get('/assets/index-abc.js')).toMatchObject({ status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' } });
    expect((await get('/assets/link.js')).status).toBe(404);
    expect((await get('/../secret.txt')).status).toBe(404);
    expect((await get('/assets/%2e%2e/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/', {}, 'HEAD')).status).toBe(200);
  });

  it('leaves API paths and other methods to the door', async () => {
    expect((await get('/health')).body).toBe('door');
    expect((await get('/openapi.json')).body).toBe('door');
    expect((await get('/', {}, 'POST')).body).toBe('door');
  });

  it('gives nothing to a page asked for under another host name (DNS rebinding)', async () => {
    const r = await get('/', { host: `evil.example:${port}` });
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('DLHub Desktop</title>');
    expect(isLoopbackHost('localhost:1')).toBe(true);
    expect(isLoopbackHost('[::1]:8765')).toBe(true);
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
  });

  it('reads cookies from any Cookie header without throwing', () => {
    expect(readCookie('a=1; b=2', 'b')).toBe('2');
    expect(readCookie(undefined, 'b')).toBeUndefined();
    fc.assert(fc.property(fc.string(), fc.string({ minLength: 1 }), (header, name) => {
      const v = readCookie(header, name);
      expect(v === undefined || typeof v === 'string').toBe(true);
    }));
  });
});
