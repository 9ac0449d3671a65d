// The Electron window's whole IPC path without Electron: the renderer's generated client over its
// IPC transport, a bridge standing in for the preload (ipcRenderer.invoke and the event channel),
// the main process's handlers generated from the operations table, and the real engine in process.
// Values, typed errors, progress events and cancellation cross it as they do over HTTP.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../../main/api/dlhub.js';
import { createClient } from '../../../main/api/doors/client.js';
import { inProcessTransport } from '../../../main/api/doors/in-process.js';
import { createCodec, type Operations } from '../../../main/contract/index.js';
import { ipcHandlers, type Engine } from '../../../electron/ipc.js';
import { APP_URL, ipcChannel } from '../../../electron/security.js';
import type { BridgeEvent, DesktopBridge } from '../../../renderer/src/client/bridge.js';
import { ipcTransport } from '../../../renderer/src/client/ipc-transport.js';
import { tempDir } from '../../helpers/home.js';

/** A bridge as the preload builds it, wired straight to the main process's handlers. */
function fakeBridge(engine: Engine): DesktopBridge {
  const { handlers, cancel } = ipcHandlers(engine);
  const listeners = new Set<(e: BridgeEvent) => void>();
  return {
    kind: 'electron',
    invoke: async (op, request, callId) => {
      const handler = handlers.get(ipcChannel(op));
      if (!handler) throw new Error(`no handler for ${op}`);
      // Electron's structured clone: what crosses is plain data.
      const answer = await handler({ senderFrame: { url: APP_URL, parent: null }, send: (e) => listeners.forEach((l) => l(structuredClone(e) as BridgeEvent)) }, structuredClone(request), callId);
      return structuredClone(answer);
    },
    cancel,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    pathForFile: () => '/dropped',
  };
}

describe('the window over IPC', () => {
  const work = tempDir('dlhub-ipc-');
  const dlhub = new Dlhub({ home: join(work.path, 'home') });
  const engine = createClient(inProcessTransport(dlhub)) as unknown as Engine;
  const ops = createClient(ipcTransport(fakeBridge(engine), createCodec())) as Operations;
  afterAll(async () => {
    await dlhub.close();
    work.remove();
  });

  it('answers operations with their values, bytes included', async () => {
    const staged = await ops.uploadFolder({ name: 'probe', files: [{ path: 'app.py', data: new Uint8Array([120, 61, 49]) }] });
    expect(staged).toMatchObject({ files: 1, bytes: 3 });
    expect(staged.dir.startsWith(join(work.path, 'home', 'staging', 'probe-'))).toBe(true);
    await expect(ops.cacheStats({})).resolves.toMatchObject({ entries: 0 });
  });

  it('rebuilds errors with their code and hint', async () => {
    await expect(ops.describeServable({ name: 'nothing-here' })).rejects.toMatchObject({ code: 'SERVABLE_NOT_FOUND', hint: expect.any(String) });
    await expect(ops.searchCatalog({ query: 'dlhub.name:(x', advanced: true })).rejects.toMatchObject({ code: 'QUERY_INVALID', details: { position: expect.any(Number) } });
  });

  it('hands progress events to the caller while the operation runs', async () => {
    const file = join(work.path, 'catalog.jsonl');
    writeFileSync(file, '{"not": "a record"}\n');
    const events: unknown[] = [];
    const report = await ops.importCatalog({ file }, { onProgress: (e) => events.push(e) });
    expect(report).toMatchObject({ imported: 0, skipped: 1 });
    expect(events.length).toBeGreaterThan(0);
  });
});
