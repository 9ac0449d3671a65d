import type { Command } from 'commander';
import type { HubWorkOutcome, OutboxList } from '../../contract/hub.js';
import type { CliContext } from '../context.js';
import { progressReporter } from '../progress.js';
import { safeText, table } from '../output.js';
import { UsageError } from '../../errors.js';

/** The password: typed at a terminal without echo, else the first line of standard input. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.resume();
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return resolve(text);
        }
        if (ch === '\u0003') {
          finish();
          return reject(new Error('interrupted'));
        }
        text = ch === '\u007f' ? text.slice(0, -1) : text + ch;
      }
    };
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

function workLine(r: HubWorkOutcome): string {
  const what = `${r.owner ? `${r.owner}/` : ''}${r.name}${r.version ? `@${r.version}` : ''}`;
  switch (r.status) {
    case 'published': return `Published ${what}${r.digest ? ` (${r.digest})` : ''}.`;
    case 'unchanged': return `${what} is already on the hub with this content; nothing to do.`;
    case 'shared': return `Shared ${what}.`;
    case 'queued': return `The hub cannot be reached: queued as outbox entry ${r.outboxId ?? '?'}; it is sent when the hub is back (dlhub outbox).\n  ${safeText(r.reason ?? '')}`;
  }
}

function outboxTable(r: OutboxList): string {
  const head = r.sent !== undefined ? `Sent ${r.sent}, failed ${r.failed ?? 0}.\n` : '';
  if (r.items.length === 0) return `${head}The outbox is empty.`;
  return head + table(['id', 'kind', 'servable', 'detail', 'status', 'tries', 'note'], r.items.map((i) => [
    String(i.id), i.kind, i.name, i.detail, i.status, String(i.attempts),
    safeText(i.status === 'done' && i.result ? `${i.result.status}${i.result.version ? ` @${i.result.version}` : ''}` : (i.lastError ?? '')).slice(0, 80),
  ]));
}

/** `dlhub login|logout|whoami|publish|share|pull|sync|outbox|hub`: the hub, from this desktop. */
export function registerHubCommands(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('sign in to a hub; the token is kept in $DLHUB_HOME/credentials (mode 0600)')
    .requiredOption('--hub <url>', 'the hub\'s address, e.g. http://127.0.0.1:8770')
    .option('--user <user>', 'your user on the hub')
    .option('--password <password>', 'the password (else typed, or the first line of standard input)')
    .option('--token <token>', 'an existing hub token instead of a user and password')
    .action(async (o: { hub: string; user?: string; password?: string; token?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const clientId = process.env['DLHUB_CLIENT_ID'];
      const clientSecret = process.env['DLHUB_CLIENT_SECRET'];
      const req = o.token ? { hub: o.hub, token: o.token }
        : o.user ? { hub: o.hub, user: o.user, password: o.password ?? (await readPassword()) }
          : clientId && clientSecret ? { hub: o.hub, clientId, clientSecret } : { hub: o.hub };
      const r = await (await ctx.ops()).hubLogin(req);
      out.result(r, () => `Signed in to ${r.hub} as ${r.user}${r.groups?.length ? ` (groups: ${r.groups.join(', ')})` : ''}${r.expiresAt ? `; the sign-in lasts until ${r.expiresAt}` : ''}.`);
    });
  program
    .command('logout')
    .description('sign out: revoke the token on the hub and delete the credentials file')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).hubLogout({});
      out.result(r, () => r.removed ? `Signed out of ${r.hub ?? 'the hub'}${r.revoked ? '; the token is revoked' : ''}.${r.note ? ` ${r.note}` : ''}` : (r.note ?? 'Not signed in.'));
    });
  program
    .command('whoami')
    .description('who this desktop is on the hub')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).hubWhoami({});
      out.result(r, () => `${r.user} at ${r.hub}${r.groups?.length ? ` (groups: ${r.groups.join(', ')})` : ''}`);
    });
  program
    .command('publish')
    .description('publish a built servable (a pipeline: its steps pinned to published versions), or a git repository with dlhub.json at its root, to the hub (queued in the outbox while the hub cannot be reached)')
    .argument('[name]', 'a servable built here (dlhub ls)')
    .option('--visibility <who>', 'public, private or group:GROUP')
    .option('--repo <url-or-path>', 'publish from a git repository instead: an https://, ssh:// or file:// URL, user@host:path, or a local folder')
    .option('--ref <ref>', 'with --repo: the branch, tag or commit (default: its HEAD)')
    .action(async (name: string | undefined, o: { visibility?: string; repo?: string; ref?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      if ((name === undefined) === (o.repo === undefined)) throw new UsageError('USAGE', 'Name a servable built here, or give --repo, but not both.', { hint: 'e.g. dlhub publish iris, or dlhub publish --repo https://github.com/OWNER/REPO' });
      if (o.ref !== undefined && o.repo === undefined) throw new UsageError('USAGE', '--ref goes with --repo.', { hint: 'e.g. dlhub publish --repo URL --ref v1.2' });
      const bar = progressReporter(!out.json);
      const onProgress = bar.update;
      if (o.repo !== undefined) {
        const req = { repo: o.repo, ...(o.ref !== undefined ? { ref: o.ref } : {}), ...(o.visibility !== undefined ? { visibility: o.visibility } : {}) };
        const r = await (await ctx.ops()).publishRepository(req, { onProgress }).finally(bar.stop);
        out.result(r, () => `${safeText(r.repository)} at ${r.commit.slice(0, 12)}: ${workLine(r.publish)}`);
        return;
      }
      const r = await (await ctx.ops()).publishServable({ name: name as string, visibility: o.visibility }, { onProgress }).finally(bar.stop);
      out.result(r, () => workLine(r));
    });
  program
    .command('share')
    .description('share a published servable with a group on the hub')
    .argument('<name>', 'a servable you published')
    .requiredOption('--group <group>', 'the group')
    .action(async (name: string, o: { group: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).shareServable({ name, group: o.group });
      out.result(r, () => workLine(r));
    });
  program
    .command('pull')
    .description('pull a servable from the hub (its image by digest, verified) to run it here offline')
    .argument('<ref>', 'OWNER/NAME or OWNER/NAME@VERSION')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const bar = progressReporter(!out.json);
      let r;
      try {
        r = await (await ctx.ops()).pullServable({ ref }, { onProgress: (p) => bar.update(p) });
      } finally {
        bar.stop();
      }
      out.result(r, () => `${r.unchanged ? 'Already here' : 'Pulled'}: ${r.owner}/${r.name}@${r.version} (${r.steps ? `a pipeline of ${r.steps.join(' -> ')}` : r.digest}); run it with dlhub run ${r.name}.`);
    });
  program
    .command('sync')
    .description('bring the catalog up to date with the hub (search stays offline)')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).syncCatalog({});
      out.result(r, () => `Synced with ${r.hub}: ${r.upserted} record(s) added or updated, ${r.removed} removed${r.skipped ? `, ${r.skipped} skipped (invalid metadata)` : ''}.`);
    });
  program
    .command('outbox')
    .description('publishes and shares waiting for the hub, and what became of them')
    .option('--drain', 'send what waits now')
    .action(async (o: { drain?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const ops = await ctx.ops();
      const r = o.drain ? await ops.drainOutbox({}) : await ops.listOutbox({});
      out.result(r, () => outboxTable(r));
    });
  program
    .command('hub')
    .description('the hub this desktop uses: address, user, online or not, last sync, outbox')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const r = await (await ctx.ops()).hubStatus({});
      out.result(r, () => r.hub
        ? `${r.hub} (${r.online ? 'online' : 'offline'})${r.user ? ` as ${r.user}` : ''}; last sync ${r.lastSync ?? 'never'}; outbox: ${r.queued} waiting, ${r.failed} failed`
        : 'No hub: sign in with dlhub login --hub URL --user U.');
    });
}
