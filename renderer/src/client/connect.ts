// Which way the window reaches the engine: Electron's bridge when the preload put one there,
// else the HTTP door of the page's own origin (browser mode, signed in by cookie).
import type { DesktopBridge } from './bridge.js';
import { createHttpOps } from './http-client.js';
import { createIpcOps } from './ipc-client.js';
import type { Ops } from './ops.js';

declare global {
  interface Window {
    dlhub?: DesktopBridge;
  }
}

/** The operations for this page, and how it reaches them. */
export function connect(): { ops: Ops; mode: 'electron' | 'browser'; bridge: DesktopBridge | undefined } {
  const bridge = window.dlhub;
  if (bridge?.kind === 'electron') return { ops: createIpcOps(bridge), mode: 'electron', bridge };
  return { ops: createHttpOps(), mode: 'browser', bridge: undefined };
}
