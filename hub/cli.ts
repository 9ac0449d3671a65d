// The `dlhub-hub` command: `serve`, and the administrator's `users` and `groups` commands, which
// write the same store the server reads (SQLite under DLHUB_HUB_HOME, or --db postgres://…).
import { Command, CommanderError } from 'commander';
import { writeFileSync } from 'node:fs';
import { DlhubError, UsageError, toDlhubError } from '../main/errors.js';
import { NAME_PATTERN } from './contract.js';
import { buildHubOpenApi } from './openapi.js';
import { hashPassword, hashSecret, newClientCredentials } from './secrets.js';
import { hubHome, startHub } from './server.js';
import { openStore } from './store/open.js';
import type { HubStore } from './store/store.js';

const NAME = new RegExp(NAME_PATTERN);

function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new UsageError('USAGE', `${kind} "${name}" is not a hub name: lower-case letters, digits, ".", "_" and "-", at most 64, starting with a letter or digit, no "..".`, { hint: 'Pick a name such as "alice" or "materials-lab".' });
  return name;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function withStore<T>(db: string | undefined, fn: (s: HubStore) => Promise<T>): Promise<T> {
  const store = await openStore(hubHome(), db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function needUser(store: HubStore, user: string): Promise<void> {
  if (!(await store.user(user))) throw new UsageError('USAGE', `No user "${user}".`, { hint: `Add it first: dlhub-hub users add ${user}` });
}

async function needGroup(store: HubStore, group: string): Promise<void> {
  if ((await store.groupOwner(group)) === undefined) throw new UsageError('USAGE', `No group "${group}".`, { hint: `Add it first: dlhub-hub groups add ${group} --owner USER` });
}

function program(out: (line: string) => void): Command {
  const cmd = new Command('dlhub-hub').description('The DLHub hub: accounts, publishing, sync and the registry\'s token service').exitOverride();
  cmd.command('serve')
    .description('Serve the hub API (and start docker-registry unless --registry or --no-registry)')
    .option('--port <port>', 'TCP port (0: a free one)', '8770')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--registry <host:port>', 'use this registry (configured for the hub\'s tokens) instead of starting one')
    .option('--no-registry', 'run without a registry (metadata only)')
    .option('--db <url>', 'postgres://… (default: SQLite in DLHUB_HUB_HOME)')
    .action(async (o: { port: string; host: string; registry?: string | boolean; db?: string }) => {
      const registry = o.registry === false ? 'none' : typeof o.registry === 'string' ? o.registry : 'managed';
      const hub = await startHub({ home: hubHome(), port: Number(o.port), host: o.host, registry, db: o.db });
      out(`dlhub-hub listening on ${hub.url} registry ${hub.registryAddress ?? 'none'}`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await hub.stop();
    });
  cmd.command('openapi')
    .description('Write the hub\'s OpenAPI document')
    .argument('[file]', 'where (default: standard output)')
    .action((file?: string) => {
      const text = `${JSON.stringify(buildHubOpenApi(), null, 2)}\n`;
      if (file) writeFileSync(file, text);
      else process.stdout.write(text);
    });
  const users = cmd.command('users').description('Hub accounts');
  users.command('add')
    .argument('<name>')
    .option('--password <password>', 'the password (default: read from standard input)')
    .option('--client', 'make client credentials for headless use (prints clientId and clientSecret)')
    .option('--db <url>', 'postgres://… (default: SQLite in DLHUB_HUB_HOME)')
    .action(async (name: string, o: { password?: string; client?: boolean; db?: string }) => {
      checkName('User', name);
      const creds = o.client ? newClientCredentials() : undefined;
      const password = o.password ?? (creds ? undefined : await readStdin());
      if (password !== undefined && password.length < 1) throw new UsageError('USAGE', 'The password is empty.', { hint: 'Pass --password P or write it on standard input.' });
      await withStore(o.db, async (s) => s.addUser({ name, passwordHash: password === undefined ? null : await hashPassword(password), clientId: creds?.clientId ?? null, secretHash: creds ? hashSecret(creds.clientSecret) : null }, Date.now()));
      out(`added user ${name}`);
      if (creds) {
        out(`clientId ${creds.clientId}`);
        out(`clientSecret ${creds.clientSecret}`);
      }
    });
  const groups = cmd.command('groups').description('Groups (a servable shared with a group is seen by its members)');
  groups.command('add').argument('<group>').requiredOption('--owner <user>', 'who manages the group').option('--db <url>')
    .action(async (group: string, o: { owner: string; db?: string }) => {
      checkName('Group', group);
      await withStore(o.db, async (s) => {
        await needUser(s, o.owner);
        await s.addGroup(group, o.owner, Date.now());
      });
      out(`added group ${group} (owner ${o.owner})`);
    });
  groups.command('join').argument('<group>').argument('<user>').option('--db <url>')
    .action(async (group: string, user: string, o: { db?: string }) => {
      await withStore(o.db, async (s) => {
        await needGroup(s, group);
        await needUser(s, user);
        await s.join(group, user);
      });
      out(`${user} joined ${group}`);
    });
  groups.command('leave').argument('<group>').argument('<user>').option('--db <url>')
    .action(async (group: string, user: string, o: { db?: string }) => {
      await withStore(o.db, async (s) => {
        await needGroup(s, group);
        if (!(await s.leave(group, user))) throw new UsageError('USAGE', `${user} is not in ${group}.`, { hint: 'Nothing to do.' });
      });
      out(`${user} left ${group}`);
    });
  return cmd;
}

/** Run `dlhub-hub` with `argv`; answers the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program((line) => process.stdout.write(`${line}\n`)).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const e = err instanceof DlhubError ? err : toDlhubError(err);
    process.stderr.write(`error ${e.code}: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ''}\n`);
    return e.code === 'USAGE' || e.code === 'CONFLICT' ? 2 : 1;
  }
}
