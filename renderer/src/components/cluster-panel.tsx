// Settings: the clusters batches can be sent to (Slurm, through pilot jobs): each with whether its
// scheduler answers now and what it has, a Remove button, and a form to add one.
import { useEffect } from 'react';
import { RUNTIME_NAMES } from '../../../main/contract/index.js';
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';
import { clusterSummary, type ClusterForm } from '../stores/clusters.js';

interface FieldDef {
  key: keyof ClusterForm;
  label: string;
  placeholder: string;
  help: string;
}

const FIELDS: FieldDef[] = [
  { key: 'name', label: 'Name', placeholder: 'campus', help: 'What "Run on" shows.' },
  { key: 'partition', label: 'Partition', placeholder: 'default partition', help: 'sbatch --partition' },
  { key: 'account', label: 'Account', placeholder: 'none', help: 'sbatch --account' },
  { key: 'time', label: 'Time per pilot', placeholder: '30 or 1:00:00', help: 'sbatch --time' },
  { key: 'gpus', label: 'GPUs per pilot', placeholder: '1', help: 'for a servable that declares a GPU (--gres=gpu:N; default 1)' },
  { key: 'pilots', label: 'Pilot jobs', placeholder: '2', help: 'per batch (default 2)' },
  { key: 'spool', label: 'Spool folder', placeholder: 'in the DLHub home', help: 'a folder the nodes share with this machine' },
  { key: 'ssh', label: 'SSH login', placeholder: 'this machine', help: 'USER@HOST to run the Slurm commands on' },
];

/** Where a cluster's Slurm commands run, in words. */
function whereText(ssh: string | undefined): string {
  return ssh ? `via ${ssh}` : 'this machine';
}

/** The clusters: list with state, remove, and the add form. */
export function ClusterSettings() {
  const c = useApp((x) => x.clusters, (s) => s);
  const forgetFits = useApp((x) => x.fit, (s) => s.forget);
  useEffect(() => {
    void c.load();
  }, []);
  const removing = typeof c.busy === 'object' ? c.busy.remove : undefined;
  const problem = c.formError;
  const input = (f: FieldDef) => (
    <div className="field" key={f.key}>
      <label htmlFor={`cluster-${f.key}`}>{f.label}{f.key === 'name' ? null : <span className="muted small"> (optional)</span>}</label>
      <input
        id={`cluster-${f.key}`}
        type="text"
        value={c.form[f.key]}
        placeholder={f.placeholder}
        required={f.key === 'name'}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => c.setField(f.key, e.target.value)}
        aria-invalid={problem?.field === f.key ? true : undefined}
        aria-describedby={problem?.field === f.key ? 'cluster-form-error' : `cluster-${f.key}-help`}
      />
      <p id={`cluster-${f.key}-help`} className="muted small">{f.help}</p>
    </div>
  );
  return (
    <div data-testid="clusters">
      <h2>Clusters</h2>
      <p className="muted small">A batch sent to a cluster is split into chunks that pilot jobs answer on its nodes (<code>sbatch --array</code>); answers land in this machine&apos;s memo cache. Send one from a servable&apos;s screen (Batch, Run on) or with <code>dlhub run NAME --batch FILE --on CLUSTER</code>.</p>
      {c.error ? <ErrorBox error={c.error} title="The clusters could not be changed or read" /> : null}
      {c.notice ? <p className="notice" role="status">{c.notice}</p> : null}
      {c.entries === undefined ? <p className="muted">Asking the clusters…</p> : c.entries.length === 0 ? (
        <p className="muted" data-testid="no-clusters">No clusters yet: add one below.</p>
      ) : (
        <table className="task-table cluster-table" data-testid="cluster-table">
          <thead><tr><th scope="col">Cluster</th><th scope="col">Pilots</th><th scope="col">State</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {c.entries.map(({ cluster, report }) => (
              <tr key={cluster.name} data-testid={`cluster-${cluster.name}`}>
                <td><strong>{cluster.name}</strong><div className="muted small">Slurm, {whereText(cluster.ssh)}</div></td>
                <td className="small">
                  {cluster.pilots} pilot{cluster.pilots === 1 ? '' : 's'} on {cluster.runtime}
                  {cluster.partition ? <>, partition {cluster.partition}</> : null}
                  {cluster.account ? <>, account {cluster.account}</> : null}
                  {cluster.time ? <>, time {cluster.time}</> : null}
                  {cluster.gpus !== undefined ? <>, {cluster.gpus} GPU{cluster.gpus === 1 ? '' : 's'}</> : null}
                  <div className="muted small">spool {cluster.spool}</div>
                </td>
                <td>
                  <span className={report.reachable ? 'status succeeded' : 'status failed'}>{report.reachable ? 'answers' : 'not answering'}</span>
                  <div className="small" data-testid="cluster-state">{clusterSummary(report)}</div>
                </td>
                <td className="row-actions">
                  <button type="button" onClick={() => void c.remove(cluster.name).then(forgetFits)} disabled={c.busy !== undefined} aria-label={`Remove cluster ${cluster.name}`}>{removing === cluster.name ? 'Removing…' : 'Remove'}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="cluster-form" aria-labelledby="add-cluster-title" onSubmit={(e) => { e.preventDefault(); void c.add().then(forgetFits); }}>
        <h3 id="add-cluster-title">Add a cluster</h3>
        <div className="cluster-fields">
          {input(FIELDS[0] as FieldDef)}
          <div className="field">
            <label htmlFor="cluster-scheduler">Scheduler</label>
            <select id="cluster-scheduler" value="slurm" disabled><option value="slurm">Slurm</option></select>
            <p className="muted small">the only one for now</p>
          </div>
          <div className="field">
            <label htmlFor="cluster-runtime">Pilots run with</label>
            <select id="cluster-runtime" value={c.form.runtime} onChange={(e) => c.setField('runtime', e.target.value)} aria-describedby="cluster-runtime-help">
              <option value="">host (default)</option>
              {RUNTIME_NAMES.filter((r) => r !== 'host').map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
            <p id="cluster-runtime-help" className="muted small">apptainer on most clusters</p>
          </div>
          {FIELDS.slice(1).map(input)}
        </div>
        {problem ? <p id="cluster-form-error" className="field-error" role="alert">{problem.message}</p> : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={c.busy !== undefined}>{c.busy === 'add' ? 'Adding…' : 'Add cluster'}</button>
        </div>
      </form>
    </div>
  );
}
