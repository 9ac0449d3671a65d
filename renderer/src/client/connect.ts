// Which way the window reaches the engine: Electron's bridge when the preload put one there, else
// the HTTP door of the page's own origin (browser mode: the session cookie goes along by itself,
// so the page never holds a token). Either way the operations are the door kit's generated client.
import { createCodec } from '../../../main/contract/index.js';
import { createClient } from '../../../main/api/doors/client.js';
import { httpTransport } from '../../../main/api/doors/http-transport.js';
import type { DesktopBridge } from './bridge.js';
import { ipcTransport } from './ipc-transport.js';
import type { Ops } from './ops.js';

declare global {
  interface Window {
    dlhub?: DesktopBridge;
  }
}

/** The operations for this page, and how it reaches them. */
export function connect(): { ops: Ops; mode: 'electron' | 'browser'; bridge: DesktopBridge | undefined } {
  const bridge = window.dlhub;
  if (bridge?.kind === 'electron') return { ops: createClient(ipcTransport(bridge, createCodec())), mode: 'electron', bridge };
  return { ops: createClient(httpTransport({ baseUrl: '' })), mode: 'browser', bridge: undefined };
}
