import { Command, CommanderError } from 'commander';
import { createContext, type CliContext } from './context.js';
import { reportError } from './output.js';
import { registerCatalogCommands } from './commands/catalog.js';
import { registerManageCommands } from './commands/manage.js';
import { registerHardwareCommands } from './commands/hardware.js';
import { registerRunCommands } from './commands/run.js';
import { registerServableCommands } from './commands/servable.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTaskCommands } from './commands/tasks.js';
import { registerUserCommands } from './commands/users.js';
import { registerHubCommands } from './commands/hub.js';
import { registerClusterCommands } from './commands/cluster.js';

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
  registerTaskCommands(program, ctx);
  registerManageCommands(program, ctx);
  registerHardwareCommands(program, ctx);
  registerCatalogCommands(program, ctx);
  registerServeCommand(program, ctx);
  registerUserCommands(program, ctx);
  registerHubCommands(program, ctx);
  registerClusterCommands(program, ctx);
  // Every command but `serve` (which drains on its own) stops its workers on Ctrl-C before exiting.
  program.hook('preAction', (_root, action) => {
    if (action.name() !== 'serve') stopOnSignals(ctx);
  });
  return program;
}

/**
 * On SIGINT/SIGTERM, close the API (workers stopped: no container, no run/ folder left) and exit
 * with the signal's status; a second signal exits at once.
 */
function stopOnSignals(ctx: CliContext): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    process.stderr.write(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping workers…\n`);
    void ctx.close().finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Run the CLI with argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const ctx = createContext();
  const program = buildProgram(ctx);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    // A command may print its answer and still fail (`dlhub task ID` of a failed task).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    return reportError(err, json);
  } finally {
    await ctx.close();
  }
}
