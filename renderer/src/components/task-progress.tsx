// How far a running task has got, as Tasks and the batch panel show it: inputs answered of all and,
// for a batch on a cluster, its chunks and pilot jobs.
import type { TaskInfoValue } from '../client/ops.js';

/** "120 of 500 answered · chunks 3 of 10 · 1 pilot array" (empty when the task reports none). */
export function progressText(task: TaskInfoValue): string {
  const p = task.progress;
  if (!p) return '';
  const parts = [`${p.done} of ${p.total} answered`];
  if (p.chunks) parts.push(`chunks ${p.chunks.done} of ${p.chunks.total}`, `${p.chunks.jobs} pilot job${p.chunks.jobs === 1 ? '' : 's'} submitted`);
  return parts.join(' · ');
}

/** A progress bar and its words, for a running task that reports progress. */
export function TaskProgress({ task }: { task: TaskInfoValue }) {
  const p = task.progress;
  if (!p || task.status !== 'running') return null;
  const text = progressText(task);
  return (
    <div className="task-progress" data-testid="task-progress">
      <progress value={p.done} max={Math.max(1, p.total)} aria-label={`Task ${task.id.slice(0, 12)}: ${text}`} />
      <div className="muted small">{text}</div>
    </div>
  );
}
