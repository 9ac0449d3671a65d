// The preload: the one object the page gets (window.dlhub), built on ipcRenderer.invoke and one
// event channel. It offers calls to the operations, cancel, event subscription and a dropped
// file's path; never file system or shell powers. Runs sandboxed: it requires only 'electron'.
// A sandboxed preload is a CommonJS script that may require only 'electron'.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import electron = require('electron');
import type { DesktopBridge, BridgeEvent } from '../renderer/src/client/bridge.js';

const { contextBridge, ipcRenderer, webUtils } = electron;
const OP_NAME = /^[A-Za-z]{1,64}$/;

const bridge: DesktopBridge = {
  kind: 'electron',
  invoke(op, request, callId) {
    // The main process answers only the channels of the operations table; anything else is never sent.
    if (!OP_NAME.test(op)) return Promise.resolve({ error: { code: 'USAGE', message: `No operation ${String(op)}.` } });
    return ipcRenderer.invoke(`dlhub:op:${op}`, request, callId) as Promise<{ result?: unknown; error?: unknown }>;
  },
  cancel(callId) {
    ipcRenderer.send('dlhub:cancel', callId);
  },
  onEvent(listener) {
    const wrapped = (_e: unknown, event: BridgeEvent): void => listener(event);
    ipcRenderer.on('dlhub:event', wrapped);
    return () => {
      ipcRenderer.removeListener('dlhub:event', wrapped);
    };
  },
  pathForFile(file) {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld('dlhub', bridge);
