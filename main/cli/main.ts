import { Command, CommanderError } from 'commander';
import { createContext } from './context.js';
import { reportError } from './output.js';
import { registerCatalogCommands } from './commands/catalog.js';
import { registerManageCommands } from './commands/manage.js';
import { registerRunCommands } from './commands/run.js';
import { registerServableCommands } from './commands/servable.js';
import { registerServeCommand } from './commands/serve.js';

/** Build the `dlhub` command tree. */
export function buildProgram(ctx = createContext()): Command {
  const program = new Command('dlhub')
    .description('Package, run and share scientific models on your own machine')
    .version('0.1.0')
    .option('--json', 'print results as JSON for scripts')
    .showHelpAfterError()
    .exitOverride();
  registerServableCommands(program, ctx);
  registerRunCommands(program, ctx);
  registerManageCommands(program, ctx);
  registerCatalogCommands(program, ctx);
  registerServeCommand(program, ctx);
  return program;
}

/** Run the CLI with argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const ctx = createContext();
  const program = buildProgram(ctx);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    return reportError(err, json);
  } finally {
    await ctx.close();
  }
}
