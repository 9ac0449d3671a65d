import { Option, type Command } from 'commander';
import type { ClusterInfo, ClusterReport } from '../../contract/clusters.js';
import { RUNTIME_NAMES, type RuntimeName } from '../../contract/runtimes.js';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { safeText, table } from '../output.js';

interface AddFlags {
  scheduler: 'slurm';
  partition?: string;
  account?: string;
  time?: string;
  gpus?: string;
  spool?: string;
  ssh?: string;
  runtime?: RuntimeName;
  pilots?: string;
}

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError('USAGE', `${flag} needs a whole number, not ${JSON.stringify(value)}.`);
  return n;
}

function reportText(r: ClusterReport): string {
  if (!r.reachable) return `not answering (${safeText(r.reason ?? 'unknown')})`;
  return r.partitions.map((p) => `${safeText(p.name)} ${safeText(p.state)}, ${p.nodes} node(s)${p.gpus > 0 ? `, ${p.gpus} GPU(s)` : ''}`).join('; ') || 'no partitions';
}

/** `dlhub cluster add|ls|rm`: the clusters a batch can be sent to with `--on NAME`. */
export function registerClusterCommands(program: Command, ctx: CliContext): void {
  const cluster = program.command('cluster').description('clusters that answer batches through pilot jobs (`dlhub run NAME --batch FILE --on CLUSTER`)');
  cluster
    .command('add')
    .description('add (or replace) a cluster; without --ssh the Slurm commands of this machine are used')
    .argument('<name>', 'what --on will call it')
    .addOption(new Option('--scheduler <scheduler>', 'the batch scheduler').choices(['slurm']).makeOptionMandatory())
    .option('--partition <partition>', 'sbatch --partition')
    .option('--account <account>', 'sbatch --account')
    .option('--time <time>', 'each pilot job\'s time limit (sbatch --time, e.g. 30 or 1:00:00)')
    .option('--gpus <n>', 'GPUs per pilot for servables that declare one (--gres=gpu:N)')
    .option('--spool <dir>', 'a folder the cluster\'s nodes share with this machine (default: DLHUB_HOME/spool/NAME)')
    .option('--ssh <user@host>', 'run the Slurm commands on this login node')
    .addOption(new Option('--runtime <runtime>', 'what each pilot runs the servable with (default host; apptainer on most clusters)').choices(RUNTIME_NAMES))
    .option('--pilots <n>', 'pilot jobs per batch (default 2)')
    .action(async (name: string, o: AddFlags, cmd: Command) => {
      const out = ctx.output(cmd);
      const gpus = count('--gpus', o.gpus);
      const pilots = count('--pilots', o.pilots);
      const info = await (await ctx.ops()).addCluster({
        name, scheduler: o.scheduler,
        ...(o.partition === undefined ? {} : { partition: o.partition }),
        ...(o.account === undefined ? {} : { account: o.account }),
        ...(o.time === undefined ? {} : { time: o.time }),
        ...(gpus === undefined ? {} : { gpus }),
        ...(o.spool === undefined ? {} : { spool: o.spool }),
        ...(o.ssh === undefined ? {} : { ssh: o.ssh }),
        ...(o.runtime === undefined ? {} : { runtime: o.runtime }),
        ...(pilots === undefined ? {} : { pilots }),
      });
      out.result(info, () => `Added cluster ${info.name} (slurm${info.ssh ? ` via ${info.ssh}` : ', this machine'}; pilots run ${info.runtime}; spool ${info.spool}).`);
    });
  cluster
    .command('ls')
    .description('list the clusters, with whether each answers now and its partitions')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const rows = await (await ctx.ops()).listClusters({});
      out.result(rows, () => rows.length === 0
        ? 'No clusters (add one with `dlhub cluster add NAME --scheduler slurm`).'
        : table(['name', 'where', 'runtime', 'pilots', 'status'], rows.map(({ cluster: c, report }: { cluster: ClusterInfo; report: ClusterReport }) => [
          c.name, c.ssh ?? 'this machine', c.runtime, String(c.pilots), reportText(report),
        ])));
    });
  cluster
    .command('rm')
    .description('forget a cluster')
    .argument('<name>', 'cluster name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).removeCluster({ name });
      out.result(r, () => `Removed cluster ${name}.`);
    });
}
