// The Electron window's security settings as data, so tests can read them without Electron: the
// web preferences, which addresses the window may show, what opens outside, which permissions a
// page gets (none but writing to the clipboard for copy-as-code), and which IPC senders are trusted.
import { OP_NAMES, type OpName } from '../main/contract/operations.js';

/** The scheme and host the renderer is served from inside the app (never file://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'dlhub';
/** The window's first address. */
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** webPreferences of the window (the preload's path is added at start). */
export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
} as const;

/** Permissions a page may have: copy-as-code writes to the clipboard; everything else is refused. */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/** Whether a permission request is granted. */
export function permissionAllowed(permission: string): boolean {
  return ALLOWED_PERMISSIONS.has(permission);
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** Is `url` the app's own page? Compared parsed (scheme, host, port), never as a string prefix. */
export function isAppUrl(url: string): boolean {
  const u = parse(url);
  return u !== undefined && u.protocol === `${APP_SCHEME}:` && u.hostname === APP_HOST && u.port === '' && u.username === '' && u.password === '';
}

/** What happens when the page asks to go to `url`: stay (in-app), open in the system browser (http/https), or nothing. */
export function navigationDecision(url: string): 'allow' | 'external' | 'deny' {
  if (isAppUrl(url)) return 'allow';
  const u = parse(url);
  if (u && (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '') return 'external';
  return 'deny';
}

/** The IPC channel of one operation. */
export function ipcChannel(op: OpName): string {
  return `dlhub:op:${op}`;
}

/** Every IPC channel the main process answers: one per operation of the table, and nothing else but cancel. */
export const IPC_CHANNELS: readonly string[] = OP_NAMES.map(ipcChannel);
/** The channel a page cancels a call on. */
export const CANCEL_CHANNEL = 'dlhub:cancel';
/** The channel progress events and stream items travel to the page on. */
export const EVENT_CHANNEL = 'dlhub:event';

/** Is an IPC message from the app's own top frame (never a subframe or another page)? */
export function trustedSender(frame: { url: string; parent: unknown } | null | undefined): boolean {
  return frame !== null && frame !== undefined && frame.parent === null && isAppUrl(frame.url);
}
