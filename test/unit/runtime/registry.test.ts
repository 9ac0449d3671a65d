import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../../main/api/dlhub.js';
import { RUNTIME_NAMES } from '../../../main/contract/runtimes.js';
import { DlhubError } from '../../../main/errors.js';
import type { BuildContext } from '../../../main/packager/context.js';
import { RuntimeRegistry } from '../../../main/runtime/registry.js';
import type { ImageMaker, RuntimeRecord, WorkerSpecBase } from '../../../main/runtime/runtime.js';
import type { LocalServable } from '../../../main/servable/registry.js';
import { tempDir } from '../../helpers/home.js';

const tmp = tempDir('dlhub-registry-');
afterAll(() => tmp.remove());

/** A record whose availability and image are set by the test. */
function fake(name: 'docker' | 'host', opts: { rank: number; up: boolean; image?: boolean; lastResort?: boolean }): RuntimeRecord & { built: string[] } {
  const built: string[] = [];
  const image: ImageMaker | undefined = opts.image
    ? {
        chooseBase: async (named) => ({ image: named ?? 'base:1', note: undefined }),
        probeClient: async () => undefined,
        build: async (ctx) => {
          built.push(ctx.tag);
          return { tag: ctx.tag, imageId: 'sha256:1', rebuilt: true, seconds: 0 };
        },
        remove: async () => ({ removed: true }),
      }
    : undefined;
  return {
    name,
    built,
    description: `${name} for tests`,
    rank: opts.rank,
    lastResort: opts.lastResort ?? false,
    image,
    runtime: { name, start: () => Promise.reject(new Error('not in this test')) },
    available: async () => opts.up,
    probe: async () => (opts.up ? { available: true, version: `${name} 1.0` } : { available: false, reason: `${name} is down` }),
    refuses: (s: LocalServable) => (opts.image && !s.image ? { message: 'no image', hint: 'build it' } : undefined),
    digest: async () => 'd',
    workerSpec: async (s: LocalServable): Promise<WorkerSpecBase> => ({ runtime: name, name: s.name, servableDir: s.servableDir, runnerDir: s.runnerDir }),
    unavailable: { message: `${name} is not answering`, hint: 'start it' },
  };
}

const ctx = { tag: 'dlhub/x:abc', dir: '/nowhere' } as BuildContext;

describe('RuntimeRegistry', () => {
  it('has one record for every runtime name in the contract, and nothing else', () => {
    const registry = RuntimeRegistry.standard({ home: tmp.path, runDir: join(tmp.path, 'run'), logDir: join(tmp.path, 'logs'), defaults: { memoryBytes: 1, pidsLimit: 1 } });
    expect([...registry.names()].sort()).toEqual([...RUNTIME_NAMES].sort());
  });

  it('answers each runtime\'s availability, most preferred first, with the reason when down and the version when up', async () => {
    const registry = new RuntimeRegistry([fake('host', { rank: 10, up: true, lastResort: true }), fake('docker', { rank: 0, up: false, image: true })]);
    expect(await registry.availability()).toEqual([
      { name: 'docker', description: 'docker for tests', available: false, reason: 'docker is down' },
      { name: 'host', description: 'host for tests', available: true, version: 'host 1.0' },
    ]);
  });

  it('builds an image with the first runtime that needs one and answers; without one, says why nothing was built', async () => {
    const docker = fake('docker', { rank: 0, up: true, image: true });
    const up = new RuntimeRegistry([docker, fake('host', { rank: 10, up: true, lastResort: true })]);
    expect(await up.build(ctx, undefined, { force: false })).toMatchObject({ image: { tag: 'dlhub/x:abc' }, skipped: undefined });
    expect(docker.built).toEqual(['dlhub/x:abc']);

    const down = new RuntimeRegistry([fake('docker', { rank: 0, up: false, image: true }), fake('host', { rank: 10, up: true, lastResort: true })]);
    expect(await down.build(ctx, undefined, { force: false })).toEqual({ image: undefined, skipped: 'no docker engine answered; the servable runs on the host runtime' });
    expect(await down.build(ctx, 'host', { force: false })).toEqual({ image: undefined, skipped: 'the host runtime was chosen (--runtime host)' });
    const err = await down.build(ctx, 'docker', { force: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DlhubError);
    expect((err as DlhubError).code).toBe('RUNTIME_UNAVAILABLE');
  });

  it('refuses a runtime name it does not know, listing the ones it does', () => {
    const registry = new RuntimeRegistry([fake('host', { rank: 10, up: true, lastResort: true })]);
    const err = (() => {
      try {
        return registry.get('apptainer');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DlhubError);
    expect((err as DlhubError).hint).toBe('Use one of: --runtime host.');
  });
});

describe('Dlhub.listRuntimes', () => {
  it('lists docker as unavailable with the reason when no engine answers, and host with its Python version', async () => {
    const nowhere = new Docker({ socketPath: join(tmp.path, 'no-engine.sock') });
    const api = new Dlhub({ home: join(tmp.path, 'home'), docker: nowhere });
    try {
      const rows = await api.listRuntimes();
      // Most preferred first: docker before the host's Python (other runtimes have their own rows).
      const [docker, host] = ['docker', 'host'].map((n) => rows.find((r) => r.name === n));
      expect(rows.indexOf(docker ?? rows[0]!)).toBeLessThan(rows.indexOf(host ?? rows[0]!));
      expect(docker).toMatchObject({ available: false, reason: expect.stringContaining('not answering') });
      expect(host).toMatchObject({ available: true, version: expect.stringMatching(/^Python 3\.\d+\.\d+ \(/) });
    } finally {
      await api.close();
    }
  });
});
