import { useEffect } from 'react';
import { useApp } from '../components/context.js';
import { ErrorBox } from '../components/error-box.js';
import { dataFolder } from '../stores/settings.js';
import { HubSettings } from '../components/hub-panels.js';
import { GrpcSettings } from '../components/grpc-panel.js';
import { MachinePanel } from '../components/machine-panel.js';
import { ClusterSettings } from '../components/cluster-panel.js';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function limitText(v: unknown): string {
  if (typeof v === 'number') return v >= 1024 * 1024 && v % 1024 === 0 ? bytes(v) : String(v);
  return v === undefined || v === null ? 'none' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** Settings: runtimes and why one is unavailable, the memo cache, the data folder, limits. */
export function SettingsScreen() {
  const s = useApp((x) => x.settings, (st) => st);
  useEffect(() => {
    void s.load();
  }, []);
  return (
    <section className="screen settings" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {s.error ? <ErrorBox error={s.error} /> : null}
      <HubSettings />
      <GrpcSettings />
      <MachinePanel />
      <h2>Runtimes</h2>
      {s.runtimes ? (
        <ul className="runtimes" data-testid="runtimes">
          {s.runtimes.map((r) => (
            <li key={r.name}>
              <span className={r.available ? 'status succeeded' : 'status failed'}>{r.available ? 'available' : 'unavailable'}</span> <strong>{r.name}</strong>
              {r.version ? <span className="muted"> {r.version}</span> : null}
              {r.reason ? <div className="muted small">{r.reason}</div> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">This service does not report its runtimes; <code>dlhub doctor</code> does.</p>
      )}
      <ClusterSettings />
      <h2>Memo cache</h2>
      {s.cache ? (
        <div data-testid="cache">
          <p>
            <strong data-testid="cache-entries">{s.cache.entries}</strong> cached answers, {bytes(s.cache.bytes)} of {bytes(s.cache.budgetBytes)}; since the service started: {s.cache.hits} answered from the cache, {s.cache.misses} computed.
          </p>
          <button type="button" onClick={() => void s.clearCache()} disabled={s.clearing || s.cache.entries === 0}>{s.clearing ? 'Clearing…' : 'Clear the cache'}</button>
          {s.cleared !== undefined ? <span className="notice inline" role="status"> Removed {s.cleared} entries.</span> : null}
        </div>
      ) : null}
      <h2>Data folder</h2>
      <p><code data-testid="data-folder">{dataFolder(s.cache?.file) ?? '…'}</code></p>
      <p className="muted small">Everything DLHub keeps: servables, tasks, the catalog and the cache. Set <code>DLHUB_HOME</code> before starting to use another.</p>
      <h2>Limits</h2>
      {s.status ? (
        <table className="limits" data-testid="limits">
          <tbody>
            {Object.entries(s.status.limits).map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td>{limitText(v)}</td></tr>)}
          </tbody>
        </table>
      ) : null}
      <p className="muted small">Limits are set from the environment when the service starts (e.g. <code>DLHUB_MAX_WORKERS</code>, <code>DLHUB_TIMEOUT_SECONDS</code>); see the README.</p>
    </section>
  );
}
