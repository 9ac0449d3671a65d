import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { ensureHome, homePaths } from '../../storage/home.js';
import { UserStore, type UserInfo } from '../../storage/users.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';

/** Read a password from standard input: the first line, without its line ending. */
async function passwordFromStdin(name: string): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError('USAGE', `No password for "${name}": pipe it on standard input or give --password.`, {
      hint: `printf '%s\\n' "$PASSWORD" | dlhub users add ${name} --all`,
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '');
}

function withStore<T>(fn: (store: UserStore) => Promise<T> | T): Promise<T> {
  const store = UserStore.open(ensureHome(homePaths()).stateDb);
  return Promise.resolve()
    .then(() => fn(store))
    .finally(() => store.close());
}

function allowed(u: UserInfo): string {
  return u.servables === 'all' ? '(all)' : u.servables.join(',');
}

/** `dlhub users add|rm|ls`: local accounts for instruments that stream over the gRPC door. */
export function registerUserCommands(program: Command, ctx: CliContext): void {
  const users = program.command('users').description('local accounts for instruments streaming over gRPC (dlhub serve --grpc)');
  users
    .command('add')
    .description('add an account, or change its password and servables (password on standard input)')
    .argument('<name>', 'account name')
    .option('--password <password>', 'the password (else the first line of standard input; visible to other users of this machine in the process list)')
    .option('--servables <names>', 'comma-separated servables the account may use')
    .option('--all', 'the account may use every servable')
    .action(async (name: string, o: { password?: string; servables?: string; all?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      if ((o.all === true) === (o.servables !== undefined)) {
        throw new UsageError('USAGE', 'Say which servables the account may use: --servables a,b or --all (one of them).', { hint: `dlhub users add ${name} --servables iris_svm` });
      }
      const servables = o.all ? 'all' : (o.servables ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const password = o.password ?? (await passwordFromStdin(name));
      const user = await withStore((s) => s.add(name, password, servables));
      out.result(user, () => `Account ${user.name} may use ${user.servables === 'all' ? 'every servable' : user.servables.join(', ')}.`);
    });
  users
    .command('rm')
    .description('remove an account (its tokens stop working at their next stream)')
    .argument('<name>', 'account name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      await withStore((s) => s.remove(name));
      out.result({ removed: name }, () => `Removed account ${name}.`);
    });
  users
    .command('ls')
    .description('list the accounts')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const rows = await withStore((s) => s.list());
      out.result(rows, () =>
        rows.length === 0 ? 'No accounts yet. Add one with: dlhub users add NAME --all' : table(['name', 'servables', 'created'], rows.map((u) => [u.name, allowed(u), u.createdAt])),
      );
    });
}
