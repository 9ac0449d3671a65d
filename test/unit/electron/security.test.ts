// The Electron shell's security as data (Electron itself cannot start on these machines): web
// preferences, navigation, permissions, the trusted sender, and the IPC handlers generated from
// the operations table (one per operation, refusing other senders, progress sent back by call id).
import { describe, expect, it } from 'vitest';
import { OP_NAMES } from '../../../main/contract/operations.js';
import { ipcHandlers, type Engine, type IpcCaller } from '../../../electron/ipc.js';
import { APP_URL, IPC_CHANNELS, WEB_PREFERENCES, ipcChannel, isAppUrl, navigationDecision, permissionAllowed, trustedSender } from '../../../electron/security.js';
import { CONTENT_SECURITY_POLICY } from '../../../main/api/doors/browser-mode.js';
import { NotFoundError } from '../../../main/errors.js';

describe('the window\'s settings', () => {
  it('isolates the page: context isolation, sandbox, no Node in any frame or worker, no webview', () => {
    expect(WEB_PREFERENCES).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, webviewTag: false, allowRunningInsecureContent: false });
  });

  it('sends a CSP with no inline script, no eval and no other origin', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('compares origins parsed: look-alike addresses are not the app', () => {
    expect(isAppUrl(APP_URL)).toBe(true);
    expect(isAppUrl('app://dlhub/#/tasks')).toBe(true);
    for (const url of ['app://dlhub.evil.com/', 'app://dlhub:81/', 'app://user@dlhub/', 'file:///app://dlhub/', 'https://dlhub/', 'app://dlhubx/', 'not a url']) {
      expect(isAppUrl(url), url).toBe(false);
    }
  });

  it('navigation stays in the app; web links open in the system browser; anything else goes nowhere', () => {
    expect(navigationDecision('app://dlhub/index.html#/catalog')).toBe('allow');
    expect(navigationDecision('https://www.dlhub.org/')).toBe('external');
    expect(navigationDecision('http://127.0.0.1:8765/')).toBe('external');
    expect(navigationDecision('file:///etc/passwd')).toBe('deny');
    expect(navigationDecision('javascript:alert(1)')).toBe('deny');
    expect(navigationDecision('https://user:pw@evil.example/')).toBe('deny');
  });

  it('refuses every permission but writing the clipboard', () => {
    expect(permissionAllowed('clipboard-sanitized-write')).toBe(true);
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'clipboard-read', 'midi', 'pointerLock']) expect(permissionAllowed(p), p).toBe(false);
  });

  it('trusts only the app\'s own top frame', () => {
    expect(trustedSender({ url: APP_URL, parent: null })).toBe(true);
    expect(trustedSender({ url: APP_URL, parent: {} })).toBe(false);
    expect(trustedSender({ url: 'https://evil.example/', parent: null })).toBe(false);
    expect(trustedSender(null)).toBe(false);
  });
});

describe('IPC handlers from the operations table', () => {
  const calls: { op: string; req: unknown }[] = [];
  const engine = Object.fromEntries(OP_NAMES.map((op) => [op, (req: unknown, ctx: { onProgress?: (e: unknown) => void }) => {
    calls.push({ op, req });
    if (op === 'buildServable') {
      ctx.onProgress?.({ phase: 'build', step: 1, total: 1, message: 'FROM base' });
      return Promise.resolve({ name: 'iris', contentKey: 'k' });
    }
    if (op === 'describeServable') return Promise.reject(new NotFoundError('SERVABLE_NOT_FOUND', 'No servable "x".'));
    return Promise.resolve({ op, bytes: new Uint8Array([1, 2]) });
  }])) as unknown as Engine;
  const { handlers } = ipcHandlers(engine);
  const sent: unknown[] = [];
  const app: IpcCaller = { senderFrame: { url: APP_URL, parent: null }, send: (e) => sent.push(e) };

  it('has exactly one channel per operation', () => {
    expect([...handlers.keys()].sort()).toEqual([...IPC_CHANNELS].sort());
    expect(IPC_CHANNELS).toHaveLength(OP_NAMES.length);
    expect(ipcChannel('runServable')).toBe('dlhub:op:runServable');
  });

  it('answers the envelope with values through the codec, and sends progress by call id', async () => {
    await expect(handlers.get('dlhub:op:status')?.(app, {}, 'c1')).resolves.toEqual({ result: { op: 'status', bytes: { $bytes: 'AQI=' } } });
    await expect(handlers.get('dlhub:op:buildServable')?.(app, { dir: '/x' }, 'c2')).resolves.toEqual({ result: { name: 'iris', contentKey: 'k' } });
    expect(sent).toEqual([{ callId: 'c2', progress: { phase: 'build', step: 1, total: 1, message: 'FROM base' } }]);
    await expect(handlers.get('dlhub:op:uploadFolder')?.(app, { files: [{ path: 'a', data: { $bytes: 'AQI=' } }] }, 'c3')).resolves.toHaveProperty('result');
    expect(calls.at(-1)).toEqual({ op: 'uploadFolder', req: { files: [{ path: 'a', data: expect.any(Uint8Array) }] } });
  });

  it('returns typed errors, and refuses a sender that is not the app\'s top frame without calling the engine', async () => {
    await expect(handlers.get('dlhub:op:describeServable')?.(app, { name: 'x' }, 'c4')).resolves.toMatchObject({ error: { code: 'SERVABLE_NOT_FOUND' } });
    const before = calls.length;
    const stranger: IpcCaller = { senderFrame: { url: 'https://evil.example/', parent: null }, send: () => {} };
    await expect(handlers.get('dlhub:op:runServable')?.(stranger, { name: 'iris', input: 1 }, 'c5')).resolves.toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const subframe: IpcCaller = { senderFrame: { url: APP_URL, parent: {} }, send: () => {} };
    await expect(handlers.get('dlhub:op:status')?.(subframe, {}, 'c6')).resolves.toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(calls.length).toBe(before);
  });
});
