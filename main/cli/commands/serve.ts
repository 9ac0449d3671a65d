import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createDoor, listenOnSocket, listenOnTcp, type DoorGuard, type RunningDoor } from '../../api/http-server.js';
import { serviceAnswers } from '../../api/http-client.js';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { serviceSocketPath } from '../context.js';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** Parse `HOST:PORT` (IPv6 in brackets); the host must be loopback unless `allowRemote`. */
export function parseHttpAddress(raw: string, allowRemote: boolean): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError('USAGE', `--http takes HOST:PORT, such as 127.0.0.1:8765, not "${raw}".`, { hint: 'Use --http 127.0.0.1:PORT (PORT 0 picks a free one).' });
  }
  const host = (m[1] ?? '') === '' ? '127.0.0.1' : (m[1] as string).toLowerCase();
  const loopback = host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback && !allowRemote) {
    throw new UsageError('USAGE', `--http ${raw} would listen beyond this machine; the API serves loopback only.`, {
      hint: 'Use --http 127.0.0.1:PORT. To expose it anyway (anyone who gets the token can run your models), add --http-allow-remote.',
    });
  }
  return { host, port };
}

function guardFor(host: string, port: number, anyHost: boolean): DoorGuard {
  const names = new Set([...LOOPBACK_NAMES, host]);
  const hosts = new Set([...names].map((h) => `${h}:${port}`));
  // Forced beyond loopback, clients name the machine as they know it; the token still guards every call.
  return { token: randomBytes(32).toString('base64url'), hosts: anyHost ? undefined : hosts, origins: new Set([...hosts].map((h) => `http://${h}`)) };
}

/** Write a secret readable by this user only (replacing any earlier one, never widening its mode). */
function writePrivate(file: string, text: string): void {
  rmSync(file, { force: true });
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
}

/** `dlhub serve`: the local service that keeps workers warm between commands, and the optional HTTP API. */
export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the local service: workers stay warm between commands (stop with Ctrl-C)')
    .option('--http <host:port>', 'also serve the HTTP API on this loopback address, e.g. 127.0.0.1:8765')
    .option('--http-allow-remote', 'allow --http on an address other than loopback (not recommended)')
    .option('--grace <seconds>', 'on Ctrl-C, how long in-flight calls may finish', '10')
    .action(async (o: { http?: string; httpAllowRemote?: boolean; grace: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const grace = Number(o.grace);
      if (!Number.isFinite(grace) || grace < 0) throw new UsageError('USAGE', `--grace takes a number of seconds, not "${o.grace}".`);
      const address = o.http === undefined ? undefined : parseHttpAddress(o.http, o.httpAllowRemote === true);
      const api = await ctx.api();
      const socket = serviceSocketPath();
      const doors: RunningDoor[] = [];
      const tokenFile = join(api.paths.run, 'api-token');
      const urlFile = join(api.paths.run, 'api-url');
      try {
        const local = createDoor(api);
        await listenOnSocket(local, socket, serviceAnswers);
        doors.push(local);
        out.info(`dlhub service listening on ${socket}; other dlhub commands now use its warm workers.`);
        if (address) {
          const bindHost = address.host.replace(/^\[|\]$/g, '');
          const remote = o.httpAllowRemote === true && !LOOPBACK_NAMES.includes(address.host) && !address.host.startsWith('127.');
          const probe = guardFor(address.host, address.port, remote);
          const http = createDoor(api, probe);
          const port = await listenOnTcp(http, bindHost, address.port);
          // The port is known only now when 0 was asked for: the guard's hosts follow it.
          const guard = guardFor(address.host, port, remote);
          Object.assign(probe, { hosts: guard.hosts, origins: guard.origins });
          doors.push(http);
          const url = `http://${address.host}:${port}`;
          writePrivate(tokenFile, probe.token);
          writePrivate(urlFile, url);
          out.info(`dlhub HTTP API on ${url} (OpenAPI at ${url}/openapi.json); bearer token in ${tokenFile}.`);
        }
        // Tasks a killed service or CLI left unfinished run again here (or fail with the reason).
        const resumed = api.recoverTasks();
        if (resumed.length > 0) out.info(`dlhub service resumed ${resumed.length} unfinished task(s) left by a process that stopped.`);
        const signal = await new Promise<string>((resolve) => {
          process.once('SIGINT', () => resolve('SIGINT'));
          process.once('SIGTERM', () => resolve('SIGTERM'));
        });
        out.info(`dlhub service stopping (${signal}): letting calls in flight finish (up to ${grace} s).`);
        // A second signal while draining stops at once.
        const hurry = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        await Promise.race([Promise.all(doors.map((d) => d.stop(grace * 1000))), hurry]);
      } finally {
        if (address) {
          rmSync(tokenFile, { force: true });
          rmSync(urlFile, { force: true });
        }
        if (doors.length > 0) rmSync(socket, { force: true });
        // Workers stop here (ctx.close also runs, harmlessly, on the way out).
        await api.close();
      }
      out.info('dlhub service stopped.');
    });
}
