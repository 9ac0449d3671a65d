import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createHttpDoor, listenOnSocket, listenOnTcp, type HttpGuard, type RunningDoor } from '../../api/doors/http-door.js';
import { serviceAnswers } from '../../api/doors/socket-transport.js';
import { createBrowserMode, rendererRoot } from '../../api/doors/browser-mode.js';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { serviceSocketPath } from '../context.js';
import { checkGrpcOptions, startGrpcDoorFromOptions, type GrpcServeOptions } from './serve-grpc.js';

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

function guardFor(host: string, port: number, anyHost: boolean): HttpGuard {
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
    .option('--ui', 'also serve the desktop window in a browser on the --http address (default 127.0.0.1:0); prints a one-time sign-in address')
    .option('--grpc <port>', 'also serve instruments over gRPC (schemas/stream.proto) on PORT or HOST:PORT; accounts: dlhub users')
    .option('--grpc-cert <file>', 'PEM certificate chain: the gRPC door speaks TLS')
    .option('--grpc-key <file>', 'PEM private key of --grpc-cert')
    .option('--grpc-allow-insecure', 'allow --grpc beyond loopback without TLS (passwords and frames in clear; not recommended)')
    .option('--grace <seconds>', 'on Ctrl-C, how long in-flight calls may finish', '10')
    .action(async (o: { http?: string; httpAllowRemote?: boolean; ui?: boolean; grace: string } & GrpcServeOptions, cmd: Command) => {
      const out = ctx.output(cmd);
      const grace = Number(o.grace);
      if (!Number.isFinite(grace) || grace < 0) throw new UsageError('USAGE', `--grace takes a number of seconds, not "${o.grace}".`);
      // The window in a browser needs the HTTP door: --ui alone picks a free loopback port.
      const httpAt = o.http ?? (o.ui === true ? '127.0.0.1:0' : undefined);
      const address = httpAt === undefined ? undefined : parseHttpAddress(httpAt, o.httpAllowRemote === true);
      const browserMode = o.ui === true ? createBrowserMode({ root: rendererRoot() }) : undefined;
      checkGrpcOptions(o);
      const api = await ctx.api();
      const socket = serviceSocketPath();
      const doors: RunningDoor[] = [];
      const stoppers: { stop(graceMs: number): Promise<void> }[] = [];
      const tokenFile = join(api.paths.run, 'api-token');
      const urlFile = join(api.paths.run, 'api-url');
      // What this start made, so a refused or failed start undoes only that: a second `serve` on a served home
      // must not remove the live service's token and address, and a listen failure must not leave a listener behind.
      let wroteToken = false;
      let drained = false;
      try {
        const local = createHttpDoor(api);
        await listenOnSocket(local, socket, serviceAnswers);
        doors.push(local);
        out.info(`dlhub service listening on ${socket}; other dlhub commands now use its warm workers.`);
        if (address) {
          const bindHost = address.host.replace(/^\[|\]$/g, '');
          const remote = o.httpAllowRemote === true && !LOOPBACK_NAMES.includes(address.host) && !address.host.startsWith('127.');
          const probe = guardFor(address.host, address.port, remote);
          const http = createHttpDoor(api, { guard: probe, browserMode });
          const port = await listenOnTcp(http, bindHost, address.port);
          // The port is known only now when 0 was asked for: the guard's hosts follow it.
          const guard = guardFor(address.host, port, remote);
          Object.assign(probe, { hosts: guard.hosts, origins: guard.origins });
          doors.push(http);
          const url = `http://${address.host}:${port}`;
          wroteToken = true;
          writePrivate(tokenFile, probe.token);
          writePrivate(urlFile, url);
          out.info(`dlhub HTTP API on ${url} (OpenAPI at ${url}/openapi.json); bearer token in ${tokenFile}.`);
          if (browserMode) out.info(`DLHub Desktop in your browser (the address signs in once): ${browserMode.signInUrl(url)}`);
        }
        const grpcDoor = await startGrpcDoorFromOptions(api, o, out);
        if (grpcDoor) stoppers.push(grpcDoor);
        // Tasks a killed service or CLI left unfinished run again here (or fail with the reason).
        const resumed = api.recoverTasks();
        if (resumed.length > 0) out.info(`dlhub service resumed ${resumed.length} unfinished task(s) left by a process that stopped.`);
        // Publishes queued while the hub was away go out now and on a timer; the catalog syncs likewise.
        api.hub.startBackground((line) => out.info(line));
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
        await Promise.race([Promise.all([...doors, ...stoppers].map((d) => d.stop(grace * 1000))), hurry]);
        drained = true;
      } finally {
        // A start that failed part way (a port in use) closes what it had opened, so the process exits with the error.
        if (!drained) await Promise.all([...doors, ...stoppers].map((d) => d.stop(0)));
        if (wroteToken) {
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
