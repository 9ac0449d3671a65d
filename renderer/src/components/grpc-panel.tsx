// Settings: the instruments' gRPC door (schemas/stream.proto), its state and Start/Stop.
import { useEffect } from 'react';
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';
import { grpcStatusText } from '../stores/grpc.js';

/** The gRPC door's state, the address to start it on, and Start/Stop. */
export function GrpcSettings() {
  const g = useApp((x) => x.grpc, (s) => s);
  useEffect(() => {
    void g.refresh();
  }, []);
  const listening = g.status?.listening === true;
  return (
    <div data-testid="grpc-settings">
      <h2>Instruments (gRPC)</h2>
      {g.error ? <ErrorBox error={g.error} /> : null}
      <p>
        <span className={listening ? 'status succeeded' : 'status'}>{listening ? 'listening' : 'stopped'}</span>{' '}
        <span data-testid="grpc-status">{grpcStatusText(g.status)}</span>
      </p>
      {listening ? (
        <button type="button" onClick={() => void g.stop()} disabled={g.busy !== undefined}>{g.busy === 'stop' ? 'Stopping…' : 'Stop'}</button>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); void g.start(); }}>
          <label>Address <input value={g.address} onChange={(e) => g.setAddress(e.target.value)} placeholder="127.0.0.1:9010" required data-testid="grpc-address" /></label>
          <button type="submit" disabled={g.busy !== undefined}>{g.busy === 'start' ? 'Starting…' : 'Start'}</button>
        </form>
      )}
      <p className="muted small">Instruments stream frames to <code>redhare.Inference</code> (schemas/stream.proto) with a local account (<code>dlhub users add</code>). Loopback only in plain TCP; beyond it, start with a certificate: <code>dlhub serve --grpc HOST:PORT --grpc-cert FILE --grpc-key FILE</code>.</p>
    </div>
  );
}
