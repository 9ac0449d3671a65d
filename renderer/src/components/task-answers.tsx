// A finished task's answers on Tasks: closed until asked for, then fetched once; a batch's answers
// numbered in order with each failed input's error in its place.
import { plainValue } from '../client/values.js';
import type { TaskInfoValue } from '../client/ops.js';
import { useApp } from './context.js';

const SHOWN = 100;

function line(v: unknown): string {
  const p = plainValue(v);
  if (p instanceof Uint8Array) return `(${p.length} bytes)`;
  const text = typeof p === 'string' ? p : JSON.stringify(p);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** "Answers" under a succeeded task's status. */
export function TaskAnswers({ task }: { task: TaskInfoValue }) {
  const entry = useApp((x) => x.answers, (s) => s.byTask[task.id]);
  const open = useApp((x) => x.answers, (s) => s.open);
  if (task.status !== 'succeeded') return null;
  return (
    <details className="task-answers" data-testid="task-answers" onToggle={(e) => { if (e.currentTarget.open) void open(task.id); }}>
      <summary>Answers</summary>
      {!entry || entry.state === 'loading' ? <p className="muted small">Fetching…</p> : entry.state === 'failed' ? <p className="field-error">{entry.error.message}</p> : task.batch && Array.isArray(entry.outcome.output) ? (
        <ol className="answer-list">
          {(entry.outcome.output as unknown[]).slice(0, SHOWN).map((v, i) => {
            const err = entry.outcome.errors?.[i];
            return <li key={i}>{err ? <span className="field-error">{err.code}: {err.message}</span> : <code>{line(v)}</code>}</li>;
          })}
          {(entry.outcome.output as unknown[]).length > SHOWN ? <li className="muted small">…and {(entry.outcome.output as unknown[]).length - SHOWN} more (<code>dlhub task {task.id.slice(0, 12)} --json</code>)</li> : null}
        </ol>
      ) : <code>{line(entry.outcome.output)}</code>}
    </details>
  );
}
