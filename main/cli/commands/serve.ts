import type { Command } from 'commander';
import { startLocalService } from '../../api/http-server.js';
import type { CliContext } from '../context.js';
import { serviceSocketPath } from '../context.js';

/** `dlhub serve`: the local service that keeps workers warm between commands. */
export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the local service: workers stay warm between commands (stop with Ctrl-C)')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const socket = serviceSocketPath();
      const server = await startLocalService(ctx.api(), socket);
      out.info(`dlhub service listening on ${socket}; other dlhub commands now use its warm workers.`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          server.close();
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      out.info('dlhub service stopped.');
    });
}
