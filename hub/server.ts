// `dlhub-hub serve` as a function: the store, the HTTP door on a loopback port, and the registry
// (managed, external or none), wired and stopped together.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { UsageError } from '../main/errors.js';
import { createHubDoor } from './door.js';
import { buildHubOpenApi } from './openapi.js';
import { startRegistry, type ManagedRegistry } from './registry.js';
import { TokenSigner, ensureSigningKey } from './registry-token.js';
import { createHubService } from './service.js';
import { openStore } from './store/open.js';
import type { HubStore } from './store/store.js';

/** The hub's home: DLHUB_HUB_HOME, default ~/.dlhub-hub. */
export function hubHome(): string {
  return process.env['DLHUB_HUB_HOME'] || join(homedir(), '.dlhub-hub');
}

/** How a hub starts. */
export interface HubOptions {
  home: string;
  /** 0: a free port. */
  port: number;
  host?: string;
  /** 'managed' starts docker-registry; 'none' runs without; otherwise an external HOST:PORT. */
  registry: string;
  /** A postgres:// URL; unset: SQLite under home. */
  db?: string | undefined;
  /** Requests a minute per token or address (0: none). */
  ratePerMinute?: number;
  /** Default token lifetime, seconds. */
  tokenSeconds?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** A running hub. */
export interface RunningHub {
  url: string;
  /** The registry's host:port, or undefined without one. */
  registryAddress: string | undefined;
  registryPid: number | undefined;
  store: HubStore;
  server: Server;
  stop(): Promise<void>;
}

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError('USAGE', `${name}=${v} is not a number of at least 0.`, { hint: `Unset ${name} or give it a whole number.` });
  return n;
}

/** Start a hub (see HubOptions); the registry's address is known once this resolves. */
export async function startHub(o: HubOptions): Promise<RunningHub> {
  const store = await openStore(o.home, o.db);
  const host = o.host ?? '127.0.0.1';
  let registryAddress = o.registry === 'managed' || o.registry === 'none' ? undefined : o.registry;
  if (registryAddress !== undefined && !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(registryAddress)) {
    await store.close();
    throw new UsageError('USAGE', `--registry ${registryAddress} is not HOST:PORT.`, { hint: 'e.g. --registry 127.0.0.1:5000' });
  }
  const signer = o.registry === 'none' ? undefined : new TokenSigner(ensureSigningKey(o.home));
  // The registry's address is filled in once it runs; the service reads it at each call.
  const service = createHubService({
    store,
    get registryAddress() {
      return registryAddress;
    },
    signer,
    ...(o.tokenSeconds ?? envNumber('DLHUB_HUB_TOKEN_TTL') ? { tokenSeconds: o.tokenSeconds ?? envNumber('DLHUB_HUB_TOKEN_TTL') } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  const server = createHubDoor(service, { ratePerMinute: o.ratePerMinute ?? envNumber('DLHUB_HUB_RATE_LIMIT') ?? 600, openapi: buildHubOpenApi });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UsageError('USAGE', `Cannot listen on ${host}:${o.port}: ${err.message}`, { hint: 'Pick another --port (0 picks a free one).' })));
    server.listen(o.port, host, () => resolve());
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : o.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let managed: ManagedRegistry | undefined;
  if (o.registry === 'managed') {
    try {
      managed = await startRegistry(o.home, url, ensureSigningKey(o.home).cert);
    } catch (err) {
      server.close();
      await store.close();
      throw err;
    }
    registryAddress = managed.address;
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    registryAddress,
    registryPid: managed?.pid,
    store,
    server,
    stop: () => (stopped ??= (async () => {
      await managed?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    })()),
  };
}
