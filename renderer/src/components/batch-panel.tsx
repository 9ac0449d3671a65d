// The servable screen's batch: one input per line, sent as a task to this machine or to a cluster
// added in Settings ("Run on"), its progress followed here and on Tasks, its answers in order.
import { useEffect } from 'react';
import { plainValue } from '../client/values.js';
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';
import { TaskProgress } from './task-progress.js';
import { batchable, batchRows } from '../stores/batch.js';
import { fitPlaces } from '../stores/fit.js';
import type { FieldSpec } from '../lib/input-form.js';

/** A value on one line of the answers table. */
function cell(v: unknown): string {
  const p = plainValue(v);
  if (p instanceof Uint8Array) return `(${p.length} bytes)`;
  const text = typeof p === 'string' ? p : JSON.stringify(p);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** " · 2 inputs failed" when some did (their errors are in their rows). */
function failedText(errors: readonly unknown[] | undefined): string {
  const n = errors?.filter((e) => e !== null).length ?? 0;
  return n === 0 ? '' : ` · ${n} input${n === 1 ? '' : 's'} failed`;
}

/** The example a batch's box shows: the field's own placeholder, a line per input. */
function example(spec: FieldSpec): string {
  const one = spec.kind === 'table' ? spec.placeholder.split('\n')[0] ?? '' : spec.placeholder;
  return `${one}\n${one}`;
}

/** Batch: lines of inputs, where to run them, Send; then progress and the answers. */
export function BatchPanel({ name, method, spec, canRun }: { name: string; method: string | undefined; spec: FieldSpec; canRun: boolean }) {
  const b = useApp((x) => x.batch, (s) => s);
  const entries = useApp((x) => x.clusters, (s) => s.entries);
  const loadClusters = useApp((x) => x.clusters, (s) => s.load);
  const fit = useApp((x) => x.fit, (s) => s.entries[name]);
  useEffect(() => {
    if (entries === undefined) void loadClusters();
  }, []);
  useEffect(() => {
    // A batch stays while the user looks at Tasks and comes back; another servable's panel starts afresh.
    if (b.name !== undefined && b.name !== name) b.reset();
  }, [name]);
  if (!batchable(spec)) return null;
  const task = b.task;
  const running = b.submitting || (task !== undefined && (task.status === 'pending' || task.status === 'running'));
  const where = task?.on ? `cluster ${task.on}` : 'this machine';
  const clusters = entries ?? [];
  // What fit said of the place chosen (the servable screen's badge asked already), when it does not fit there.
  const chosen = fit?.state === 'known' ? fitPlaces(fit.report).find((p) => (p.cluster ?? '') === b.on) : undefined;
  return (
    <div className="batch" data-testid="batch">
      <h2>Batch</h2>
      <form
        className="run-form"
        aria-label="Run a batch"
        onSubmit={(e) => {
          e.preventDefault();
          void b.submit(name, method, spec);
        }}
      >
        <div className="field">
          <label htmlFor="batch-input">Inputs, one per line{spec.kind === 'table' ? ' (each line one row)' : ''}</label>
          <textarea id="batch-input" rows={5} value={b.text} placeholder={example(spec)} spellCheck={false} onChange={(e) => b.setText(e.target.value)} aria-invalid={b.fieldError ? true : undefined} aria-describedby={b.fieldError ? 'batch-error' : undefined} />
          {b.fieldError ? <p id="batch-error" className="field-error" role="alert">{b.fieldError}</p> : null}
        </div>
        <div className="field">
          <label htmlFor="batch-on">Run on</label>
          <select id="batch-on" value={b.on} onChange={(e) => b.setOn(e.target.value)}>
            <option value="">This machine</option>
            {clusters.map(({ cluster, report }) => <option key={cluster.name} value={cluster.name}>Cluster {cluster.name}{report.reachable ? '' : ' (not answering)'}</option>)}
          </select>
          {chosen && !chosen.fits ? <p className="field-error" data-testid="batch-fit">{b.on === '' ? 'This machine' : `Cluster ${b.on}`} does not fit this servable: {chosen.reasons.join('; ')}.</p> : null}
          <p className="muted small">{clusters.length === 0 ? <>Add a cluster in <a href="#/settings">Settings</a> to send batches to its pilot jobs.</> : 'A cluster answers through pilot jobs; inputs already in the memo cache are answered here.'}</p>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={!canRun || running}>{b.submitting ? 'Sending…' : 'Send batch'}</button>
        </div>
      </form>
      {task ? (
        <div className="batch-task" role="status" data-testid="batch-task">
          <p>
            Batch of {b.inputs.length} on {where}: <span className={`status ${task.status}`} data-testid="batch-status">{task.status}</span>{' '}
            <span className="muted small">task <code>{task.id.slice(0, 12)}</code>, also on <a href="#/tasks">Tasks</a></span>
          </p>
          <TaskProgress task={task} />
        </div>
      ) : null}
      {b.error ? <ErrorBox error={b.error} title="The batch failed" /> : null}
      {b.outcome ? (
        <div className="table-wrap" role="region" aria-label="Batch answers" tabIndex={0}>
          <table className="task-table batch-answers" data-testid="batch-answers">
            <caption className="muted small">Answered by {b.outcome.runtime}{task?.on ? ` on cluster ${task.on}` : ''} in {(b.outcome.elapsedMs / 1000).toFixed(1)} s{failedText(b.outcome.errors)}</caption>
            <thead><tr><th scope="col">#</th><th scope="col">Input</th><th scope="col">Answer</th></tr></thead>
            <tbody>
              {batchRows(b.inputs, b.outcome).map((r, i) => (
                <tr key={i}>
                  <td className="muted">{i + 1}</td>
                  <td><code>{cell(r.input)}</code></td>
                  <td>{r.error ? <span className="field-error" title={r.error.hint ?? ''}>{r.error.code}: {r.error.message}</span> : <code>{cell(r.output)}</code>}{r.cached ? <span className="badge cache-hit">cached</span> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
