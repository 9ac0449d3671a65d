import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { humanBytes, safeText, table } from '../output.js';

/** `dlhub ls`, `dlhub rm`, `dlhub runtimes`, `dlhub cache stats|clear`. */
export function registerManageCommands(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list the servables on this machine')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const rows = await (await ctx.ops()).listServables({});
      out.result(rows, () =>
        rows.length === 0
          ? 'No servables yet. Start with: dlhub init DIR && dlhub build DIR'
          : table(['name', 'version', 'type', 'methods', 'image'], rows.map((r) => [r.name, r.version ?? '', r.type ?? '', r.methods.join(','), r.image ?? '(host)'])),
      );
    });

  program
    .command('rm')
    .description('remove a servable: its files, its image and its cached results')
    .argument('<name>', 'servable name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).removeServable({ name });
      out.result(r, () => `Removed ${r.name}${r.imageRemoved ? ' and its image' : ''}; ${r.memoEntriesRemoved} cached result(s) dropped.${r.imageKept ? `\nThe image stays: ${safeText(r.imageKept)}.` : ''}`);
    });

  program
    .command('runtimes')
    .description('the runtimes servables can run on here: available or not (and why), and their version')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const rows = await (await ctx.ops()).listRuntimes({});
      out.result(rows, () =>
        table(['runtime', 'available', 'version or reason'], rows.map((r) => [r.name, r.available ? 'yes' : 'no', safeText((r.available ? r.version : r.reason) ?? '')])),
      );
    });

  const cache = program.command('cache').description('the memo cache of results');
  cache
    .command('stats')
    .description('entries, size, hits and misses')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const s = await (await ctx.ops()).cacheStats({});
      out.result(s, () => [
        `${s.file}`,
        `  entries  ${s.entries}`,
        `  size     ${humanBytes(s.bytes)} of ${humanBytes(s.budgetBytes)}`,
        `  hits     ${s.hits}   misses ${s.misses}`,
        ...(s.servables.length > 0 ? ['', table(['servable', 'entries', 'size'], s.servables.map((v) => [v.name, String(v.entries), humanBytes(v.bytes)]))] : []),
      ].join('\n'));
    });
  cache
    .command('clear')
    .description('drop cached results (all, or one servable\'s)')
    .argument('[name]', 'only this servable')
    .action(async (name: string | undefined, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).cacheClear({ name });
      out.result(r, () => `Dropped ${r.removed} cached result(s).`);
    });
}
