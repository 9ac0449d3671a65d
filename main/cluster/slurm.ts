// Slurm's portable command-line interface (sbatch --parsable, squeue -h -o, scancel, sinfo), run
// on this machine or, for a cluster added with --ssh, on its login node through ssh.
import { execFile } from 'node:child_process';
import type { ClusterInfo, ClusterPartition, ClusterReport } from '../contract/clusters.js';
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

/**
 * The ssh command line that runs `words` on USER@HOST: never a password prompt (BatchMode), a bounded
 * connect time, and the ssh configuration of the user (or the file DLHUB_SSH_CONFIG names: port, key, host).
 */
export function sshArgs(target: string, words: string[]): string[] {
  const config = process.env['DLHUB_SSH_CONFIG'];
  return [...(config ? ['-F', config] : []), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '--', target, words.map(shellQuote).join(' ')];
}

/** Run a Slurm command of `cluster` (locally, or through ssh USER@HOST). */
export function slurm(cluster: Pick<ClusterInfo, 'ssh'>, cmd: string, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  const [file, argv] = cluster.ssh ? ['ssh', sshArgs(cluster.ssh, [cmd, ...args])] : [cmd, args];
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

/** How a job that left the queue ended, as sacct tells it. */
export interface JobEnd {
  /** Slurm's state: COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED... */
  state: string;
  /** "exit:signal", e.g. "3:0" or "0:9". */
  exitCode: string;
}

/** Jobs' ends from `sacct -P -o JobIDRaw,State,ExitCode` lines, by raw job id (a state's "by UID" dropped). */
export function parseSacct(text: string): Map<string, JobEnd> {
  const ends = new Map<string, JobEnd>();
  for (const line of text.split('\n')) {
    const [id = '', state = '', exitCode = ''] = line.trim().split('|');
    const word = state.trim().split(/\s+/)[0] ?? '';
    if (/^\d+$/.test(id) && /^[A-Z_]+$/.test(word)) ends.set(id, { state: word, exitCode: exitCode.trim() });
  }
  return ends;
}

/**
 * How jobs (raw job ids) that left the queue ended: `sacct` from the accounting database, else, where
 * a cluster keeps no accounting (`sacct` says it is disabled), `sacct -c` from the job completion log.
 * Undefined when neither answers.
 */
export async function jobEnds(cluster: ClusterInfo, rawIds: string[]): Promise<Map<string, JobEnd> | undefined> {
  if (rawIds.length === 0) return new Map();
  const args = ['-n', '-P', '-o', 'JobIDRaw,State,ExitCode', `--jobs=${[...new Set(rawIds)].join(',')}`];
  let r = await slurm(cluster, 'sacct', ['-X', ...args]);
  if (!r.ok && /accounting storage is disabled/i.test(r.stderr)) r = await slurm(cluster, 'sacct', ['-c', ...args]);
  return r.ok ? parseSacct(r.stdout) : undefined;
}

/** Words for how a pilot job ended, e.g. "ran out of time (TIMEOUT)". */
export function endText(end: JobEnd | undefined): string {
  if (!end) return 'ended (sacct did not say how)';
  const exit = end.exitCode.split(':');
  switch (end.state) {
    case 'TIMEOUT': return 'ran out of time (TIMEOUT)';
    case 'OUT_OF_MEMORY': return 'ran out of memory (OUT_OF_MEMORY)';
    case 'CANCELLED': return 'was cancelled (CANCELLED)';
    case 'NODE_FAIL': return 'lost its node (NODE_FAIL)';
    case 'PREEMPTED': return 'was preempted (PREEMPTED)';
    case 'BOOT_FAIL': return 'could not boot its node (BOOT_FAIL)';
    case 'DEADLINE': return 'passed its deadline (DEADLINE)';
    case 'COMPLETED': return 'finished (COMPLETED)';
    case 'FAILED': return exit[1] && exit[1] !== '0' ? `was killed by signal ${exit[1]} (FAILED)` : `failed with exit code ${exit[0] ?? '?'} (FAILED)`;
    default: return `ended ${end.state}`;
  }
}

/** Cancel jobs (every element of an array). */
export async function cancelJobs(cluster: ClusterInfo, jobIds: string[]): Promise<void> {
  if (jobIds.length > 0) await slurm(cluster, 'scancel', jobIds);
}

/** The sinfo format `parseSinfo` reads: partition (default marked *), availability, nodes, CPUs, memory (MB), gres, time limit. */
export const SINFO_FORMAT = '%P|%a|%D|%c|%m|%G|%l';

/** GPUs one node's gres string offers, e.g. `gpu:a100:4(S:0-1),shard:8` gives 4; `(null)` gives 0. */
export function gresGpus(gres: string): number {
  let n = 0;
  for (const item of gres.split(',')) {
    // gpu[:type]:count, possibly followed by a socket binding "(S:0-1)".
    const m = /^gpu(?::[^:()]+)?:(\d+)/.exec(item.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}

/** Partitions from `sinfo -h -o SINFO_FORMAT`: one line per partition and node configuration, merged by partition. */
export function parseSinfo(text: string): ClusterPartition[] {
  const byName = new Map<string, ClusterPartition>();
  for (const line of text.split('\n')) {
    const cells = line.trim().split('|');
    if (cells.length < 7) continue;
    const [rawName = '', state = '', nodesText = '', cpusText = '', memText = '', gres = '', timeLimit = ''] = cells;
    const isDefault = rawName.endsWith('*');
    const name = isDefault ? rawName.slice(0, -1) : rawName;
    if (!name) continue;
    // sinfo writes "4+" or "7000+" where the nodes of one line differ: the figure before the + is their least.
    const int = (t: string): number => {
      const v = Number.parseInt(t, 10);
      return Number.isFinite(v) && v > 0 ? v : 0;
    };
    const nodes = int(nodesText);
    const cpusPerNode = int(cpusText);
    const memoryBytesPerNode = int(memText) * 1024 * 1024;
    const gpusPerNode = gresGpus(gres);
    const p = byName.get(name);
    if (!p) {
      byName.set(name, { name, default: isDefault, state, nodes, cpus: cpusPerNode * nodes, cpusPerNode, memoryBytesPerNode, gpus: gpusPerNode * nodes, gpusPerNode, timeLimit });
      continue;
    }
    p.default ||= isDefault;
    p.nodes += nodes;
    p.cpus += cpusPerNode * nodes;
    p.cpusPerNode = Math.max(p.cpusPerNode, cpusPerNode);
    p.memoryBytesPerNode = Math.max(p.memoryBytesPerNode, memoryBytesPerNode);
    p.gpus += gpusPerNode * nodes;
    p.gpusPerNode = Math.max(p.gpusPerNode, gpusPerNode);
  }
  return [...byName.values()];
}

/** The last line of a failed command's error output, else `fallback`. */
function lastLine(r: CommandResult, fallback: string): string {
  return r.stderr.trim().split('\n').pop()?.trim() || fallback;
}

/** What `doctor` says of a cluster: does sinfo answer, the scheduler's version, its partitions with their CPUs, memory and GPUs. */
export async function clusterReport(cluster: ClusterInfo): Promise<ClusterReport> {
  const [r, v] = await Promise.all([
    slurm(cluster, 'sinfo', ['-h', '-o', SINFO_FORMAT], 10_000),
    slurm(cluster, 'sinfo', ['--version'], 10_000),
  ]);
  const base = { name: cluster.name, scheduler: 'slurm' as const };
  if (!r.ok) return { ...base, reachable: false, reason: lastLine(r, 'sinfo failed'), partitions: [] };
  const version = v.ok ? v.stdout.trim().split('\n')[0] : undefined;
  return { ...base, reachable: true, ...(version ? { version } : {}), partitions: parseSinfo(r.stdout) };
}
