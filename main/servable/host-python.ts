import { execFile, spawnSync } from 'node:child_process';
import { RuntimeUnavailableError } from '../errors.js';

/** A host Python interpreter: its absolute path and version (x.y.z). */
export interface PythonInfo {
  path: string;
  version: string;
}

interface Probe {
  path: string;
  version: string;
  missing: string[];
}

const CANDIDATES = ['python3', '/usr/bin/python3', '/usr/local/bin/python3'];
const PROBE_TIMEOUT_MS = 10_000;
// find_spec locates a module without importing it, so probing for sklearn takes milliseconds, not seconds.
const PROBE_SCRIPT = [
  'import importlib.util, json, sys',
  'mods = sys.argv[1:]',
  'missing = [m for m in mods if importlib.util.find_spec(m) is None]',
  'print(json.dumps({"path": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3], "missing": missing}))',
].join('\n');

const probes = new Map<string, Promise<Probe | undefined>>();
const syncProbes = new Map<string, Probe | undefined>();

function parseProbe(stdout: string): Probe | undefined {
  try {
    return JSON.parse(stdout) as Probe;
  } catch {
    return undefined;
  }
}

function probe(command: string, modules: readonly string[]): Promise<Probe | undefined> {
  const key = `${command}\0${modules.join(',')}`;
  let p = probes.get(key);
  if (!p) {
    p = new Promise((resolve) => {
      execFile(command, ['-c', PROBE_SCRIPT, ...modules], { timeout: PROBE_TIMEOUT_MS }, (err, stdout) => {
        resolve(err ? undefined : parseProbe(stdout));
      });
    });
    probes.set(key, p);
  }
  return p;
}

function probeSync(command: string, modules: readonly string[]): Probe | undefined {
  const key = `${command}\0${modules.join(',')}`;
  if (!syncProbes.has(key)) {
    const res = spawnSync(command, ['-c', PROBE_SCRIPT, ...modules], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
    syncProbes.set(key, res.status === 0 ? parseProbe(res.stdout) : undefined);
  }
  return syncProbes.get(key);
}

/** The interpreters tried, in order: DLHUB_PYTHON alone when set (the user's choice), else the usual places. */
function candidates(): { chosen: string | undefined; list: readonly string[] } {
  const chosen = process.env['DLHUB_PYTHON'] || undefined;
  return { chosen, list: chosen ? [chosen] : CANDIDATES };
}

/**
 * The same rule as findPython, for synchronous callers (`dlhub init`'s model probes): the first
 * interpreter that runs and has `requiredModules`, or undefined.
 */
export function findPythonSync(requiredModules: readonly string[] = []): PythonInfo | undefined {
  const modules = [...new Set(requiredModules)].sort();
  for (const candidate of candidates().list) {
    const found = probeSync(candidate, modules);
    if (found && found.missing.length === 0) return { path: found.path, version: found.version };
  }
  return undefined;
}

/**
 * The host Python to run servables with: DLHUB_PYTHON when set, else the first of python3 on
 * PATH, /usr/bin/python3, /usr/local/bin/python3 that runs and has `requiredModules`.
 * Probes are cached for the life of the process.
 */
export async function findPython(requiredModules: string[] = []): Promise<PythonInfo> {
  const modules = [...new Set(requiredModules)].sort();
  const { chosen } = candidates();
  if (chosen) {
    // The user's explicit choice is honoured even without the modules: the runner then names what is missing.
    const found = await probe(chosen, []);
    if (!found) {
      throw new RuntimeUnavailableError(`DLHUB_PYTHON is set to "${chosen}", which does not run as Python 3.`, 'Point DLHUB_PYTHON at a working python3 interpreter, or unset it to let DLHub find one.');
    }
    return { path: found.path, version: found.version };
  }
  const seen: string[] = [];
  for (const candidate of CANDIDATES) {
    const found = await probe(candidate, modules);
    if (!found) continue;
    if (found.missing.length === 0) return { path: found.path, version: found.version };
    seen.push(`${candidate} (${found.version}) lacks ${found.missing.join(', ')}`);
  }
  const needs = modules.length > 0 ? ` with the modules ${modules.join(', ')}` : '';
  throw new RuntimeUnavailableError(
    `No host Python 3${needs} was found${seen.length > 0 ? `: ${seen.join('; ')}` : ` (tried ${CANDIDATES.join(', ')})`}.`,
    `Install ${modules.length > 0 ? modules.join(', ') : 'Python 3'} for a host Python, or set DLHUB_PYTHON to an interpreter that has ${modules.length > 0 ? 'them' : 'it'}; or use --runtime docker.`,
  );
}
