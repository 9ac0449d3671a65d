// The hub in the window: sign-in in Settings, "Publish to hub" on a servable's screen, the catalog's
// online/offline badge with the last sync and a Pull button, and the outbox.
import { useEffect, useState } from 'react';
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';

function Notice() {
  const notice = useApp((x) => x.hub, (s) => s.notice);
  return notice ? <p className="notice" role="status" data-testid="hub-notice">{notice}</p> : null;
}

/** Settings: the hub's address, sign-in and sign-out. */
export function HubSettings() {
  const h = useApp((x) => x.hub, (s) => s);
  const [hub, setHub] = useState('');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  useEffect(() => {
    void h.refresh();
  }, []);
  const signedIn = h.status?.user !== undefined;
  return (
    <div data-testid="hub-settings">
      <h2>Hub</h2>
      {h.error ? <ErrorBox error={h.error} /> : null}
      {signedIn ? (
        <p>
          Signed in to <code>{h.status?.hub}</code> as <strong data-testid="hub-user">{h.status?.user}</strong>{' '}
          <button type="button" onClick={() => void h.logout()} disabled={h.busy !== undefined}>Sign out</button>
        </p>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); void h.login(hub, user, password).then(() => setPassword('')); }}>
          <label>Hub address <input value={hub} onChange={(e) => setHub(e.target.value)} placeholder="http://127.0.0.1:8770" required /></label>
          <label>User <input value={user} onChange={(e) => setUser(e.target.value)} required autoComplete="username" /></label>
          <label>Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" /></label>
          <button type="submit" disabled={h.busy !== undefined}>{h.busy === 'login' ? 'Signing in…' : 'Sign in'}</button>
        </form>
      )}
      <Notice />
      <HubOutbox />
    </div>
  );
}

/** A servable's screen: publish it to the hub with a visibility. */
export function PublishToHub({ name }: { name: string }) {
  const h = useApp((x) => x.hub, (s) => s);
  const [visibility, setVisibility] = useState('private');
  return (
    <div className="publish-to-hub" data-testid="publish-to-hub">
      <label>Visibility <input value={visibility} onChange={(e) => setVisibility(e.target.value)} list="hub-visibility" aria-label="visibility" /></label>
      <datalist id="hub-visibility"><option value="private" /><option value="public" /><option value="group:" /></datalist>
      <button type="button" onClick={() => void h.publish(name, visibility)} disabled={h.busy !== undefined}>{h.busy === 'publish' ? 'Publishing…' : 'Publish to hub'}</button>
      {h.error ? <ErrorBox error={h.error} /> : null}
      <Notice />
    </div>
  );
}

/** The catalog's hub bar: online or offline, the last sync, and Sync now. */
export function CatalogHubBar() {
  const h = useApp((x) => x.hub, (s) => s);
  useEffect(() => {
    void h.refresh();
  }, []);
  if (!h.status?.hub) return <p className="muted small" data-testid="hub-bar">No hub: sign in under Settings to sync the catalog.</p>;
  return (
    <p className="hub-bar" data-testid="hub-bar">
      <span className={h.status.online ? 'status succeeded' : 'status failed'} data-testid="hub-online">{h.status.online ? 'online' : 'offline'}</span>{' '}
      last sync <span data-testid="hub-last-sync">{h.status.lastSync ? new Date(h.status.lastSync).toLocaleString() : 'never'}</span>{' '}
      <button type="button" onClick={() => void h.sync()} disabled={h.busy !== undefined || !h.status.online}>{h.busy === 'sync' ? 'Syncing…' : 'Sync now'}</button>
      {h.status.queued > 0 ? <span className="muted"> · {h.status.queued} waiting in the outbox</span> : null}
    </p>
  );
}

/** A catalog record from the hub that is not on this machine yet: Pull it. */
export function PullButton({ servable, version }: { servable: string; version: string }) {
  const h = useApp((x) => x.hub, (s) => s);
  if (!servable.includes('/')) return null;
  return <button type="button" data-testid="pull" onClick={() => void h.pull(`${servable}@${version}`)} disabled={h.busy !== undefined}>{h.busy === 'pull' ? 'Pulling…' : 'Pull'}</button>;
}

/** The outbox: what waits for the hub, what was sent, what failed. */
export function HubOutbox() {
  const h = useApp((x) => x.hub, (s) => s);
  if (h.outbox.length === 0) return <p className="muted small" data-testid="hub-outbox">The outbox is empty.</p>;
  return (
    <div data-testid="hub-outbox">
      <h3>Outbox</h3>
      <table>
        <thead><tr><th>kind</th><th>servable</th><th>detail</th><th>status</th><th>tries</th><th>note</th></tr></thead>
        <tbody>
          {h.outbox.map((i) => (
            <tr key={i.id}><td>{i.kind}</td><td>{i.name}</td><td>{i.detail}</td><td>{i.status}</td><td>{i.attempts}</td><td className="muted small">{i.status === 'done' ? (i.result?.version ?? '') : (i.lastError ?? '')}</td></tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={() => void h.drain()} disabled={h.busy !== undefined}>{h.busy === 'drain' ? 'Sending…' : 'Send now'}</button>
    </div>
  );
}
