import { spawnSync } from 'node:child_process';
import { DetectError } from '../errors.js';
import { assetPath } from './assets.js';

const found = new Map<string, string | undefined>();

/** Interpreters to try, in order: the user's choice, the one on PATH, the system one. */
function candidates(): string[] {
  const list = [process.env['DLHUB_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  return [...new Set(list)];
}

/** First host Python that imports all `modules` (none: any Python 3), or undefined. Cached per module list. */
export function findProbePython(modules: readonly string[] = []): string | undefined {
  const key = [...modules].sort().join(',');
  if (found.has(key)) return found.get(key);
  const code = modules.length > 0 ? `import ${modules.join(', ')}` : 'import sys; assert sys.version_info >= (3, 8)';
  const hit = candidates().find((python) => spawnSync(python, ['-c', code], { stdio: 'ignore', timeout: 30_000 }).status === 0);
  found.set(key, hit);
  return hit;
}

/** Run resources/runner/inspect_model.py; returns its JSON answer, whose `error` field the caller interprets. */
export function runProbe<T>(python: string, args: readonly string[]): T & { error?: string; type?: string } {
  const script = assetPath('resources', 'runner', 'inspect_model.py');
  const res = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : (res.stderr || `exit code ${String(res.status)}`).trim().split('\n').slice(-3).join(' ');
    throw new DetectError('DETECT_FAILED', `The model probe (${python} inspect_model.py ${args[0] ?? ''}) failed: ${why}`, {
      hint: 'Check that the Python named in DLHUB_PYTHON (or python3) runs, or pass --type and the method types yourself.',
    });
  }
  return JSON.parse(res.stdout) as T & { error?: string; type?: string };
}
