// `dlhub doctor` and `dlhub fit` against a real single-node Slurm cluster whose node Slurm counts two
// GPUs (gres, no device): doctor lists each cluster added (answering or why not, its Slurm version,
// partitions with CPUs, memory and GPUs per node); fit answers for this machine and each cluster.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import type { DoctorReport, FitReport } from '../../main/contract/hardware.js';
import { json, runCli } from '../helpers/cli.js';
import { engineServable } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';
import { startSlurm, type TestSlurm } from '../helpers/slurm.js';

let tmp: { path: string; remove: () => void };
let home: string;
let slurm: TestSlurm;
let env: Record<string, string>;
const hasGpu = spawnSync('nvidia-smi', ['-L']).status === 0;

beforeAll(async () => {
  tmp = tempDir('dlhub-slurm-doctor-');
  home = join(tmp.path, 'home');
  slurm = await startSlurm(join(tmp.path, 'slurm'), { gpus: 2 });
  env = { DLHUB_HOME: home, SLURM_CONF: slurm.conf };
  const src = join(tmp.path, 'src');
  const gpuOnly = engineServable(src, 'gpu-only', 'double');
  const file = join(gpuOnly, 'dlhub.json');
  const md = JSON.parse(readFileSync(file, 'utf8')) as { dlhub: Record<string, unknown> };
  md.dlhub['resources'] = { gpu: true };
  writeFileSync(file, JSON.stringify(md));
  const api = new Dlhub({ home });
  try {
    await api.buildServable({ dir: gpuOnly, runtime: 'host' });
    await api.buildServable({ dir: engineServable(src, 'plain', 'double'), runtime: 'host' });
    await api.addCluster({ name: 'gpu', scheduler: 'slurm' });
    await api.addCluster({ name: 'greedy', scheduler: 'slurm', gpus: 4 });
    await api.addCluster({ name: 'elsewhere', scheduler: 'slurm', partition: 'nosuch' });
    // Nothing listens for ssh on this port of this machine: the cluster cannot answer.
    await api.addCluster({ name: 'gone', scheduler: 'slurm', ssh: 'nobody@127.0.0.1' });
  } finally {
    await api.close();
  }
}, 120_000);

afterAll(async () => {
  await slurm?.stop();
  tmp?.remove();
});

describe('doctor and fit with clusters', () => {
  it('doctor lists each cluster: answering with its Slurm version and partitions, or the reason it does not', async () => {
    const r = await runCli(['doctor', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const d = json<DoctorReport>(r);
    expect(d.clusters.map((c) => c.name)).toEqual(['elsewhere', 'gone', 'gpu', 'greedy']);
    const gpu = d.clusters.find((c) => c.name === 'gpu');
    expect(gpu).toMatchObject({ scheduler: 'slurm', reachable: true });
    expect(gpu?.version).toMatch(/^slurm(-wlm)? \d+\.\d+/);
    expect(gpu?.partitions).toEqual([{
      name: 'debug', default: true, state: 'up', nodes: 1,
      cpus: availableParallelism(), cpusPerNode: availableParallelism(),
      memoryBytesPerNode: Math.floor(totalmem() / 1024 / 1024 / 2) * 1024 * 1024,
      gpus: 2, gpusPerNode: 2, timeLimit: 'infinite',
    }]);
    const gone = d.clusters.find((c) => c.name === 'gone');
    expect(gone).toMatchObject({ reachable: false, partitions: [] });
    // Refused where nothing listens on port 22, denied where an sshd does not know this key.
    expect(gone?.reason).toMatch(/refused|denied|port|connect/i);

    const text = await runCli(['doctor'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/cluster gpu: answers \(slurm(-wlm)? \d+/);
    expect(text.stdout).toMatch(/debug \(default\) +up +1 +\d+/);
    expect(text.stdout).toContain('cluster gone: does not answer');
  }, 60_000);

  it.skipIf(hasGpu)('fit: a GPU-only servable does not fit here, fits the cluster with GPUs, and each other cluster says why not', async () => {
    const r = await runCli(['fit', 'gpu-only', '--json'], env);
    // It fits somewhere (the cluster): that is a yes.
    expect(r.code, r.stderr).toBe(0);
    const f = json<FitReport>(r);
    expect(f).toMatchObject({ name: 'gpu-only', fits: false, device: 'cpu' });
    const by = (name: string): FitReport['targets'][number] | undefined => f.targets.find((t) => t.cluster === name);
    expect(f.targets[0]).toMatchObject({ where: 'here', fits: false });
    expect(f.targets[0]?.reasons[0]).toContain('needs a GPU');
    expect(by('gpu')).toEqual({ where: 'cluster', cluster: 'gpu', fits: true, device: 'gpu', partition: 'debug', reasons: [], notes: [] });
    expect(by('greedy')).toMatchObject({ fits: false, partition: 'debug' });
    expect(by('greedy')?.reasons[0]).toContain('ask for 4 GPUs');
    expect(by('elsewhere')).toMatchObject({ fits: false, reasons: ['sinfo lists no partition named nosuch'] });
    expect(by('gone')?.fits).toBe(false);
    expect(by('gone')?.reasons[0]).toContain('does not answer');

    const text = await runCli(['fit', 'gpu-only'], env);
    expect(text.stdout).toContain('gpu-only cannot run here:');
    expect(text.stdout).toContain('gpu-only can run on cluster gpu (partition debug) (on the GPU).');
    expect(text.stdout).toContain('gpu-only cannot run on cluster greedy (partition debug):');
  }, 60_000);

  it('fit: a servable that declares nothing fits here and on every cluster that answers with its partition', async () => {
    const f = json<FitReport>(await runCli(['fit', 'plain', '--json'], env));
    expect(f.fits).toBe(true);
    expect(f.targets.map((t) => [t.where === 'here' ? 'here' : t.cluster, t.fits])).toEqual([
      ['here', true], ['elsewhere', false], ['gone', false], ['gpu', true], ['greedy', true],
    ]);
  }, 60_000);

  it('fit exits 1 when the servable fits nowhere: here nor on any cluster', async () => {
    const api = new Dlhub({ home });
    try {
      await api.removeCluster({ name: 'gpu' });
      const r = await runCli(['fit', 'gpu-only', '--json'], env);
      expect(r.code).toBe(hasGpu ? 0 : 1);
      expect(json<FitReport>(r).targets.filter((t) => t.fits)).toEqual(hasGpu ? [expect.objectContaining({ where: 'here' })] : []);
    } finally {
      await api.addCluster({ name: 'gpu', scheduler: 'slurm' });
      await api.close();
    }
  }, 60_000);
});
