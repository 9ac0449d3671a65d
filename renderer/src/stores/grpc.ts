// The instruments' gRPC door as Settings shows it: whether it listens, where and with TLS or not,
// the address to start it on, and Start/Stop. Calls go through the contract's operations.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { GrpcStatus } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** The address the form starts with: loopback, a port instruments can be told once. */
export const DEFAULT_GRPC_ADDRESS = '127.0.0.1:9010';

/** gRPC door state. */
export interface GrpcState {
  status: GrpcStatus | undefined;
  /** The address typed in Settings (PORT or HOST:PORT). */
  address: string;
  busy: 'start' | 'stop' | undefined;
  error: ShownError | undefined;
  setAddress: (address: string) => void;
  refresh: () => Promise<void>;
  start: () => Promise<void>;
  stop: () => Promise<void>;
}

/** What the door's state is, in words. */
export function grpcStatusText(s: GrpcStatus | undefined): string {
  if (!s) return '…';
  if (!s.listening) return 'Not listening.';
  const accounts = s.accounts === 0 ? 'no accounts yet (dlhub users add NAME --all)' : `${s.accounts} account${s.accounts === 1 ? '' : 's'}`;
  return `Listening on ${s.address ?? '?'}${s.tls ? ' with TLS' : ' (plain TCP)'}; ${accounts}.`;
}

/** The gRPC door store over `ops`. */
export function createGrpcStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<GrpcState> {
  return createStore<GrpcState>()((set, get) => {
    async function act(label: 'start' | 'stop', fn: () => Promise<GrpcStatus>): Promise<void> {
      set({ busy: label, error: undefined });
      try {
        set({ status: await fn() });
      } catch (err) {
        set({ error: shownError(err) });
        report(err);
      } finally {
        set({ busy: undefined });
      }
    }
    return {
      status: undefined,
      address: DEFAULT_GRPC_ADDRESS,
      busy: undefined,
      error: undefined,
      setAddress(address) {
        set({ address });
      },
      async refresh() {
        try {
          set({ status: await ops.grpcStatus({}) });
        } catch (err) {
          set({ error: shownError(err) });
          report(err);
        }
      },
      start: () => act('start', () => ops.startGrpc({ address: get().address.trim() })),
      stop: () => act('stop', () => ops.stopGrpc({})),
    };
  });
}
