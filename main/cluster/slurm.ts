// Slurm's portable command-line interface (sbatch --parsable, squeue -h -o, scancel, sinfo), run
// on this machine or, for a cluster added with --ssh, on its login node through ssh.
import { execFile } from 'node:child_process';
import type { ClusterInfo, ClusterReport } from '../contract/clusters.js';
import { WorkerError } from '../errors.js';

/** One Slurm command's answer. */
export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Quote a word for the remote shell of `ssh`. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Run a Slurm command of `cluster` (locally, or through ssh USER@HOST). */
export function slurm(cluster: Pick<ClusterInfo, 'ssh'>, cmd: string, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  const [file, argv] = cluster.ssh
    ? ['ssh', ['-o', 'BatchMode=yes', cluster.ssh, [cmd, ...args].map(shellQuote).join(' ')]]
    : [cmd, args];
  return new Promise((resolve) => {
    execFile(file, argv, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, stdout, stderr: stderr || (err ? err.message : '') });
    });
  });
}

/** The error for a Slurm command that failed. */
export function slurmFailed(cluster: ClusterInfo, what: string, r: CommandResult): WorkerError {
  return new WorkerError('CLUSTER_FAILED', `Slurm on cluster "${cluster.name}" refused to ${what}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, {
    hint: cluster.ssh ? `Check that \`ssh ${cluster.ssh} sinfo\` works without a password.` : 'Check that `sinfo` answers on this machine (slurmctld running, SLURM_CONF set).',
  });
}

/** Seconds of a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]; undefined when not given or unreadable. */
export function timeLimitSeconds(time: string | undefined): number | undefined {
  if (!time || !/^\d+(-\d+)?(:\d+){0,2}$/.test(time)) return undefined;
  const [daysPart, rest] = time.includes('-') ? time.split('-', 2) : [undefined, time];
  const days = daysPart === undefined ? 0 : Number(daysPart);
  const parts = (rest ?? '').split(':').map(Number);
  if (parts.some((n) => !Number.isFinite(n)) || !Number.isFinite(days)) return undefined;
  let s: number;
  if (daysPart !== undefined) {
    const [h = 0, m = 0, sec = 0] = parts;
    s = h * 3600 + m * 60 + sec;
  } else if (parts.length === 1) s = (parts[0] ?? 0) * 60;
  else if (parts.length === 2) s = (parts[0] ?? 0) * 60 + (parts[1] ?? 0);
  else s = (parts[0] ?? 0) * 3600 + (parts[1] ?? 0) * 60 + (parts[2] ?? 0);
  return days * 86400 + s;
}

/** Submit `script` as an array of `count` pilot jobs; answers the array's job id. */
export async function submitArray(cluster: ClusterInfo, o: { script: string; count: number; name: string; logDir: string; gpus: number }): Promise<string> {
  const args = ['--parsable', `--array=0-${o.count - 1}`, `--job-name=${o.name}`, `--output=${o.logDir}/%A_%a.out`, '--ntasks=1'];
  if (cluster.partition) args.push(`--partition=${cluster.partition}`);
  if (cluster.account) args.push(`--account=${cluster.account}`);
  if (cluster.time) args.push(`--time=${cluster.time}`);
  if (o.gpus > 0) args.push(`--gres=gpu:${o.gpus}`);
  args.push(o.script);
  const r = await slurm(cluster, 'sbatch', args);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (!r.ok || !/^\d+$/.test(id)) throw slurmFailed(cluster, 'submit the pilot jobs', r);
  return id;
}

/** The array elements of `jobIds` Slurm still holds (pending or running), as `ID_TASK` or `ID_[range]` strings. */
export async function liveJobs(cluster: ClusterInfo, jobIds: string[]): Promise<Set<string> | undefined> {
  if (jobIds.length === 0) return new Set();
  const r = await slurm(cluster, 'squeue', ['-h', '-o', '%i|%T', `--jobs=${jobIds.join(',')}`]);
  // squeue answers an error for ids that have all left the queue: that is "none alive", not a failure.
  if (!r.ok) return /Invalid job id/i.test(r.stderr) ? new Set() : undefined;
  const live = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const [id, state] = line.trim().split('|');
    if (id && state && !['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE'].includes(state)) live.add(id);
  }
  return live;
}

/** Cancel jobs (every element of an array). */
export async function cancelJobs(cluster: ClusterInfo, jobIds: string[]): Promise<void> {
  if (jobIds.length > 0) await slurm(cluster, 'scancel', jobIds);
}

/** What `doctor` says of a cluster: does sinfo answer, its partitions, their nodes and GPUs. */
export async function clusterReport(cluster: ClusterInfo): Promise<ClusterReport> {
  const r = await slurm(cluster, 'sinfo', ['-h', '-o', '%R|%a|%D|%G'], 10_000);
  if (!r.ok) return { name: cluster.name, reachable: false, reason: r.stderr.trim().split('\n').pop() ?? 'sinfo failed', partitions: [] };
  const partitions = r.stdout.split('\n').filter(Boolean).map((line) => {
    const [name = '', state = '', nodes = '0', gres = ''] = line.split('|');
    const gpus = [...gres.matchAll(/gpu(?::[\w-]+)?:(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    return { name, state, nodes: Number(nodes) || 0, gpus: gpus * (Number(nodes) || 0) };
  });
  return { name: cluster.name, reachable: true, partitions };
}
