import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { homeTag } from '../../main/runtime/docker/image.js';
import { requireDocker, suiteHome, testBaseImage } from '../helpers/docker.js';
import { engineServable } from '../helpers/engine.js';

// Two DLHub homes on one Docker engine build the same servable: its image is named by content, so
// they share it. Removing it in one home must leave the other home's runs working.

const name = `it-shared-${process.pid}`;
const work = suiteHome('dlhub-shared-');
let first: Dlhub;
let second: Dlhub;
let folder: string;

function imageExists(ref: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await requireDocker();
  const baseImage = testBaseImage();
  folder = engineServable(work.dir, name, 'double');
  first = new Dlhub({ home: join(work.dir, 'home-a'), baseImage });
  second = new Dlhub({ home: join(work.dir, 'home-b'), baseImage });
}, 900_000);

afterAll(async () => {
  await first?.close();
  await second?.close();
  execFileSync('sh', ['-c', `docker images -q 'dlhub/${name}' | sort -u | xargs -r docker rmi -f`], { stdio: 'ignore' });
  work.cleanup();
});

describe('an image two homes share', () => {
  it('is built once, tagged for each home, and removed only when no home uses it', async () => {
    const a = await first.buildServable({ dir: folder, runtime: 'docker' });
    const b = await second.buildServable({ dir: folder, runtime: 'docker' });
    expect(a.image?.rebuilt).toBe(true);
    // The second home finds the image its content already earned.
    expect(b.image?.rebuilt).toBe(false);
    expect(b.image?.imageId).toBe(a.image?.imageId);
    expect(a.image?.tag).not.toBe(b.image?.tag);
    expect(a.image?.tag).toBe(homeTag(`dlhub/${name}:${a.contentKey.slice(0, 16)}`, first.paths.root));

    const gone = await first.removeServable({ name });
    expect(gone.imageRemoved).toBe(false);
    expect(gone.imageKept).toBe('another DLHub home uses it');
    expect(imageExists(a.image?.tag ?? '')).toBe(false);
    // The other home still runs it in Docker.
    const run = await second.runServable({ name, input: 21, runtime: 'docker' });
    expect(run).toMatchObject({ output: 42, runtime: 'docker' });

    const last = await second.removeServable({ name });
    expect(last.imageRemoved).toBe(true);
    expect(last.imageKept).toBeUndefined();
    expect(imageExists(a.image?.imageId ?? '')).toBe(false);
  });

  it('is let go of by a home that rebuilds the servable from changed files, and kept while another home uses it', async () => {
    const a1 = await first.buildServable({ dir: folder, runtime: 'docker' });
    const b1 = await second.buildServable({ dir: folder, runtime: 'docker' });
    writeFileSync(join(folder, 'app.py'), `${readFileSync(join(folder, 'app.py'), 'utf8')}\n# changed\n`);
    const a2 = await first.buildServable({ dir: folder, runtime: 'docker' });
    expect(a2.image?.imageId).not.toBe(a1.image?.imageId);
    // The first home's tag of the old build is gone; the image stays for the second home, which still runs it.
    expect(imageExists(a1.image?.tag ?? '')).toBe(false);
    expect(imageExists(b1.image?.tag ?? '')).toBe(true);
    await expect(second.runServable({ name, input: 4, runtime: 'docker', noCache: true })).resolves.toMatchObject({ output: 8 });
    // A worker still running an image keeps it; the second home's service stops before it rebuilds.
    await second.close();
    second = new Dlhub({ home: join(work.dir, 'home-b'), baseImage: testBaseImage() });
    // Once the second home rebuilds too, no home uses the old image and it goes.
    const b2 = await second.buildServable({ dir: folder, runtime: 'docker' });
    expect(b2.image?.imageId).toBe(a2.image?.imageId);
    expect(imageExists(a1.image?.imageId ?? '')).toBe(false);
    await expect(first.runServable({ name, input: 5, runtime: 'docker', noCache: true })).resolves.toMatchObject({ output: 10 });
  });
});
