import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { progressReporter } from '../progress.js';
import { list } from './parse.js';
// From the contract, not the runtime registry: importing the registry loads Docker's client in every command.
import { RUNTIME_NAMES, type RuntimeName } from '../../contract/runtimes.js';

/** `dlhub init` and `dlhub build`. */
export function registerServableCommands(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('describe a model folder as a servable: detect its type and write dlhub.json')
    .argument('[dir]', 'the folder holding the model', '.')
    .option('--name <name>', 'servable name (default: the folder name)')
    .option('--title <title>', 'title shown in the catalog')
    .option('--creator <name...>', 'creators as "Family, Given" (repeatable)')
    .option('--description <text>', 'what the servable does')
    .option('--domain <domain...>', 'science domains, e.g. chemistry (repeatable)')
    .option('--version <version>', 'servable version', undefined)
    .option('--year <year>', 'publication year')
    .option('--license <license>', 'licence name or URL')
    .addOption(new Option('--type <type>', 'servable kind (default: detected from the files)').choices(['sklearn', 'python', 'keras', 'torch', 'onnx']))
    .option('--model <file>', 'the model file when the folder holds several')
    .option('--module <file>', 'Python module file of a function servable')
    .option('--function <name>', 'function to serve from the module')
    .option('--no-deterministic', 'the servable may answer the same input differently: never cache its results')
    .option('--force', 'overwrite an existing dlhub.json')
    .action(async (dir: string, o: Record<string, unknown>, cmd: Command) => {
      const out = ctx.output(cmd);
      const result = await (await ctx.ops()).initServable({
        dir,
        name: o['name'] as string | undefined,
        title: o['title'] as string | undefined,
        creators: list(o['creator']),
        description: o['description'] as string | undefined,
        domains: list(o['domain']),
        version: o['version'] as string | undefined,
        year: o['year'] === undefined ? undefined : Number(o['year']),
        license: o['license'] as string | undefined,
        type: o['type'] as never,
        model: o['model'] as string | undefined,
        module: o['module'] as string | undefined,
        function: o['function'] as string | undefined,
        deterministic: o['deterministic'] as boolean,
        overwrite: o['force'] === true,
      });
      out.result(result, () => {
        const methods = Object.keys(result.metadata.servable.methods ?? {}).join(', ');
        const lines = [
          `Wrote ${result.path}`,
          `  type     ${result.metadata.servable.type ?? '?'} (${result.detected.reason})`,
          `  name     ${result.metadata.dlhub.name}`,
          `  methods  ${methods}`,
        ];
        if (result.todo.length > 0) lines.push('Still to fill in:', ...result.todo.map((t) => `  - ${t}`));
        lines.push(`Next: dlhub build ${dir}`);
        return lines.join('\n');
      });
    });

  program
    .command('build')
    .description('package a servable folder into a local container image (or prepare it for the host runtime)')
    .argument('[dir]', 'folder with dlhub.json', '.')
    .option('--force', 'rebuild even when an image for this exact content exists')
    .addOption(new Option('--runtime <runtime>', 'docker: require an image; host: prepare files only').choices(RUNTIME_NAMES))
    .option('--base-image <ref>', 'base image (default DLHUB_BASE_IMAGE or python:3.11-slim)')
    .option('--accept-installed', 'build a pinned package the base image cannot satisfy offline with the version it has (recorded in the image labels and describe)')
    .action(async (dir: string, o: { force?: boolean; runtime?: RuntimeName; baseImage?: string; acceptInstalled?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const bar = progressReporter(!out.json);
      let result;
      try {
        result = await (await ctx.ops()).buildServable(
          { dir, force: o.force, runtime: o.runtime, baseImage: o.baseImage, acceptInstalled: o.acceptInstalled },
          { onProgress: (p) => bar.update(p) },
        );
      } finally {
        bar.stop();
      }
      out.result(result, () => {
        const head = `Servable ${result.name}${result.version ? ` ${result.version}` : ''} is ready (content ${result.contentKey.slice(0, 12)}).`;
        if (!result.image) return `${head}\nNo image: ${result.imageSkipped ?? ''}.\nRun it: dlhub run ${result.name} --input '...'`;
        const how = result.image.rebuilt ? `built in ${result.image.seconds.toFixed(1)} s` : 'unchanged, not rebuilt';
        return `${head}\nImage ${result.image.tag} (${how}).\nRun it: dlhub run ${result.name} --input '...'`;
      });
    });
}
