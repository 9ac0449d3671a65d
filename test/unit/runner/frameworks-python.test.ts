import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUNNER_DIR = fileURLToPath(new URL('../../../resources/runner', import.meta.url));

describe('the runner\'s PyTorch and ONNX loaders (Python side, Debian\'s torch)', () => {
  it('pass their unittest suite: whole module, TorchScript, state_dict with its class, a GPU-saved file on the CPU, dtypes, GPU refusal, ONNX without onnxruntime', () => {
    const run = spawnSync('/usr/bin/python3', ['-m', 'unittest', '-v', 'test_frameworks'], {
      cwd: RUNNER_DIR,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (run.status !== 0) console.error(run.stderr);
    expect(run.stderr, 'needs Debian\'s python3-torch (scripts/setup.sh installs it)').not.toMatch(/No module named 'torch'/);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/Ran 9 tests/);
    expect(run.stderr).toMatch(/\nOK\s*$/);
  }, 200_000);
});
