// A caller that goes away cancels what it asked for, at every door; progress events reach a caller
// over HTTP and the Unix socket while the operation works, before its answer.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { createClient, type ClientOperations } from '../../main/api/doors/client.js';
import { inProcessTransport } from '../../main/api/doors/in-process.js';
import { serviceAnswers, socketTransport } from '../../main/api/doors/socket-transport.js';
import { httpTransport } from '../../main/api/doors/http-transport.js';
import { createHttpDoor, listenOnSocket, listenOnTcp, type RunningDoor } from '../../main/api/doors/http-door.js';
import type { Operations, ProgressEvent } from '../../main/api/operations.js';
import { TaskError } from '../../main/errors.js';
import { buildEngineServables, engineServable } from '../helpers/engine.js';
import { requireDocker, testBaseImage } from '../helpers/docker.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';

/** The three doors over one API: in process, a Unix-socket door and an HTTP door (token checked). */
async function openDoors(api: Operations, socketPath: string): Promise<{ doors: [string, ClientOperations][]; stop: () => Promise<void> }> {
  const socketDoor = createHttpDoor(api);
  await listenOnSocket(socketDoor, socketPath, serviceAnswers);
  const guard = { token: 'cancel-token', hosts: new Set<string>(), origins: new Set<string>() };
  const httpDoor: RunningDoor = createHttpDoor(api, { guard });
  const port = await listenOnTcp(httpDoor, '127.0.0.1', 0);
  guard.hosts.add(`127.0.0.1:${port}`);
  return {
    doors: [
      ['in process', createClient(inProcessTransport(api))],
      ['Unix socket', createClient(socketTransport({ socketPath }))],
      ['HTTP', createClient(httpTransport({ baseUrl: `http://127.0.0.1:${port}`, token: guard.token }))],
    ],
    stop: async () => {
      await socketDoor.stop(1000);
      await httpDoor.stop(1000);
    },
  };
}

describe('a caller that goes away', () => {
  const work = tempDir('dlhub-doors-cancel-');
  let dlhub: Dlhub;
  let opened: Awaited<ReturnType<typeof openDoors>>;

  beforeAll(async () => {
    await buildEngineServables(join(work.path, 'home'), work.path, [['slow', 'double', false]], { hostOnly: true });
    dlhub = new Dlhub({ home: join(work.path, 'home') });
    opened = await openDoors(dlhub, join(work.path, 'cancel.sock'));
  }, 120_000);

  afterAll(async () => {
    await opened?.stop();
    await dlhub?.close();
    work.remove();
  });

  for (const door of ['in process', 'Unix socket', 'HTTP']) {
    it(`${door}: cancels its call; the model's 30 s sleep goes on for nobody, and the next call is answered`, async () => {
      const ops = opened.doors.find(([name]) => name === door)?.[1] as ClientOperations;
      const controller = new AbortController();
      const call = ops.runServable({ name: 'slow', input: { s: 30 }, runtime: 'host' }, { signal: controller.signal });
      const settled = call.then(() => 'answered', (e: unknown) => e);
      await waitFor('the call to reach the engine', async () => (await dlhub.status()).inFlight === 1);
      await new Promise((r) => setTimeout(r, 300));
      controller.abort();
      const err = await settled;
      expect(err).toBeInstanceOf(TaskError);
      expect((err as TaskError).code).toBe('CANCELLED');
      // The service dropped it too: nothing is in flight long before the model would have finished.
      await waitFor('the engine to drop the call', async () => (await dlhub.status()).inFlight === 0, { timeoutMs: 10_000 });
      const next = await ops.runServable({ name: 'slow', input: 4, runtime: 'host' });
      expect(next.output).toBe(8);
    }, 60_000);
  }
});

describe('progress events', () => {
  const work = tempDir('dlhub-doors-progress-');

  afterAll(() => work.remove());

  it('reach a caller over the Unix socket and HTTP while the operation works, before its answer', async () => {
    // An operation that will not answer until its caller has heard its first event: only a door that streams passes.
    let heard: () => void = () => undefined;
    const api = {
      buildServable: async (req: { dir: string }, ctx: { onProgress?: (e: ProgressEvent) => void } = {}) => {
        const gate = new Promise<void>((r) => (heard = r));
        ctx.onProgress?.({ phase: 'prepare', step: 0, total: 2, message: 'first' });
        await gate;
        ctx.onProgress?.({ phase: 'build', step: 1, total: 2, message: 'second' });
        return { name: req.dir, version: '1', contentKey: 'k', image: undefined, imageSkipped: 'stub' };
      },
    } as unknown as Operations;
    const { doors, stop } = await openDoors(api, join(work.path, 'progress.sock'));
    try {
      for (const [name, ops] of doors) {
        const order: string[] = [];
        const answer = await ops.buildServable({ dir: 'probe' }, {
          onProgress: (e) => {
            order.push(e.message);
            heard();
          },
        });
        order.push(`answer ${answer.name}`);
        expect(order, name).toEqual(['first', 'second', 'answer probe']);
      }
      // Without a listener, the same operation answers once, as plain JSON.
      const [, http] = doors[2] as [string, ClientOperations];
      const quiet = http.buildServable({ dir: 'quiet' });
      await new Promise((r) => setTimeout(r, 100));
      heard();
      expect((await quiet).name).toBe('quiet');
    } finally {
      await stop();
    }
  });

  it('of a Docker build reach an HTTP client while it builds', async () => {
    await requireDocker();
    const dlhub = new Dlhub({ home: join(work.path, 'home'), baseImage: testBaseImage(), settings: { workspaces: [work.path] } });
    const { doors, stop } = await openDoors(dlhub, join(work.path, 'build.sock'));
    try {
      const [, http] = doors[2] as [string, ClientOperations];
      const events: ProgressEvent[] = [];
      let answered = false;
      const dir = engineServable(work.path, 'built', 'double');
      const build = http.buildServable({ dir, runtime: 'docker', force: true }, { onProgress: (e) => void (answered || events.push(e)) }).then((r) => {
        answered = true;
        return r;
      });
      const outcome = await build;
      expect(outcome.image?.tag).toBeTruthy();
      expect(events.map((e) => e.phase)).toContain('prepare');
      expect(events.filter((e) => e.phase === 'build').length).toBeGreaterThan(0);
      await dlhub.removeServable({ name: 'built' });
    } finally {
      await stop();
      await dlhub.close();
    }
  }, 300_000);
});
