import { useEffect } from 'react';
import { useApp } from '../components/context.js';
import { ErrorBox } from '../components/error-box.js';
import { TaskProgress } from '../components/task-progress.js';
import { TaskAnswers } from '../components/task-answers.js';

function duration(start: string | undefined, end: string | undefined): string {
  if (!start) return '—';
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Tasks: runs and batches with status and time, live; cancel and retry. */
export function TasksScreen() {
  const t = useApp((s) => s.tasks, (st) => st);
  useEffect(() => {
    t.watch();
    return () => t.stop();
  }, []);
  return (
    <section className="screen tasks" aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <p className="muted small">{t.live === 'stream' ? 'Live: changes appear as they happen.' : t.live === 'polling' ? 'Updated every few seconds.' : ''} Tasks are kept by the service across restarts.</p>
      {t.error ? <ErrorBox error={t.error} /> : null}
      {t.loaded && t.tasks.length === 0 ? (
        <div className="empty">
          <h2>No tasks yet</h2>
          <p>Open a servable in the <a href="#/catalog">Catalog</a> and choose <strong>Run as task</strong>; long runs then show here, where you can cancel them.</p>
        </div>
      ) : null}
      {t.tasks.length > 0 ? (
        <table className="task-table" data-testid="task-table">
          <thead>
            <tr><th scope="col">Task</th><th scope="col">Servable</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Time</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody>
            {t.tasks.map((task) => (
              <tr key={task.id} data-testid={`task-${task.id}`}>
                <td><code>{task.id.slice(0, 12)}</code>{task.batch ? <span className="badge">batch</span> : null}</td>
                <td><a href={`#/servable/${encodeURIComponent(task.servable)}`}>{task.servable}</a>{task.method ? <span className="muted"> .{task.method}</span> : null}{task.on ? <div className="small">on cluster <strong>{task.on}</strong></div> : null}</td>
                <td>
                  <span className={`status ${task.status}`} data-testid="task-status">{task.status}</span>
                  <TaskProgress task={task} />
                  <TaskAnswers task={task} />
                  {task.error ? <div className="muted small" title={task.error.hint ?? ''}>{task.error.message}</div> : null}
                </td>
                <td className="small">{new Date(task.createdAt).toLocaleTimeString()}</td>
                <td>{duration(task.startedAt, task.finishedAt)}</td>
                <td className="row-actions">
                  {task.status === 'pending' || task.status === 'running' ? (
                    <button type="button" onClick={() => void t.cancel(task.id)} aria-label={`Cancel task ${task.id}`}>Cancel</button>
                  ) : t.requests[task.id] ? (
                    <button type="button" onClick={() => void t.retry(task.id)} aria-label={`Retry task ${task.id}`}>Retry</button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
