// Browser mode: the HTTP door also serves the desktop window's renderer on 127.0.0.1, and signs the
// page in as Jupyter does. The start prints `http://127.0.0.1:PORT/?token=CODE`; that code works
// once: it sets an HttpOnly, SameSite=Strict session cookie and redirects to the same address
// without it, so the code never stays in the address bar, the history or the page's storage.
// The HTTP door lets this handler answer first and accepts `authenticate(req)` in place of the
// bearer token; Host and Origin are still checked by the door for every operation.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the HTTP door asks of a browser-mode handler. */
export interface BrowserModeHandler {
  /** Answer the request if it is the page's (static files, the sign-in code); false leaves it to the door. */
  handle(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
  /** Whether the request carries this service's session cookie (an alternative to the bearer token). */
  authenticate(req: IncomingMessage): boolean;
}

/** A browser-mode handler plus what the start needs to print its address. */
export interface BrowserMode extends BrowserModeHandler {
  /** The one-time sign-in address for the service's base URL, e.g. http://127.0.0.1:8765/?token=…. */
  signInUrl(baseUrl: string): string;
}

/** How to build browser mode. */
export interface BrowserModeOptions {
  /** The built renderer (dist/renderer): index.html and its assets. */
  root: string;
  /** Host header values the page may be served under; default: loopback names on any port. */
  hostAllowed?: ((host: string) => boolean) | undefined;
}

/**
 * The page's Content-Security-Policy: scripts, styles and calls only from this origin, nothing inline,
 * no frames, no plugins. Electron's window sends the same.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Headers on every page answer (the sign-in redirect included: no Referer may carry the code). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths that belong to the API, never to the page. */
function isApiPath(path: string): boolean {
  return path.startsWith('/v1/') || path === '/v1' || path === '/health' || path === '/openapi.json';
}

/** Loopback names on any port: a page reached under another name (DNS rebinding) gets nothing. */
export function isLoopbackHost(host: string): boolean {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(host.trim());
  if (!m) return false;
  const name = (m[1] ?? '').toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameSecret(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface StaticFile {
  body: Buffer;
  type: string;
  /** Vite names assets by content hash: they never change under one name. */
  immutable: boolean;
}

/** Every file of the built renderer by URL path, read once: nothing outside the folder can be named. */
function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      // Links are not followed: the bundle has none, and one planted there must not reach outside.
      else if (entry.isFile() && statSync(full).size < 16 * 1024 * 1024) {
        const url = `/${relative(root, full).split(sep).join('/')}`;
        files.set(url, { body: readFileSync(full), type: TYPES[extname(full).toLowerCase()] ?? 'application/octet-stream', immutable: url.startsWith('/assets/') });
      }
    }
  };
  walk(root);
  return files;
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`;
  res.writeHead(status, { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Browser mode over the built renderer in `root`. The sign-in code is made here, works once, and
 * differs from the HTTP API's bearer token (which scripts keep using).
 */
export function createBrowserMode(opts: BrowserModeOptions): BrowserMode {
  const code = randomBytes(24).toString('base64url');
  let codeUsed = false;
  const session = randomBytes(32).toString('base64url');
  // Cookies are not kept per port: a name of this service's own keeps two services on one machine apart.
  const cookieName = `dlhub-session-${randomBytes(6).toString('hex')}`;
  const hostAllowed = opts.hostAllowed ?? isLoopbackHost;
  let files: Map<string, StaticFile> | undefined;

  const authenticate = (req: IncomingMessage): boolean => {
    const given = readCookie(req.headers.cookie, cookieName);
    return given !== undefined && sameSecret(given, session);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://page.invalid');
    if (isApiPath(url.pathname) || (method !== 'GET' && method !== 'HEAD')) return false;
    if (!hostAllowed(req.headers.host ?? '')) {
      page(res, 403, 'Refused', 'This page is served only to its loopback address (127.0.0.1).');
      return true;
    }
    const token = url.searchParams.get('token');
    if (token !== null) {
      if (codeUsed || !sameSecret(token, code)) {
        page(res, 401, 'Sign-in link refused', 'This sign-in link was already used or is wrong. If you signed in already, open the address without "?token=…"; otherwise start again (npm start or dlhub serve --ui) for a new link.');
        return true;
      }
      codeUsed = true;
      url.searchParams.delete('token');
      const clean = `${url.pathname}${url.searchParams.size > 0 ? `?${url.searchParams.toString()}` : ''}`;
      res.writeHead(303, {
        ...PAGE_HEADERS,
        location: clean,
        'cache-control': 'no-store',
        'set-cookie': `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/`,
        'content-length': 0,
      });
      res.end();
      return true;
    }
    files ??= loadFiles(opts.root);
    const file = files.get(url.pathname === '/' ? '/index.html' : url.pathname);
    if (!file) {
      page(res, 404, 'Not found', `Nothing at ${url.pathname}. The window lives at /.`);
      return true;
    }
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': file.type,
      'content-length': file.body.length,
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : file.body);
    return true;
  };

  return { handle, authenticate, signInUrl: (baseUrl) => `${baseUrl.replace(/\/$/, '')}/?token=${code}` };
}

/**
 * The built renderer: DLHUB_RENDERER_DIR, else dist/renderer beside the compiled service
 * (dist/main/api/doors -> dist/renderer), else the repository's dist/renderer (running from source).
 */
export function rendererRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [process.env['DLHUB_RENDERER_DIR'], join(here, '..', '..', '..', 'renderer'), join(here, '..', '..', '..', 'dist', 'renderer')];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets'))) return dir;
  throw new UsageError('USAGE', 'The desktop window is not built (no dist/renderer/index.html).', { hint: 'Run `npm run build` first (or set DLHUB_RENDERER_DIR to a built renderer).' });
}
