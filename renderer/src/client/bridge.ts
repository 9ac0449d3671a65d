// The one object Electron's preload exposes to the page (window.dlhub): calls go over
// ipcRenderer.invoke to handlers generated from the operations table; progress events and stream
// items come back on one channel by call id. No file system or shell powers: a dropped file's
// path is the only thing it reads, through webUtils.getPathForFile.
import type { OpName } from '../../../main/contract/index.js';

/** One event of a running call: a progress event, a stream item, or the stream's end. */
export type BridgeEvent = { callId: string; progress: unknown } | { callId: string; item: unknown } | { callId: string; end: true; error?: unknown };

/** What `window.dlhub` holds in the Electron window. */
export interface DesktopBridge {
  readonly kind: 'electron';
  /** Call one operation; answers the door's envelope `{result}` or `{error}`. */
  invoke(op: OpName, request: unknown, callId: string): Promise<{ result?: unknown; error?: unknown }>;
  /** Cancel a call by id (its signal aborts in the main process). */
  cancel(callId: string): void;
  /** Listen to progress events and stream items; answers the unsubscribe function. */
  onEvent(listener: (e: BridgeEvent) => void): () => void;
  /** The absolute path of a file or folder dropped on the window. */
  pathForFile(file: File): string;
}
