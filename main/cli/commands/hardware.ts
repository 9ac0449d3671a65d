import type { Command } from 'commander';
import type { ClusterReport } from '../../contract/clusters.js';
import type { DoctorReport, FitReport, FitTarget } from '../../contract/hardware.js';
import type { CliContext } from '../context.js';
import { humanBytes, safeText, table } from '../output.js';

function doctorText(d: DoctorReport): string {
  const gpus = d.gpus.length === 0
    ? [`  none (${safeText(d.gpuProbe)})`]
    : d.gpus.map((g) => `  ${g.index}: ${safeText(g.name)}, ${humanBytes(g.memoryBytes)}${g.memoryFreeBytes === undefined ? '' : ` (${humanBytes(g.memoryFreeBytes)} free)`}${g.driver ? `, driver ${safeText(g.driver)}` : ''}`);
  return [
    `platform  ${d.platform}`,
    `cpus      ${d.cpus}`,
    `memory    ${humanBytes(d.memoryBytes)} (${humanBytes(d.memoryAvailableBytes)} available)`,
    `disk      ${humanBytes(d.disk.freeBytes)} free of ${humanBytes(d.disk.totalBytes)} at ${safeText(d.disk.path)}`,
    'gpus',
    ...gpus,
    ...(d.dockerGpu === undefined ? [] : [`docker    ${d.dockerGpu ? 'has the NVIDIA runtime (containers can have a GPU)' : 'no NVIDIA runtime (containers get no GPU)'}`]),
    '',
    table(['runtime', 'available', 'version or reason'], d.runtimes.map((r) => [r.name, r.available ? 'yes' : 'no', safeText((r.available ? r.version : r.reason) ?? '')])),
    ...(d.clusters.length === 0 ? [] : ['', ...d.clusters.map(clusterText)]),
  ].join('\n');
}

/** One cluster as `dlhub doctor` shows it: whether it answers (or why not), then a row per partition. */
function clusterText(c: ClusterReport): string {
  if (!c.reachable) return `cluster ${safeText(c.name)}: does not answer (${safeText(c.reason ?? 'no reason given')})`;
  const head = `cluster ${safeText(c.name)}: answers${c.version ? ` (${safeText(c.version)})` : ''}`;
  if (c.partitions.length === 0) return `${head}, no partitions`;
  return [head, table(['partition', 'state', 'nodes', 'cpus/node', 'memory/node', 'gpus/node', 'time limit'], c.partitions.map((p) => [
    `${safeText(p.name)}${p.default ? ' (default)' : ''}`, safeText(p.state), String(p.nodes), String(p.cpusPerNode),
    p.memoryBytesPerNode > 0 ? humanBytes(p.memoryBytesPerNode) : '?', String(p.gpusPerNode), safeText(p.timeLimit),
  ]))].join('\n');
}

function targetText(name: string, t: FitTarget): string {
  const where = t.where === 'here' ? 'here' : `on cluster ${safeText(t.cluster ?? '')}${t.partition ? ` (partition ${safeText(t.partition)})` : ''}`;
  const head = t.fits ? `${name} can run ${where} (on the ${t.device === 'gpu' ? 'GPU' : 'CPU'}).` : `${name} cannot run ${where}:`;
  return [head, ...t.reasons.map((r) => `  - ${safeText(r)}`), ...t.notes.map((n) => `  note: ${safeText(n)}`)].join('\n');
}

function fitText(f: FitReport): string {
  return f.targets.map((t) => targetText(f.name, t)).join('\n');
}

/** `dlhub doctor` and `dlhub fit NAME`: what this machine offers, and whether a servable fits it. */
export function registerHardwareCommands(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('what this machine offers servables: CPUs, RAM, free disk, NVIDIA GPUs, runtimes and their versions; and each cluster added: whether it answers, its Slurm version, partitions and GPUs')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const d = await (await ctx.ops()).doctor({});
      out.result(d, () => doctorText(d));
    });

  program
    .command('fit')
    .description('can a local or catalog servable run on this machine and on each cluster added, and if not, why (exit code 1 when it fits none of them)')
    .argument('<name>', 'servable name (or owner/name from the catalog)')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const f = await (await ctx.ops()).fitServable({ name });
      out.result(f, () => fitText(f));
      // A servable that fits a cluster but not this machine can still be run (`--on CLUSTER`): that is a yes.
      if (!f.targets.some((t) => t.fits)) process.exitCode = 1;
    });
}
