// A real single-node Slurm cluster for tests (Debian's slurm-wlm): munged (shared, started once),
// slurmctld and slurmd of this suite on ports of its own, with batch_sched_delay=0 so a job starts
// within about a second. Stopped by PID; its state lives in a folder of the suite.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';
import { isProcessAlive as alive } from '../../main/storage/process-alive.js';

/** A running test cluster: the environment its commands need (SLURM_CONF) and how to stop it. */
export interface TestSlurm {
  conf: string;
  env: Record<string, string>;
  stop: () => Promise<void>;
}

function need(cmd: string): void {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    throw new Error(`These tests need Slurm (${cmd} is missing): run scripts/setup.sh or \`apt-get install slurm-wlm munge\`.`);
  }
}


/** Start munged once per machine: slurmctld and slurmd sign their messages with it. */
function ensureMunge(): void {
  if (spawnSync('pgrep', ['-x', 'munged']).status === 0) return;
  execFileSync('install', ['-d', '-o', 'munge', '-g', 'munge', '-m', '0755', '/run/munge']);
  if (!existsSync('/etc/munge/munge.key')) execFileSync('runuser', ['-u', 'munge', '--', '/usr/sbin/mungekey', '--create']);
  execFileSync('runuser', ['-u', 'munge', '--', '/usr/sbin/munged']);
}

function ensureHostname(): void {
  const host = hostname();
  if (spawnSync('getent', ['hosts', host]).status === 0) return;
  writeFileSync('/etc/hosts', `${readFileSync('/etc/hosts', 'utf8')}\n127.0.1.1 ${host}\n`);
}

/** Start a one-node cluster whose files live in `dir`; its commands need `env` (SLURM_CONF). `gpus` gives its node that many (counted, not real) GPUs. */
export async function startSlurm(dir: string, opts: { gpus?: number } = {}): Promise<TestSlurm> {
  for (const cmd of ['slurmctld', 'slurmd', 'sbatch', 'munged']) need(cmd);
  ensureHostname();
  ensureMunge();
  mkdirSync(join(dir, 'state'), { recursive: true });
  mkdirSync(join(dir, 'spool'), { recursive: true });
  const host = hostname();
  // Ports of this suite's own: two suites on one machine run two clusters side by side.
  const base = 20000 + ((process.pid * 7) % 20000);
  const conf = join(dir, 'slurm.conf');
  const gpus = opts.gpus ?? 0;
  // GPUs Slurm only counts: each stands on a harmless character device (slurmd wants a file per GPU),
  // enough for sinfo and --gres to see them, not to compute on.
  const devices = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom'];
  if (gpus > devices.length) throw new Error(`A test cluster can count at most ${devices.length} GPUs.`);
  if (gpus > 0) writeFileSync(join(dir, 'gres.conf'), `AutoDetect=off\n${devices.slice(0, gpus).map((f) => `Name=gpu File=${f}\n`).join('')}`);
  writeFileSync(conf, [
    'ClusterName=dlhubtest',
    `SlurmctldHost=${host}`,
    `SlurmctldPort=${base}`,
    `SlurmdPort=${base + 1}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SwitchType=switch/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'SchedulerParameters=batch_sched_delay=0,sched_min_interval=0',
    'ReturnToService=2',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/filetxt',
    `JobCompLoc=${join(dir, 'jobcomp.txt')}`,
    'MinJobAge=300',
    'KillWait=2',
    'OverTimeLimit=0',
    'MpiDefault=none',
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
    ...(gpus > 0 ? ['GresTypes=gpu'] : []),
    `NodeName=${host} CPUs=${availableParallelism()} RealMemory=${Math.floor(totalmem() / 1024 / 1024 / 2)}${gpus > 0 ? ` Gres=gpu:${gpus}` : ''} State=UNKNOWN`,
    `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4`,
    '',
  ].join('\n'));
  const env = { SLURM_CONF: conf };
  const withConf = { ...process.env, ...env };
  execFileSync('slurmctld', ['-f', conf], { env: withConf });
  execFileSync('slurmd', ['-f', conf], { env: withConf });
  const pidOf = (name: string): number | undefined => {
    const file = join(dir, `${name}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  };
  const stop = async (): Promise<void> => {
    spawnSync('scancel', ['--full', '-u', 'root'], { env: withConf });
    for (const name of ['slurmd', 'slurmctld']) {
      const pid = pidOf(name);
      if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
      if (pid) await waitFor(`${name} to stop`, () => !alive(pid), { timeoutMs: 15_000 }).catch(() => process.kill(pid, 'SIGKILL'));
    }
  };
  try {
    await waitFor('the Slurm node to be idle', () => {
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env: withConf, encoding: 'utf8' });
      return r.status === 0 && r.stdout.trim() === 'idle';
    }, { timeoutMs: 30_000, everyMs: 200 });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; slurmctld log:\n${existsSync(join(dir, 'slurmctld.log')) ? readFileSync(join(dir, 'slurmctld.log'), 'utf8').slice(-2000) : '(none)'}`);
  }
  return { conf, env, stop };
}
