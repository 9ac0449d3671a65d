// A cluster added with `--ssh USER@HOST`: the Slurm commands run on the login node through ssh (here a
// real OpenSSH server on this machine, test/helpers/sshd.ts, whose sessions know the test cluster's
// SLURM_CONF while this process does not), the spool on the file system both share.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../main/contract/hardware.js';
import { json, runCli } from '../helpers/cli.js';
import { buildEngineServables } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';
import { startSlurm, type TestSlurm } from '../helpers/slurm.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

let tmp: { path: string; remove: () => void };
let home: string;
let slurm: TestSlurm;
let sshd: TestSshd;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  tmp = tempDir('dlhub-slurm-ssh-');
  home = join(tmp.path, 'home');
  slurm = await startSlurm(join(tmp.path, 'slurm'));
  sshd = await startSshd(join(tmp.path, 'sshd'), { SLURM_CONF: slurm.conf });
  // Only the ssh sessions know where the cluster's configuration is: a local sinfo cannot answer.
  env = { DLHUB_HOME: home, DLHUB_SSH_CONFIG: sshd.config, SLURM_CONF: undefined };
  await buildEngineServables(home, join(tmp.path, 'src'), [['double', 'double']], { hostOnly: true });
  for (const args of [['remote', '--ssh', `root@${sshd.alias}`], ['here']]) {
    const r = await runCli(['cluster', 'add', ...args, '--scheduler', 'slurm', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  await slurm?.stop();
  tmp?.remove();
});

describe('a cluster reached through ssh', () => {
  it('doctor asks it through ssh: it answers with its partition, while the same cluster without ssh cannot be asked here', async () => {
    const r = await runCli(['doctor', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const clusters = json<DoctorReport>(r).clusters;
    expect(clusters.find((c) => c.name === 'remote')).toMatchObject({ reachable: true, partitions: [expect.objectContaining({ name: 'debug', default: true })] });
    expect(clusters.find((c) => c.name === 'here')?.reachable).toBe(false);
  }, 60_000);

  it('dlhub run --batch --on answers in order through pilots submitted over ssh', async () => {
    const r = await runCli(['run', 'double', '--batch', '--input', '[1, 2, 3, 4, 5]', '--on', 'remote', '--no-cache', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ output: unknown[] }>(r).output).toEqual([2, 4, 6, 8, 10]);
  }, 120_000);
});
