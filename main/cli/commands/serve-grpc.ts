import { UsageError } from '../../errors.js';
import type { Dlhub } from '../../api/dlhub.js';
import { insecureRemote, isLoopback, parseGrpcAddress } from '../../api/doors/grpc/address.js';
import { readTlsPair } from '../../api/doors/grpc/control.js';
import type { Output } from '../output.js';

/** The `dlhub serve` options of the gRPC door. */
export interface GrpcServeOptions {
  grpc?: string | undefined;
  grpcCert?: string | undefined;
  grpcKey?: string | undefined;
  grpcAllowInsecure?: boolean | undefined;
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
 * it listens; undefined otherwise. Options are checked before anything listens. The door is the
 * service's own (the one startGrpc and the window's Settings start and stop).
 */
export async function startGrpcDoorFromOptions(api: Dlhub, o: GrpcServeOptions, out: Output): Promise<{ stop(graceMs: number): Promise<void> } | undefined> {
  checkGrpcOptions(o);
  if (o.grpc === undefined) return undefined;
  const tls = await readTlsPair(o.grpcCert, o.grpcKey);
  const door = await api.grpc.start({ address: o.grpc, tls, allowInsecureRemote: o.grpcAllowInsecure === true });
  out.info(
    `dlhub gRPC (redhare.Inference, schemas/stream.proto) on ${door.address ?? ''}${door.tls ? ' with TLS' : ''}; ` +
      (door.accounts === 0 ? 'no accounts yet: add one with `dlhub users add NAME --all`.' : `${door.accounts} account(s).`),
  );
  return { stop: async (graceMs) => void (await api.grpc.stop(graceMs)) };
}
