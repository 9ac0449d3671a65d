// The Electron main process: one window over the same renderer as browser mode, served from the
// app:// scheme with the strict CSP; the engine runs as `dlhub serve` on the system's Node (a child
// process, or the service the user already runs) and the window reaches it through IPC handlers
// generated from the operations table. Kept thin: everything that can be data is in security.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain, protocol, safeStorage, session, shell } from 'electron';
import { createClient } from '../main/api/doors/client.js';
import { serviceAnswers, socketTransport } from '../main/api/doors/socket-transport.js';
import { CONTENT_SECURITY_POLICY, PAGE_HEADERS } from '../main/api/doors/browser-mode.js';
import { answerCredentialRelay, CREDENTIAL_RELAY_ENV, keychainCredentialStore, relayInitText } from '../main/hub/credential-keychain.js';
import { homePaths } from '../main/storage/home.js';
import { ipcHandlers, type Engine } from './ipc.js';
import { APP_HOST, APP_SCHEME, APP_URL, CANCEL_CHANNEL, EVENT_CHANNEL, WEB_PREFERENCES, navigationDecision, permissionAllowed, trustedSender } from './security.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** dist/electron -> dist/renderer, and the repository's bin/dlhub.js. */
const RENDERER = join(here, '..', 'renderer');
const DLHUB_BIN = join(here, '..', '..', 'bin', 'dlhub.js');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** Files of the built renderer only: the path is normalised and must stay inside it. */
async function serveRenderer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname !== APP_HOST) return new Response('not found', { status: 404 });
  const rel = normalize(decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)).replace(/^[/\\]+/, '');
  const file = join(RENDERER, rel);
  if (!file.startsWith(RENDERER + sep)) return new Response('not found', { status: 404 });
  try {
    const body = await readFile(file);
    const ext = rel.slice(rel.lastIndexOf('.'));
    return new Response(body, { headers: { ...PAGE_HEADERS, 'content-type': TYPES[ext] ?? 'application/octet-stream' } });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

/**
 * The engine: the user's running `dlhub serve` when one answers, else one started here on the
 * system's Node. Native modules (better-sqlite3) stay built for that Node: nothing is rebuilt for Electron.
 * The engine started here keeps its hub token through the OS keychain (safeStorage), which only
 * this process can reach: credentials in on its standard input, sign-ins back over IPC.
 */
async function startEngine(): Promise<{ engine: Engine; child: ChildProcess | undefined }> {
  const paths = homePaths();
  const socketPath = join(paths.run, 'service.sock');
  let child: ChildProcess | undefined;
  if (!(await serviceAnswers(socketPath))) {
    const credentials = keychainCredentialStore(paths.credentials, safeStorage);
    child = spawn(process.env['DLHUB_NODE'] ?? 'node', [DLHUB_BIN, 'serve'], {
      stdio: ['pipe', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: undefined, [CREDENTIAL_RELAY_ENV]: 'parent' },
    });
    answerCredentialRelay(child, credentials);
    child.stdin?.end(relayInitText(credentials));
    const deadline = Date.now() + 30_000;
    while (!(await serviceAnswers(socketPath))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`The DLHub service did not start (node ${DLHUB_BIN} serve). Is Node.js 20 or newer on the PATH (or DLHUB_NODE)?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { engine: createClient(socketTransport({ socketPath })) as unknown as Engine, child };
}

function lockDown(win: BrowserWindow): void {
  const contents = win.webContents;
  contents.on('will-navigate', (event, url) => {
    const decision = navigationDecision(url);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'external') void shell.openExternal(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (navigationDecision(url) !== 'allow') event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (navigationDecision(url) === 'external') void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

async function main(): Promise<void> {
  await app.whenReady();
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permissionAllowed(permission)));
  ses.setPermissionCheckHandler((_wc, permission) => permissionAllowed(permission));
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  protocol.handle(APP_SCHEME, serveRenderer);

  const { engine, child } = await startEngine();
  const { handlers, cancel } = ipcHandlers(engine);
  for (const [channel, handler] of handlers) {
    ipcMain.handle(channel, (event, request: unknown, callId: unknown) =>
      handler({ senderFrame: event.senderFrame, send: (e) => event.sender.send(EVENT_CHANNEL, e) }, request, callId),
    );
  }
  ipcMain.on(CANCEL_CHANNEL, (event, callId: unknown) => {
    if (trustedSender(event.senderFrame)) cancel(callId);
  });

  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'DLHub Desktop',
    show: false,
    webPreferences: { ...WEB_PREFERENCES, preload: join(here, 'preload.cjs') },
  });
  lockDown(win);
  win.once('ready-to-show', () => win.show());
  await win.loadURL(APP_URL);

  app.on('window-all-closed', () => {
    child?.kill('SIGINT');
    app.quit();
  });
}

app.on('web-contents-created', (_e, contents) => {
  // Any other web contents (a devtools page, a stray frame) gets the same rules.
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

main().catch((err: unknown) => {
  process.stderr.write(`DLHub Desktop could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  app.exit(1);
});
