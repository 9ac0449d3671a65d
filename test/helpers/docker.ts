import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';

const BUILD_SCRIPT = fileURLToPath(new URL('../../resources/base-image/build.sh', import.meta.url));

/**
 * A client for the machine's Docker engine. Throws (never skips) when no engine answers, so a
 * suite that needs Docker fails loudly on a machine without one.
 */
export async function requireDocker(): Promise<Docker> {
  const docker = new Docker();
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref()),
    ]);
  } catch (err) {
    throw new Error(
      `These tests need a running Docker engine and none answered (${err instanceof Error ? err.message : String(err)}). ` +
        'Start dockerd (or Docker Desktop) and check that `docker info` works, then run the tests again.',
    );
  }
  return docker;
}

let cachedTag: string | undefined;

/** Tag of the Debian-built base image (python3, numpy, scikit-learn), built once by resources/base-image/build.sh. */
export function testBaseImage(): string {
  if (cachedTag) return cachedTag;
  const out = execFileSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  const tag = out.trim().split('\n').pop();
  if (!tag) throw new Error('resources/base-image/build.sh printed no image tag; run it by hand to see why.');
  cachedTag = tag;
  return tag;
}

/**
 * Ids of the worker containers that belong to one DLHub home (the org.dlhub.home label), running or
 * not. Tests count only their own: other suites and users share the engine.
 */
export function homeWorkerContainers(home: string): string[] {
  const out = execFileSync('docker', ['ps', '-aq', '--filter', 'label=org.dlhub.worker=1', '--filter', `label=org.dlhub.home=${resolve(home)}`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

/** A fresh, unique DLHub home for one suite (its containers carry it as their label); removed by cleanup. */
export function suiteHome(prefix: string): { home: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, home: join(dir, 'home'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
