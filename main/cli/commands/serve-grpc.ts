import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { Dlhub } from '../../api/dlhub.js';
import { insecureRemote, isLoopback, parseGrpcAddress } from '../../api/doors/grpc/address.js';
import type { RunningGrpcDoor } from '../../api/doors/grpc/service.js';
import type { Output } from '../output.js';

/** The `dlhub serve` options of the gRPC door. */
export interface GrpcServeOptions {
  grpc?: string | undefined;
  grpcCert?: string | undefined;
  grpcKey?: string | undefined;
  grpcAllowInsecure?: boolean | undefined;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError('USAGE', `Cannot read the gRPC ${what} ${file}: ${(err as Error).message}`, { hint: `Give a PEM file readable by this user with --grpc-${what === 'certificate' ? 'cert' : 'key'}.` });
  }
}

/** Refuse bad gRPC options before anything listens: the address, a lone certificate or key, clear text beyond loopback. */
export function checkGrpcOptions(o: GrpcServeOptions): void {
  if (o.grpc === undefined) {
    if (o.grpcCert !== undefined || o.grpcKey !== undefined) throw new UsageError('USAGE', '--grpc-cert and --grpc-key need --grpc PORT.');
    return;
  }
  if ((o.grpcCert === undefined) !== (o.grpcKey === undefined)) {
    throw new UsageError('USAGE', 'TLS for the gRPC door needs both --grpc-cert and --grpc-key.', { hint: 'Give the PEM certificate chain and its private key.' });
  }
  const { host } = parseGrpcAddress(o.grpc);
  if (o.grpcCert === undefined && !isLoopback(host) && o.grpcAllowInsecure !== true) throw insecureRemote(host);
}

/**
 * Start the instruments' gRPC door when `--grpc` was given (its accounts in state.db), and say where
 * it listens; undefined otherwise. Options are checked before anything listens.
 */
export async function startGrpcDoorFromOptions(api: Dlhub, o: GrpcServeOptions, out: Output): Promise<RunningGrpcDoor | undefined> {
  checkGrpcOptions(o);
  if (o.grpc === undefined) return undefined;
  const { host, port } = parseGrpcAddress(o.grpc);
  const tls = o.grpcCert !== undefined && o.grpcKey !== undefined ? { cert: readPem(o.grpcCert, 'certificate'), key: readPem(o.grpcKey, 'key') } : undefined;
  // Loaded only when asked for: grpc-js is not needed by a plain `dlhub serve`.
  const [{ startGrpcDoor }, { UserStore }] = await Promise.all([import('../../api/doors/grpc/service.js'), import('../../storage/users.js')]);
  const users = UserStore.open(api.paths.stateDb);
  let door: RunningGrpcDoor;
  try {
    door = await startGrpcDoor({ api, users, host, port, tls, allowInsecureRemote: o.grpcAllowInsecure === true, maxFrameBytes: api.settings.maxInputBytes });
  } catch (err) {
    users.close();
    throw err;
  }
  const count = users.list().length;
  out.info(
    `dlhub gRPC (redhare.Inference, schemas/stream.proto) on ${door.address}${door.tls ? ' with TLS' : ''}; ` +
      (count === 0 ? 'no accounts yet: add one with `dlhub users add NAME --all`.' : `${count} account(s).`),
  );
  return {
    ...door,
    stop: async (graceMs) => {
      await door.stop(graceMs);
      users.close();
    },
  };
}
