// "Publish from git" on the Publish screen: a repository URL (or a folder on the serving machine)
// with dlhub.json at its root, an optional branch, tag or commit, and who sees it; the service clones,
// builds and publishes it, and the notice names the commit it built.
import { useState } from 'react';
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';
import { progressText } from '../stores/hub.js';

/** The "Publish from git" form; signed out, a line that says where to sign in. */
export function PublishFromGit() {
  const h = useApp((x) => x.hub, (s) => s);
  const [repo, setRepo] = useState('');
  const [ref, setRef] = useState('');
  const [who, setWho] = useState<'private' | 'public' | 'group'>('private');
  const [group, setGroup] = useState('');
  if (!h.status?.user) {
    return <p className="muted small" data-testid="publish-from-git">To publish from a git repository, sign in to a hub under <a href="#/settings">Settings</a>.</p>;
  }
  const busy = h.busy === 'publish-repo';
  const visibility = who === 'group' ? `group:${group.trim()}` : who;
  return (
    <section className="publish-from-git" data-testid="publish-from-git" aria-labelledby="publish-git-title">
      <h2 id="publish-git-title">Publish from git</h2>
      <form className="metadata-form" onSubmit={(e) => { e.preventDefault(); void h.publishRepo(repo.trim(), ref.trim(), visibility); }}>
        <div className="field">
          <label htmlFor="git-repo">Repository</label>
          <input id="git-repo" type="text" value={repo} onChange={(e) => setRepo(e.target.value)} required placeholder="https://github.com/OWNER/REPO" aria-describedby="publish-git-help" />
        </div>
        <div className="field">
          <label htmlFor="git-ref">Branch, tag or commit</label>
          <input id="git-ref" type="text" value={ref} onChange={(e) => setRef(e.target.value)} placeholder="default branch" />
        </div>
        <div className="field">
          <label htmlFor="git-who">Who sees it</label>
          <select id="git-who" value={who} onChange={(e) => setWho(e.target.value as typeof who)}>
            <option value="private">only me</option>
            <option value="group">a group</option>
            <option value="public">everyone</option>
          </select>
        </div>
        {who === 'group' ? (
          <div className="field">
            <label htmlFor="git-group">Group</label>
            <input id="git-group" type="text" value={group} onChange={(e) => setGroup(e.target.value)} required placeholder="lab" />
          </div>
        ) : null}
        <div className="actions">
          <button type="submit" disabled={h.busy !== undefined || repo.trim() === ''}>{busy ? 'Publishing…' : 'Publish from git'}</button>
        </div>
      </form>
      <p id="publish-git-help" className="muted small">dlhub.json at the repository&apos;s root; the URL and commit are recorded in the published metadata.</p>
      {busy ? <p className="muted small" role="status" data-testid="publish-git-progress">{progressText(h.progress, 'publish')}</p> : null}
      {!busy && h.error && h.busyWith === undefined ? <ErrorBox error={h.error} title="The repository could not be published" /> : null}
      {!busy && h.notice ? <p className="notice" role="status" data-testid="publish-git-notice">{h.notice}</p> : null}
    </section>
  );
}
