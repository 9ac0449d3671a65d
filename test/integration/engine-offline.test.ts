// Offline first: with no DLHUB_BASE_IMAGE, a build on a machine without python:3.11-slim uses the
// base image built here from Debian packages, says so, and the servable runs.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import type { ProgressEvent } from '../../main/api/operations.js';
import { engineServable } from '../helpers/engine.js';
import { homeWorkerContainers, requireDocker, suiteHome, testBaseImage } from '../helpers/docker.js';

function hasImage(ref: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('dlhub build with no DLHUB_BASE_IMAGE', () => {
  const suite = suiteHome('dlhub-offline-');
  const saved = process.env['DLHUB_BASE_IMAGE'];
  afterAll(() => {
    if (saved !== undefined) process.env['DLHUB_BASE_IMAGE'] = saved;
    suite.cleanup();
  });

  it('builds on the locally built base image when python:3.11-slim is not here, and says so', async () => {
    await requireDocker();
    const local = testBaseImage();
    // This machine cannot pull; the check is only meaningful where python:3.11-slim is absent.
    expect(hasImage('python:3.11-slim')).toBe(false);
    delete process.env['DLHUB_BASE_IMAGE'];
    const api = new Dlhub({ home: suite.home });
    const said: ProgressEvent[] = [];
    try {
      const built = await api.buildServable({ dir: engineServable(suite.dir, 'offline', 'echo') }, { onProgress: (p) => said.push(p) });
      expect(built.image?.tag).toBeTruthy();
      const note = said.map((p) => p.message).find((m) => m?.startsWith('python:3.11-slim is not in Docker: building on dlhub-base:'));
      expect(note).toContain('DLHUB_BASE_IMAGE');
      expect(local.startsWith('dlhub-base:')).toBe(true);
      await expect(api.runServable({ name: 'offline', input: { ok: 1 }, runtime: 'docker' })).resolves.toMatchObject({ output: { ok: 1 } });
    } finally {
      await api.close();
    }
    expect(homeWorkerContainers(suite.home)).toEqual([]);
  });
});
