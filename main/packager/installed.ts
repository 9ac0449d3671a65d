import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { BuildError, errorMessage } from '../errors.js';
import type { PythonDependencies } from '../servable/metadata.js';

/** A pinned dependency the base image cannot satisfy, built with the version it has instead (`--accept-installed`). */
export interface Substitution {
  package: string;
  /** The specifier dlhub.json asked for, e.g. "0.19.1" or ">=1.4". */
  wanted: string;
  /** The version the base image has. */
  installed: string;
}

// Runs inside the base image: ensure_deps.py's own specifier rules decide, so the probe and the
// build can never disagree about what "satisfied" means.
const PROBE = `
import json, os, sys
import importlib.metadata as md
ns = {"__name__": "ensure_deps"}
exec(os.environ["DLHUB_ENSURE_DEPS"], ns)
out = {}
for name, spec in json.loads(os.environ["DLHUB_WANTED"]).items():
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        have = None
    out[name] = {"installed": have, "ok": have is not None and ns["satisfies"](have, spec or "")}
sys.stdout.write("DLHUB-PROBE " + json.dumps(out) + "\\n")
`;

/**
 * Which declared Python packages the base image does not satisfy but has in another version.
 * Runs one throwaway container (no network, removed after) with ensure_deps.py's rules.
 */
export async function probeSubstitutions(docker: Dockerode, baseImage: string, runnerDir: string, wanted: PythonDependencies): Promise<Substitution[]> {
  const pinned = Object.fromEntries(Object.entries(wanted).filter(([, spec]) => spec !== null && spec !== ''));
  if (Object.keys(pinned).length === 0) return [];
  const source = await readFile(join(runnerDir, 'ensure_deps.py'), 'utf8');
  let text = '';
  try {
    const container = await docker.createContainer({
      Image: baseImage,
      Cmd: ['python3', '-c', PROBE],
      Env: [`DLHUB_ENSURE_DEPS=${source}`, `DLHUB_WANTED=${JSON.stringify(pinned)}`],
      Tty: true,
      Labels: { 'org.dlhub.probe': 'installed-versions' },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await container.start();
      await container.wait();
      text = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  } catch (err) {
    throw new BuildError('BUILD_FAILED', `Could not ask base image "${baseImage}" which package versions it has: ${errorMessage(err)}`, {
      hint: 'Check that the base image exists (`docker images`) and has python3, or build without --accept-installed.',
    });
  }
  const line = text.split(/\r?\n/).find((l) => l.startsWith('DLHUB-PROBE '));
  if (line === undefined) {
    throw new BuildError('BUILD_FAILED', `Base image "${baseImage}" did not report its package versions: ${text.trim().slice(-400)}`, {
      hint: 'The base image needs python3 (3.8 or newer); set DLHUB_BASE_IMAGE to one that has it.',
    });
  }
  const found = JSON.parse(line.slice('DLHUB-PROBE '.length)) as Record<string, { installed: string | null; ok: boolean }>;
  return Object.entries(found)
    .filter(([, f]) => !f.ok && f.installed !== null)
    .map(([pkg, f]) => ({ package: pkg, wanted: pinned[pkg] as string, installed: f.installed as string }))
    .sort((a, b) => (a.package < b.package ? -1 : 1));
}
