// The one place the instruments' gRPC door is started and stopped: `dlhub serve --grpc` and the
// operations startGrpc/stopGrpc/grpcStatus (the window's Settings) both come here, so the address,
// loopback and TLS rules are the same whoever asks.
import { readFile } from 'node:fs/promises';
import { ServiceError, UsageError } from '../../../errors.js';
import type { GrpcStatus } from '../../../contract/grpc.js';
import { UserStore } from '../../../storage/users.js';
import type { Operations } from '../../operations.js';
import { insecureRemote, isLoopback, parseGrpcAddress } from './address.js';
import type { RunningGrpcDoor } from './service.js';

/** A PEM certificate chain and its key. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** How to start the door. */
export interface GrpcStartOptions {
  /** PORT (on 127.0.0.1) or HOST:PORT; PORT 0 picks a free one. */
  address: string;
  tls?: TlsPair | undefined;
  /** Listen beyond loopback without TLS anyway: only the CLI's --grpc-allow-insecure sets it. */
  allowInsecureRemote?: boolean | undefined;
  /** The caller came over a network door: it may open the door on loopback only. */
  remote?: boolean | undefined;
}

/**
 * Read a certificate and its key (both or neither); `resolve` maps each named path to the file this
 * caller may read (over a network door only staging and workspace folders).
 */
export async function readTlsPair(cert: string | undefined, key: string | undefined, resolve: (path: string) => Promise<string> = async (p) => p): Promise<TlsPair | undefined> {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new UsageError('USAGE', 'TLS for the gRPC door needs both a certificate and its key.', { hint: 'Give the PEM certificate chain and its private key.' });
  }
  const read = async (file: string, what: string): Promise<Buffer> => {
    const path = await resolve(file);
    try {
      return await readFile(path);
    } catch (err) {
      throw new UsageError('USAGE', `Cannot read the gRPC ${what} ${file}: ${(err as Error).message}`, { hint: 'Give a PEM file readable by the user the service runs as.' });
    }
  };
  return { cert: await read(cert, 'certificate'), key: await read(key, 'key') };
}

/** Starts, stops and reports the one gRPC door of a service process. */
export class GrpcDoorControl {
  private door: RunningGrpcDoor | undefined;
  private busy = false;
  private userStore: UserStore | undefined;

  constructor(private readonly opts: { api: Operations; stateDb: string; maxFrameBytes: number }) {}

  /** The local accounts (state.db), opened on first use. */
  private get users(): UserStore {
    this.userStore ??= UserStore.open(this.opts.stateDb);
    return this.userStore;
  }

  /** Whether the door listens, where, with TLS or not, and how many accounts can sign in. */
  status(): GrpcStatus {
    const accounts = this.users.list().length;
    const d = this.door;
    return d ? { listening: true, address: d.address, port: d.port, tls: d.tls, accounts } : { listening: false, tls: false, accounts };
  }

  /** Start the door; refused when it already listens, beyond loopback in clear text, or beyond loopback for a network caller. */
  async start(o: GrpcStartOptions): Promise<GrpcStatus> {
    if (this.door || this.busy) {
      throw new ServiceError('CONFLICT', `The gRPC door already listens${this.door ? ` on ${this.door.address}` : ''}.`, { hint: 'Stop it first, then start it on the address you want.' });
    }
    const { host, port } = parseGrpcAddress(o.address);
    if (!o.tls && !isLoopback(host) && o.allowInsecureRemote !== true) throw insecureRemote(host);
    if (o.remote === true && !isLoopback(host)) {
      throw new ServiceError('FORBIDDEN', `Over a network door the gRPC door starts on loopback only, not on ${host}.`, {
        hint: 'Start it on 127.0.0.1, or beyond loopback from this machine: dlhub serve --grpc HOST:PORT --grpc-cert FILE --grpc-key FILE.',
      });
    }
    this.busy = true;
    try {
      // Loaded only when asked for: grpc-js is not needed until the door starts.
      const { startGrpcDoor } = await import('./service.js');
      this.door = await startGrpcDoor({
        api: this.opts.api, users: this.users, host, port, tls: o.tls, allowInsecureRemote: o.allowInsecureRemote === true, maxFrameBytes: this.opts.maxFrameBytes,
      });
    } finally {
      this.busy = false;
    }
    return this.status();
  }

  /** Stop the door, letting streams end for up to `graceMs`; a door that does not listen stays stopped. */
  async stop(graceMs = 0): Promise<GrpcStatus> {
    const door = this.door;
    this.door = undefined;
    await door?.stop(graceMs);
    return this.status();
  }

  /** Stop the door at once and close the accounts. */
  async close(): Promise<void> {
    await this.stop(0);
    this.userStore?.close();
    this.userStore = undefined;
  }
}
