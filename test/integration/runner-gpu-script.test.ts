/**
 * bench/gpu/run-runner-gpu.sh is carried to a GPU machine that has python3 and torch only; here
 * (no CUDA) it must say so, answer as the model does on the CPU, refuse a GPU-only servable and
 * let one that allows the CPU fall back to it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';

const SCRIPT = fileURLToPath(new URL('../../bench/gpu/run-runner-gpu.sh', import.meta.url));
const tmp = tempDir('dlhub-gpu-script-');
afterAll(() => tmp.cleanup());

describe('the runner GPU script', () => {
  const cuda = spawnSync('/usr/bin/python3', ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)']).status === 0;

  it('runs with python3 and torch alone, checks answers against the model and reports the device it had', () => {
    const out = join(tmp.dir, 'figures.json');
    const r = spawnSync('bash', [SCRIPT, '--calls', '3', '--json', out], { encoding: 'utf8', env: { ...process.env, PYTHON: '/usr/bin/python3' }, timeout: 240_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const figures = JSON.parse(readFileSync(out, 'utf8')) as { cuda: boolean; failures: string[]; checks: string[]; results: { case: string; device: string; batch: number; max_abs_diff: number }[] };
    expect(figures.cuda).toBe(cuda);
    expect(figures.failures).toEqual([]);
    const cases = figures.results.map((x) => `${x.case}/${x.device}/${x.batch}`);
    if (cuda) {
      expect(cases).toEqual(expect.arrayContaining(['saved-on-gpu/cuda/64', 'torchscript-on-gpu/cuda/64', 'gpu-saved-on-cpu/cpu/64']));
    } else {
      expect(r.stdout).toContain('no CUDA device here');
      expect(cases).toEqual(['saved-on-cpu/cpu/1', 'saved-on-cpu/cpu/64']);
      expect(figures.checks[0]).toMatch(/^gpu-only servable refused: the servable needs a GPU/);
      expect(figures.checks[1]).toMatch(/^gpu servable allowing the CPU runs on cpu; note: /);
    }
    for (const x of figures.results) expect(x.max_abs_diff).toBeLessThan(1e-4);
  }, 300_000);
});
