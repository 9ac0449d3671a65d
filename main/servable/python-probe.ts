import { spawnSync } from 'node:child_process';
import { DetectError } from '../errors.js';
import { assetPath } from './assets.js';
import { findPythonSync } from './host-python.js';

/** First host Python that has all `modules` (none: any Python 3), or undefined: the one finder's rule (host-python.ts). */
export function findProbePython(modules: readonly string[] = []): string | undefined {
  return findPythonSync(modules)?.path;
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
