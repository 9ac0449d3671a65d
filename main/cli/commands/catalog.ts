import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { progressReporter } from '../progress.js';
import { table } from '../output.js';
import type { SearchResult } from '../../catalog/search.js';

function positiveInt(flag: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new UsageError('USAGE', `${flag} takes a whole number of 1 or more, not "${raw}".`);
    return n;
  };
}

function renderResults(r: SearchResult): string {
  if (r.total === 0) return `No servables match ${JSON.stringify(r.query)}.${r.advanced ? '' : ' For field queries add --advanced.'}`;
  const pages = Math.max(1, Math.ceil(r.total / r.pageSize));
  const lines = [
    `${r.total} result${r.total === 1 ? '' : 's'} for ${JSON.stringify(r.query)} (page ${r.page} of ${pages})`,
    '',
    table(['servable', 'version', 'type', 'year', 'title'], r.hits.map((h) => [
      `${h.servable}${h.local ? ' (local)' : ''}`, h.version, h.type, h.year === null ? '' : String(h.year), h.title.length > 60 ? `${h.title.slice(0, 59)}…` : h.title,
    ])),
  ];
  const facet = (name: string, values: { value: string | number; count: number }[]): string | undefined =>
    values.length === 0 ? undefined : `  ${name.padEnd(8)} ${values.slice(0, 6).map((v) => `${v.value} (${v.count})`).join(', ')}`;
  const facets = [facet('type', r.facets.type), facet('domain', r.facets.domains), facet('creator', r.facets.creators), facet('year', r.facets.year)].filter(Boolean);
  if (facets.length > 0) lines.push('', 'refine by:', ...(facets as string[]));
  return lines.join('\n');
}

/** `dlhub search` and `dlhub catalog export|import`. */
export function registerCatalogCommands(program: Command, ctx: CliContext): void {
  program
    .command('search')
    .description('search the catalog offline: free text, or DLHub field queries with --advanced')
    .argument('<query...>', 'e.g. "deep learning", or servable.type:"Keras Model" AND dlhub.domains:"chemistry"')
    .option('--advanced', 'field query syntax: field:value, "phrases", AND/OR/NOT, (…), [A TO B], wild*cards')
    .option('--all-versions', 'every version, not only the newest')
    .option('--page <n>', 'page of results', positiveInt('--page'), 1)
    .option('--page-size <n>', 'results per page', positiveInt('--page-size'), 20)
    .action(async (words: string[], o: { advanced?: boolean; allVersions?: boolean; page: number; pageSize: number }, cmd: Command) => {
      const out = ctx.output(cmd);
      const result = await (await ctx.ops()).searchCatalog({ query: words.join(' '), advanced: o.advanced, allVersions: o.allVersions, page: o.page, pageSize: o.pageSize });
      out.result(result, () => renderResults(result));
    });

  const catalog = program.command('catalog').description('the local catalog: move it to and from machines with no network');
  catalog
    .command('export')
    .description('write the catalog as JSON Lines (one metadata record a line)')
    .argument('<file>', 'output file, e.g. /media/usb/catalog.jsonl')
    .option('--all-versions', 'every version, not only the newest')
    .action(async (file: string, o: { allVersions?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).exportCatalog({ file, allVersions: o.allVersions });
      out.result(r, () => `Wrote ${r.written} record(s) to ${r.file}.`);
    });
  catalog
    .command('import')
    .description('read a JSON Lines catalog; bad lines are reported by number and skipped')
    .argument('<file>', 'a file written by `dlhub catalog export`')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const bar = progressReporter(!out.json);
      let r;
      try {
        r = await (await ctx.ops()).importCatalog({ file }, { onProgress: (p) => bar.update(p) });
      } finally {
        bar.stop();
      }
      out.result(r, () => {
        const lines = [`Imported ${r.imported} record(s) in ${(r.ms / 1000).toFixed(1)} s; skipped ${r.skipped}.`];
        for (const e of r.errors.slice(0, 20)) {
          lines.push(`  line ${e.line}:`, ...e.problems.map((p) => `    ${p.field}: ${p.message} (fix: ${p.fix})`));
        }
        if (r.errors.length > 20) lines.push(`  … and ${r.errors.length - 20} more (use --json for all)`);
        return lines.join('\n');
      });
    });
}
