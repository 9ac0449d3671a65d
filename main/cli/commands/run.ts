import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { exportForDlhub } from '../../servable/dlhub-export.js';
import type { CliContext } from '../context.js';
import { renderValue, table } from '../output.js';
import { parseBatchFile, parseInput, timeoutMs } from './parse.js';
// From the contract, not the runtime registry: importing the registry loads Docker's client in every command.
import { RUNTIME_NAMES, type RuntimeName } from '../../contract/runtimes.js';

/** Options shared by `run` and `submit`. */
export function callOptions(cmd: Command): Command {
  return cmd
    .option('--input <json>', 'the input, as JSON')
    .option('--input-file <file>', 'read the input (JSON) from a file (at most DLHUB_MAX_INPUT_BYTES)')
    .option('--method <method>', 'method to call (default: run, else the first declared)')
    .option('--no-cache', 'skip the memo cache for this call')
    .option('--timeout <seconds>', 'give up on the call after this long')
    .addOption(new Option('--runtime <runtime>', 'where to run (default: docker when an engine answers, else host)').choices(RUNTIME_NAMES))
    .option('--on <cluster>', 'send the call to a cluster added with `dlhub cluster add` (pilot jobs answer it)');
}

/** What `run` and `submit` send, from their options. */
export function callRequest(name: string, o: CallFlags): { name: string; method?: string; input?: unknown; inputs?: unknown[]; noCache: boolean; runtime?: RuntimeName; on?: string; timeoutMs?: number } {
  let inputs: unknown[] | undefined;
  if (typeof o.batch === 'string') {
    if (o.input !== undefined || o.inputFile !== undefined) throw new UsageError('USAGE', 'Give --batch FILE, or --batch with --input/--input-file, not both.');
    inputs = parseBatchFile(o.batch);
  } else if (o.batch === true) {
    const list = parseInput(o);
    if (!Array.isArray(list)) {
      throw new UsageError('USAGE', '--batch needs a JSON array of inputs.', { hint: 'Give --batch FILE (a JSON array), or --batch --input \'[[[5.1,3.5,1.4,0.2]], [[6.7,3.0,5.2,2.3]]]\'.' });
    }
    inputs = list;
  }
  const ms = timeoutMs(o.timeout);
  return {
    name,
    ...(o.method === undefined ? {} : { method: o.method }),
    ...(inputs === undefined ? { input: parseInput(o) } : { inputs }),
    noCache: !o.cache,
    ...(o.runtime === undefined ? {} : { runtime: o.runtime }),
    ...(o.on === undefined ? {} : { on: o.on }),
    ...(ms === undefined ? {} : { timeoutMs: ms }),
  };
}

/** Flags of `run` and `submit`. */
export interface CallFlags {
  input?: string;
  inputFile?: string;
  method?: string;
  batch?: boolean | string;
  cache: boolean;
  runtime?: RuntimeName;
  on?: string;
  timeout?: string;
}

/** `dlhub run`, `dlhub describe`. */
export function registerRunCommands(program: Command, ctx: CliContext): void {
  callOptions(program.command('run').description('run a servable on an input and print its output').argument('<name>', 'servable name'))
    .option('--batch [file]', 'run a batch: a JSON array of inputs from FILE (or given with --input/--input-file)')
    .action(async (name: string, o: CallFlags, cmd: Command) => {
      const out = ctx.output(cmd);
      const result = await (await ctx.ops()).runServable(callRequest(name, o));
      out.result(result, () => {
        const hits = Array.isArray(result.cached) ? result.cached.filter(Boolean).length : result.cached ? 1 : 0;
        const total = Array.isArray(result.cached) ? result.cached.length : 1;
        const source = hits === total ? 'memo cache hit' : hits === 0 ? `computed on ${result.runtime}` : `${hits}/${total} from memo cache, rest on ${result.runtime}`;
        const failed = (result.errors ?? []).map((e, i) => (e ? `  inputs[${i}]: ${e.message}` : '')).filter(Boolean);
        const errors = failed.length > 0 ? `\n${failed.length} input(s) failed:\n${failed.join('\n')}` : '';
        const steps = (result.steps ?? []).map((st) => {
          const hit = Array.isArray(st.cached) ? st.cached.every(Boolean) : st.cached;
          return `  step ${st.step} ${st.servable}.${st.method}: ${hit ? 'memo cache hit' : `computed on ${st.runtime}`}, ${st.elapsedMs.toFixed(1)} ms`;
        });
        return `${renderValue(result.output)}${errors}\n(${result.method} · ${source} · ${result.elapsedMs.toFixed(1)} ms)${steps.length > 0 ? `\n${steps.join('\n')}` : ''}`;
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
          `  creators      ${(dc.creators ?? []).map(creatorName).join('; ')}`,
          `  deterministic ${d.deterministic ? 'yes (results are memoized)' : 'no (never cached)'}`,
          d.source === 'catalog'
            ? '  image         none here (a catalog record: not built on this machine)'
            : `  image         ${d.image?.tag ?? 'none (host runtime)'}`,
          ...Object.entries(d.serviceFields ?? {}).map(([k, v]) => `  ${k.padEnd(13)} ${typeof v === 'string' ? v : JSON.stringify(v)}`),
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

/** A creator as DLHub writes one: creatorName, else "familyName, givenName" (the SDK's shape). */
function creatorName(c: { creatorName?: string; familyName?: string; givenName?: string }): string {
  if (c.creatorName) return c.creatorName;
  return [c.familyName, c.givenName].filter(Boolean).join(', ');
}

function describeType(t: { type?: string; shape?: unknown; item_type?: { type?: string } } | undefined): string {
  if (!t) return '?';
  if (t.type === 'ndarray') return `ndarray ${JSON.stringify(t.shape ?? null)}`;
  if (t.type === 'list' && t.item_type?.type) return `list of ${t.item_type.type}`;
  return t.type ?? '?';
}
