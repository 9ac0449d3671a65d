// The hub in the window: sign-in in Settings (and how the token is kept), "Publish to hub" on a
// servable's screen and at the end of a drop's build, the catalog's online/offline badge with the
// last sync and a Pull button, the live progress of a push or pull, and the outbox.
import { useEffect, useId, useState } from 'react';
import type { OutboxItem } from '../../../main/contract/index.js';
import { progressText } from '../stores/hub.js';

export { progressText };
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';

function Notice() {
  const notice = useApp((x) => x.hub, (s) => s.notice);
  return notice ? <p className="notice" role="status" data-testid="hub-notice">{notice}</p> : null;
}

/** While work waits for the hub, look again every few seconds: the service sends it by itself once the hub is back. */
function usePollWhileWaiting(): void {
  const waiting = useApp((x) => x.hub, (s) => s.waiting());
  const refresh = useApp((x) => x.hub, (s) => s.refresh);
  useEffect(() => {
    if (!waiting) return undefined;
    const t = setInterval(() => void refresh(), 2000);
    return () => clearInterval(t);
  }, [waiting]);
}

/** The live progress of a publish or pull of `subject` (a bar with what it is doing), or nothing when none runs. */
function HubProgress({ action, subject }: { action: 'publish' | 'pull'; subject: string }) {
  const h = useApp((x) => x.hub, (s) => s);
  if (h.busy !== action || h.busyWith !== subject) return null;
  const e = h.progress;
  const bytes = e && (e.phase === 'push' || e.phase === 'pull') && e.total > 1;
  const label = action === 'publish' ? `Publishing ${subject}` : `Pulling ${subject}`;
  return (
    <div className="hub-progress" data-testid="hub-progress">
      <progress aria-label={label} max={bytes ? e.total : undefined} value={bytes ? e.step : undefined} />
      <span className="muted small" role="status">{progressText(e, action)}</span>
    </div>
  );
}

/** How this desktop keeps the hub token, and a warning where that is weaker than an OS keychain. */
function CredentialNote() {
  const c = useApp((x) => x.hub, (s) => s.status?.credentials);
  if (!c) return null;
  const where = c.kind === 'os-keychain'
    ? `The token is kept through the OS keychain${c.backend ? ` (${c.backend})` : ''}${c.encrypted ? ', encrypted' : ''}.`
    : 'The token is kept in $DLHUB_HOME/credentials/hub.json, readable only by you (mode 0600).';
  return (
    <>
      <p className="muted small" data-testid="credential-store">{where}</p>
      {c.warning ? <p className="warning-box" data-testid="credential-warning"><strong>Not encrypted.</strong> {c.warning}</p> : null}
    </>
  );
}

/** Settings: the hub's address, sign-in and sign-out, how the token is kept, and the outbox. */
export function HubSettings() {
  const h = useApp((x) => x.hub, (s) => s);
  const [hub, setHub] = useState('');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  useEffect(() => {
    void h.refresh();
  }, []);
  useEffect(() => {
    // The address last used comes back after a sign-out.
    if (!hub && h.status?.hub) setHub(h.status.hub);
  }, [h.status?.hub]);
  const signedIn = h.status?.user !== undefined;
  return (
    <div data-testid="hub-settings" className="hub-settings">
      <h2>Hub</h2>
      {h.error ? <ErrorBox error={h.error} /> : null}
      {signedIn ? (
        <p>
          Signed in to <code data-testid="hub-address">{h.status?.hub}</code> as <strong data-testid="hub-user">{h.status?.user}</strong>{' '}
          <span className={h.status?.online ? 'status succeeded' : 'status failed'}>{h.status?.online ? 'online' : 'offline'}</span>{' '}
          <button type="button" onClick={() => void h.logout()} disabled={h.busy !== undefined}>Sign out</button>
        </p>
      ) : (
        <form className="hub-login" onSubmit={(e) => { e.preventDefault(); void h.login(hub, user, password).then(() => setPassword('')); }}>
          <label>Hub address <input value={hub} onChange={(e) => setHub(e.target.value)} placeholder="http://127.0.0.1:8770" required /></label>
          <label>User <input value={user} onChange={(e) => setUser(e.target.value)} required autoComplete="username" /></label>
          <label>Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" /></label>
          <button type="submit" className="primary" disabled={h.busy !== undefined}>{h.busy === 'login' ? 'Signing in…' : 'Sign in'}</button>
        </form>
      )}
      <CredentialNote />
      <Notice />
      <HubOutbox />
    </div>
  );
}

/** A servable built here: publish it to the hub with a visibility, the push's progress live. */
export function PublishToHub({ name, owner }: { name: string; owner?: string | undefined }) {
  const h = useApp((x) => x.hub, (s) => s);
  const [who, setWho] = useState<'private' | 'public' | 'group'>('private');
  const [group, setGroup] = useState('');
  const id = useId();
  useEffect(() => {
    // What an earlier publish said belongs to that one, not to this servable or build.
    if (h.busy === undefined) h.clearNotice();
  }, [name]);
  const user = h.status?.user;
  if (!h.status) return null;
  if (owner && user !== owner) {
    return <p className="muted small" data-testid="from-hub">From the hub: {owner}/{name}.</p>;
  }
  if (!user) {
    return <p className="muted small" data-testid="publish-to-hub"><a href="#/settings">Sign in to a hub</a> to publish {name} there.</p>;
  }
  const visibility = who === 'group' ? `group:${group.trim()}` : who;
  return (
    <div className="publish-to-hub" data-testid="publish-to-hub">
      <form onSubmit={(e) => { e.preventDefault(); void h.publish(name, visibility); }}>
        <span><span className="muted">To the hub as</span> <strong>{user}/{name}</strong></span>
        <label htmlFor={`${id}-who`}>Who sees it</label>
        <select id={`${id}-who`} value={who} onChange={(e) => setWho(e.target.value as typeof who)}>
          <option value="private">only me</option>
          <option value="group">a group</option>
          <option value="public">everyone</option>
        </select>
        {who === 'group' ? (
          <>
            <label htmlFor={`${id}-group`}>Group</label>
            <input id={`${id}-group`} value={group} onChange={(e) => setGroup(e.target.value)} required placeholder="lab" />
          </>
        ) : null}
        <button type="submit" disabled={h.busy !== undefined}>{h.busy === 'publish' && h.busyWith === name ? 'Publishing…' : 'Publish to hub'}</button>
      </form>
      <HubProgress action="publish" subject={name} />
      {h.error && h.busy === undefined ? <ErrorBox error={h.error} /> : null}
      <Notice />
    </div>
  );
}

/** The end of a drop's build, when signed in to a hub: publish it there, or open it. */
export function PublishAfterBuild({ name, onOpen }: { name: string; onOpen: () => void }) {
  return (
    <div className="after-build" data-testid="after-build">
      <PublishToHub name={name} />
      <button type="button" className="primary" onClick={onOpen}>Open {name}</button>
    </div>
  );
}

/** The catalog's hub bar: online or offline, the last sync, and Sync now. */
export function CatalogHubBar() {
  const h = useApp((x) => x.hub, (s) => s);
  useEffect(() => {
    void h.refresh();
  }, []);
  usePollWhileWaiting();
  if (!h.status?.hub) return <p className="muted small" data-testid="hub-bar">No hub: <a href="#/settings">sign in to a hub</a> to sync the catalog with it.</p>;
  return (
    <div className="hub-bar-wrap">
      <p className="hub-bar" data-testid="hub-bar">
        <span className={h.status.online ? 'status succeeded' : 'status failed'} data-testid="hub-online">{h.status.online ? 'online' : 'offline'}</span>{' '}
        <span className="muted">{h.status.hub}{h.status.user ? ` as ${h.status.user}` : ''} · last sync </span>
        <span data-testid="hub-last-sync">{h.status.lastSync ? new Date(h.status.lastSync).toLocaleString() : 'never'}</span>{' '}
        <button type="button" onClick={() => void h.sync()} disabled={h.busy !== undefined || !h.status.online}>{h.busy === 'sync' ? 'Syncing…' : 'Sync now'}</button>
        {h.status.queued > 0 ? <span className="muted" data-testid="hub-queued"> · {h.status.queued} waiting in the <a href="#/settings">outbox</a></span> : null}
      </p>
      {h.busy === undefined || h.busy === 'sync' ? <Notice /> : null}
      {h.error && h.busy === undefined ? <ErrorBox error={h.error} /> : null}
    </div>
  );
}

/** A catalog record from the hub that is not on this machine yet: Pull it, the pull's progress live. */
export function PullButton({ servable, version }: { servable: string; version: string }) {
  const h = useApp((x) => x.hub, (s) => s);
  if (!servable.includes('/')) return null;
  const ref = `${servable}@${version}`;
  return (
    <span className="pull">
      <button type="button" data-testid="pull" onClick={() => void h.pull(ref)} disabled={h.busy !== undefined}>{h.busy === 'pull' && h.busyWith === ref ? 'Pulling…' : 'Pull'}</button>
      <HubProgress action="pull" subject={ref} />
    </span>
  );
}

function outboxState(i: OutboxItem): string {
  if (i.status === 'done') return 'sent';
  if (i.status === 'running') return 'sending';
  return i.status === 'queued' ? 'waiting' : 'failed';
}

function outboxNote(i: OutboxItem): string {
  if (i.status === 'done') return i.result ? `${i.result.owner ? `${i.result.owner}/` : ''}${i.result.name}${i.result.version ? `@${i.result.version}` : ''}${i.result.status === 'unchanged' ? ' (already there)' : ''}` : '';
  const next = i.status === 'queued' && i.nextAttemptAt ? ` Next try at ${new Date(i.nextAttemptAt).toLocaleTimeString()}.` : '';
  return `${i.lastError ?? ''}${next}`;
}

/** The outbox: what waits for the hub, what was sent, what failed. Looks again by itself while work waits. */
export function HubOutbox() {
  const h = useApp((x) => x.hub, (s) => s);
  usePollWhileWaiting();
  return (
    <div data-testid="hub-outbox" className="hub-outbox">
      <h3>Outbox</h3>
      {h.outbox.length === 0 ? (
        <p className="muted small">The outbox is empty: publishes and shares made while the hub cannot be reached wait here and are sent when it is back.</p>
      ) : (
        <>
          <table>
            <thead><tr><th scope="col">what</th><th scope="col">servable</th><th scope="col">to</th><th scope="col">status</th><th scope="col">tries</th><th scope="col">note</th></tr></thead>
            <tbody>
              {h.outbox.map((i) => (
                <tr key={i.id} data-testid="outbox-row">
                  <td>{i.kind}</td>
                  <td>{i.name}</td>
                  <td>{i.detail || 'private'}</td>
                  <td><span className={i.status === 'done' ? 'status succeeded' : i.status === 'failed' ? 'status failed' : 'status'} data-testid="outbox-status">{outboxState(i)}</span></td>
                  <td>{i.attempts}</td>
                  <td className="muted small">{outboxNote(i)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {h.waiting() ? <p className="muted small">Sent by itself once the hub answers; the window looks again every few seconds.</p> : null}
          <button type="button" onClick={() => void h.drain()} disabled={h.busy !== undefined || !h.waiting()}>{h.busy === 'drain' ? 'Sending…' : 'Send now'}</button>
        </>
      )}
    </div>
  );
}
