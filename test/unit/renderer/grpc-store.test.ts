// The window's gRPC door store over a fake `Ops`: it shows where the door listens, starts it on the
// typed address, stops it, and keeps a refused start's error with the door still stopped.
import { describe, expect, it } from 'vitest';
import type { Ops } from '../../../renderer/src/client/ops.js';
import type { GrpcStatus } from '../../../main/contract/index.js';
import { createGrpcStore, DEFAULT_GRPC_ADDRESS, grpcStatusText } from '../../../renderer/src/stores/grpc.js';

/** An Ops whose listed operations are the given fakes; any other call fails the test. */
function fakeOps(impl: Partial<Record<keyof Ops, (...a: never[]) => unknown>>): Ops {
  return new Proxy({} as Ops, { get: (_t, op: string) => impl[op as keyof Ops] ?? (() => Promise.reject(new Error(`unexpected call ${op}`))) });
}

/** A service with one gRPC door: loopback only without TLS, as the real one. */
function fakeService(): { ops: Ops; starts: (string | undefined)[] } {
  let status: GrpcStatus = { listening: false, tls: false, accounts: 1 };
  const starts: (string | undefined)[] = [];
  const ops = fakeOps({
    grpcStatus: () => Promise.resolve(status),
    startGrpc: ((req: { address?: string }) => {
      starts.push(req.address);
      if (req.address?.startsWith('0.0.0.0')) {
        return Promise.reject(Object.assign(new Error('The gRPC door would listen on 0.0.0.0 without TLS'), { code: 'USAGE', hint: 'Give a certificate' }));
      }
      status = { listening: true, address: req.address, port: Number(req.address?.split(':')[1]), tls: false, accounts: 1 };
      return Promise.resolve(status);
    }),
    stopGrpc: () => {
      status = { listening: false, tls: false, accounts: 1 };
      return Promise.resolve(status);
    },
  });
  return { ops, starts };
}

describe('gRPC door store', () => {
  it('shows the door stopped, starts it on the typed address and stops it again', async () => {
    const { ops, starts } = fakeService();
    const store = createGrpcStore(ops);
    await store.getState().refresh();
    expect(grpcStatusText(store.getState().status)).toBe('Not listening.');
    expect(store.getState().address).toBe(DEFAULT_GRPC_ADDRESS);
    store.getState().setAddress(' 127.0.0.1:9123 ');
    const starting = store.getState().start();
    expect(store.getState().busy).toBe('start');
    await starting;
    expect(starts).toEqual(['127.0.0.1:9123']);
    expect(store.getState().busy).toBeUndefined();
    expect(grpcStatusText(store.getState().status)).toBe('Listening on 127.0.0.1:9123 (plain TCP); 1 account.');
    await store.getState().stop();
    expect(store.getState().status?.listening).toBe(false);
  });

  it('keeps a refused start\'s message and hint, reports it, and leaves the door stopped', async () => {
    const { ops } = fakeService();
    const reported: unknown[] = [];
    const store = createGrpcStore(ops, (err) => reported.push(err));
    await store.getState().refresh();
    store.getState().setAddress('0.0.0.0:9010');
    await store.getState().start();
    expect(store.getState().error).toMatchObject({ code: 'USAGE', hint: 'Give a certificate' });
    expect(store.getState().status?.listening).toBe(false);
    expect(reported).toHaveLength(1);
    // The next action clears the old error.
    store.getState().setAddress('127.0.0.1:9011');
    await store.getState().start();
    expect(store.getState().error).toBeUndefined();
    expect(store.getState().status?.address).toBe('127.0.0.1:9011');
  });

  it('words a TLS door and its accounts', () => {
    expect(grpcStatusText({ listening: true, address: '10.0.0.5:9010', port: 9010, tls: true, accounts: 0 })).toBe('Listening on 10.0.0.5:9010 with TLS; no accounts yet (dlhub users add NAME --all).');
    expect(grpcStatusText(undefined)).toBe('…');
  });
});
