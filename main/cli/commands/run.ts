import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { exportForDlhub } from '../../servable/dlhub-export.js';
import type { CliContext } from '../context.js';
import { renderValue, table } from '../output.js';
import { parseInput } from './parse.js';
import { RUNTIME_NAMES } from '../../runtime/registry.js';

/** `dlhub run`, `dlhub describe`. */
export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a servable on an input and print its output')
    .argument('<name>', 'servable name')
    .option('--input <json>', 'the input, as JSON')
    .option('--input-file <file>', 'read the input (JSON) from a file')
    .option('--method <method>', 'method to call (default: run, else the first declared)')
    .option('--batch', 'the input is a list of inputs: run them as one batch')
    .option('--no-cache', 'skip the memo cache for this call')
    .addOption(new Option('--runtime <runtime>', 'where to run (default: docker when an engine answers, else host)').choices(RUNTIME_NAMES))
    .action(async (name: string, o: { input?: string; inputFile?: string; method?: string; batch?: boolean; cache: boolean; runtime?: 'docker' | 'host' }, cmd: Command) => {
      const out = ctx.output(cmd);
      const input = parseInput(o);
      if (o.batch && !Array.isArray(input)) {
        throw new UsageError('USAGE', '--batch needs a JSON array of inputs.', { hint: 'For example --batch --input \'[[[5.1,3.5,1.4,0.2]], [[6.7,3.0,5.2,2.3]]]\'.' });
      }
      const result = await (await ctx.ops()).runServable({
        name,
        method: o.method,
        ...(o.batch ? { inputs: input as unknown[] } : { input }),
        noCache: !o.cache,
        runtime: o.runtime,
      });
      out.result(result, () => {
        const hits = Array.isArray(result.cached) ? result.cached.filter(Boolean).length : result.cached ? 1 : 0;
        const total = Array.isArray(result.cached) ? result.cached.length : 1;
        const source = hits === total ? 'memo cache hit' : hits === 0 ? `computed on ${result.runtime}` : `${hits}/${total} from memo cache, rest on ${result.runtime}`;
        return `${renderValue(result.output)}\n(${result.method} · ${source} · ${result.elapsedMs.toFixed(1)} ms)`;
      });
    });

  program
    .command('describe')
    .description('show a servable\'s metadata and methods')
    .argument('<name>', 'servable name')
    .option('--dlhub', "print only the metadata document, in DLHub's published shape (to publish to a DLHub service)")
    .action(async (name: string, o: { dlhub?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const d = await (await ctx.ops()).describeServable({ name });
      if (o.dlhub) {
        process.stdout.write(`${JSON.stringify(exportForDlhub(d.metadata), null, 2)}\n`);
        return;
      }
      out.result(d, () => {
        const dc = d.metadata.datacite;
        const lines = [
          `${d.name}${d.metadata.dlhub.version ? ` ${d.metadata.dlhub.version}` : ''}: ${dc.titles?.[0]?.title ?? ''}`,
          `  type          ${d.metadata.servable.type ?? '?'}`,
          `  creators      ${(dc.creators ?? []).map((c) => c.creatorName).join('; ')}`,
          `  deterministic ${d.deterministic ? 'yes (results are memoized)' : 'no (never cached)'}`,
          `  image         ${d.image?.tag ?? 'none (host runtime)'}`,
          ...(d.substitutions ?? []).map((x) => `  substituted   ${x.package} ${x.installed} (dlhub.json pins ${x.wanted}; built with --accept-installed)`),
          '',
          table(
            ['method', 'input', 'output', 'description'],
            Object.entries(d.methods).map(([m, md]) => [m, describeType(md.input), describeType(md.output), md.input?.description ?? '']),
          ),
        ];
        return lines.join('\n');
      });
    });
}

function describeType(t: { type?: string; shape?: unknown; item_type?: { type?: string } } | undefined): string {
  if (!t) return '?';
  if (t.type === 'ndarray') return `ndarray ${JSON.stringify(t.shape ?? null)}`;
  if (t.type === 'list' && t.item_type?.type) return `list of ${t.item_type.type}`;
  return t.type ?? '?';
}
