import type { Command } from 'commander';
import type { DoctorReport, FitReport } from '../../contract/hardware.js';
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
  ].join('\n');
}

function fitText(f: FitReport): string {
  const head = f.fits ? `${f.name} can run here (on the ${f.device === 'gpu' ? 'GPU' : 'CPU'}).` : `${f.name} cannot run here:`;
  return [head, ...f.reasons.map((r) => `  - ${safeText(r)}`), ...f.notes.map((n) => `  note: ${safeText(n)}`)].join('\n');
}

/** `dlhub doctor` and `dlhub fit NAME`: what this machine offers, and whether a servable fits it. */
export function registerHardwareCommands(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('what this machine offers servables: CPUs, RAM, free disk, NVIDIA GPUs, runtimes and their versions')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const ops = await ctx.ops();
      const d = await ops.doctor({});
      // The clusters added (`dlhub cluster add`), each asked whether it answers, beside this machine.
      const clusters = await ops.listClusters({});
      out.result(d, () => [doctorText(d), ...(clusters.length === 0 ? [] : ['', table(['cluster', 'answers', 'partitions'], clusters.map(({ cluster, report }) => [
        cluster.name, report.reachable ? 'yes' : `no (${safeText(report.reason ?? '')})`,
        report.partitions.map((p) => `${safeText(p.name)}: ${p.nodes} node(s)${p.gpus > 0 ? `, ${p.gpus} GPU(s)` : ''}`).join('; '),
      ]))])].join('\n'));
    });

  program
    .command('fit')
    .description('can a local or catalog servable run on this machine, and if not, why (exit code 1 when it cannot)')
    .argument('<name>', 'servable name (or owner/name from the catalog)')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const f = await (await ctx.ops()).fitServable({ name });
      out.result(f, () => fitText(f));
      if (!f.fits) process.exitCode = 1;
    });
}
