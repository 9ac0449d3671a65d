import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeLimitSeconds } from '../../../main/cluster/slurm.js';
import { execArgs } from '../../../main/runtime/apptainer.js';

describe('Slurm time limits as pilots read them', () => {
  it('reads every form sbatch --time takes', () => {
    expect(timeLimitSeconds('30')).toBe(1800);
    expect(timeLimitSeconds('0:20')).toBe(20);
    expect(timeLimitSeconds('1:00:00')).toBe(3600);
    expect(timeLimitSeconds('2-03')).toBe(2 * 86400 + 3 * 3600);
    expect(timeLimitSeconds('1-00:30:15')).toBe(86400 + 1815);
    expect(timeLimitSeconds(undefined)).toBeUndefined();
    expect(timeLimitSeconds('soon')).toBeUndefined();
  });

  it('never throws and answers a whole number of seconds or nothing, whatever the text', () => {
    const timeish = fc.stringMatching(/^[0-9:-]{0,12}$/);
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 20 }), timeish), (text) => {
      const s = timeLimitSeconds(text);
      if (s !== undefined) expect(Number.isSafeInteger(s) && s >= 0, `${JSON.stringify(text)} -> ${s}`).toBe(true);
    }), { numRuns: 500, seed: 17 });
  });
});

describe('apptainer exec command line', () => {
  it('isolates by default and asks for GPUs and network only when given', () => {
    const plain = execArgs({ image: '/x.sif', gpu: false, network: false, env: { A: '1' } });
    expect(plain.slice(0, 4)).toEqual(['exec', '--containall', '--cleanenv', '--no-home']);
    expect(plain).toContain('--network');
    expect(plain).not.toContain('--nv');
    expect(plain.slice(-3)).toEqual(['/x.sif', 'python3', '/opt/dlhub/runner/dlhub_runner.py']);
    const gpu = execArgs({ image: '/x.sif', gpu: true, network: true, bind: '/h:/run/dlhub', env: {} });
    expect(gpu).toContain('--nv');
    expect(gpu).not.toContain('--network');
    expect(gpu[gpu.indexOf('--bind') + 1]).toBe('/h:/run/dlhub');
  });
});
