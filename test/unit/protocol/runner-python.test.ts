import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHIM_TYPES } from '../../../main/servable/metadata.js';

const RUNNER_DIR = fileURLToPath(new URL('../../../resources/runner', import.meta.url));

describe('the dlhub_runner package (Python side)', () => {
  it('passes its unittest suite under Debian\'s Python with numpy', () => {
    const run = spawnSync('/usr/bin/python3', ['-m', 'unittest', '-v', 'test_runner', 'test_values'], {
      cwd: RUNNER_DIR,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
    });
    if (run.status !== 0) console.error(run.stderr);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/Ran \d+ tests/);
    expect(run.stderr).toMatch(/\nOK\s*$/);
  });

  it('loads exactly the shims that build accepts: one loader per framework in its table', () => {
    const run = spawnSync('/usr/bin/python3', ['-c', 'import json; from dlhub_runner.loaders import LOADERS; print(json.dumps(sorted(LOADERS)))'], {
      cwd: RUNNER_DIR,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(Object.keys(SHIM_TYPES).sort());
  });

  it('prints its version', () => {
    const run = spawnSync('/usr/bin/python3', [`${RUNNER_DIR}/dlhub_runner.py`, '--version'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
