import { useEffect, useState, type DragEvent } from 'react';
import { useApp } from '../components/context.js';
import { CopyCode } from '../components/copy-code.js';
import { ErrorBox } from '../components/error-box.js';
import { ValueView } from '../components/value-view.js';
import { PublishToHub, PullButton } from '../components/hub-panels.js';
import { BatchPanel } from '../components/batch-panel.js';
import { FitBadge } from '../components/fit-badge.js';
import { describedVersion, type ServableState } from '../stores/servable.js';

interface MethodInfo {
  description?: string;
  input?: { type?: string; shape?: (number | null)[]; description?: string };
  output?: { type?: string; shape?: (number | null)[]; description?: string };
}

function typeText(t: MethodInfo['input']): string {
  if (!t?.type) return 'any';
  return t.shape ? `${t.type} [${t.shape.map((d) => (d === null ? 'n' : String(d))).join(' × ')}]` : t.type;
}

/** What an option of the version picker says beside the version. */
function marks(newest: boolean, builtHere: boolean): string {
  const words = [newest ? 'newest' : '', builtHere ? 'built here' : ''].filter(Boolean);
  return words.length > 0 ? ` (${words.join(', ')})` : '';
}

/** The version picker: every version the catalog has of the servable, the shown one selected. */
function VersionSwitch({ s, shown, onPick }: { s: ServableState; shown: string | undefined; onPick: (v: string) => void }) {
  const built = describedVersion(s.description);
  if (s.versions.length < 2) return <>{shown ?? '—'}</>;
  return (
    <>
      <label htmlFor="version" className="visually-hidden">Version</label>
      <select id="version" value={shown} onChange={(e) => onPick(e.target.value)} data-testid="version-switch">
        {s.versions.map((v, i) => (
          <option key={v.version} value={v.version}>
            {v.version}{marks(i === 0, v.version === built && s.description?.source !== 'catalog')}
          </option>
        ))}
      </select>
    </>
  );
}

/** A file input that also takes a file dropped on it (the window's own drop, which publishes, is not told). */
function FileDrop({ s }: { s: ServableState }) {
  const [over, setOver] = useState(false);
  const stop = (e: DragEvent): void => {
    e.preventDefault();
    e.stopPropagation();
  };
  return (
    <div
      className={over ? 'file-drop over' : 'file-drop'}
      data-testid="file-drop"
      onDragOver={(e) => {
        stop(e);
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        stop(e);
        setOver(false);
        const f = e.dataTransfer.files[0];
        if (f) void s.dropFile(f);
      }}
    >
      <input id="input" type="file" onChange={(e) => {
        const f = e.target.files?.[0];
        if (f) void s.dropFile(f);
      }} />
      <p className="muted small" data-testid="file-chosen">{s.file ? `${s.file.name} · ${s.file.bytes.length} bytes` : 'Drop a file here or choose one.'}</p>
    </div>
  );
}

/** Servable: its metadata and methods, an input form generated from the method's input type, run, the result. */
export function ServableScreen({ name, version }: { name: string; version?: string | undefined }) {
  const s = useApp((x) => x.servable, (st) => st);
  const remember = useApp((x) => x.tasks, (t) => t.remember);
  const go = useApp((x) => x.nav, (n) => n.go);

  useEffect(() => {
    void s.open(name);
    // Opened again only when the name changes.
  }, [name]);

  useEffect(() => {
    s.pickVersion(version);
  }, [name, version]);

  useEffect(() => {
    if (s.submitted && s.name) remember(s.submitted.id, { name: s.name, method: s.method, input: s.lastInput });
  }, [s.submitted]);

  if (s.loadError) {
    return (
      <section className="screen">
        <h1>{name}</h1>
        <ErrorBox error={s.loadError} title="This servable could not be opened" />
        <p><a href="#/catalog">Back to the catalog</a></p>
      </section>
    );
  }
  const d = s.description;
  if (!d || s.loading) return <section className="screen"><h1>{name}</h1><p className="muted">Loading…</p></section>;
  const meta = d.metadata as { datacite?: { titles?: { title?: string }[]; creators?: { creatorName?: string }[]; descriptions?: { description?: string }[]; publicationYear?: string }; dlhub?: { version?: string; domains?: string[]; owner?: string }; servable?: { type?: string } };
  const methods = d.methods as Record<string, MethodInfo>;
  const field = s.field();
  const method = s.method ? methods[s.method] : undefined;
  const text = s.text[s.method ?? ''] ?? '';
  const cached = s.result ? (Array.isArray(s.result.cached) ? s.result.cached.every(Boolean) : s.result.cached) : false;
  const other = s.otherVersion();
  const built = describedVersion(d);
  const canRun = d.source !== 'catalog' && !other;
  const shownVersion = other?.version ?? built;
  const pick = (v: string): void => go(v === built ? { screen: 'servable', name } : { screen: 'servable', name, version: v });
  return (
    <section className="screen servable" aria-labelledby="servable-title">
      <p className="crumbs"><a href="#/catalog">Catalog</a> / {d.name}</p>
      <h1 id="servable-title">{other ? other.title || d.name : meta.datacite?.titles?.[0]?.title ?? d.name}</h1>
      {d.source === 'catalog' || other ? null : <PublishToHub name={d.name} owner={meta.dlhub?.owner} />}
      {other ? (
        <p className="notice" role="status" data-testid="version-note">
          Showing version {other.version} from its catalog record. {d.source === 'catalog' ? `The newest record is ${built ?? 'another version'}.` : `The form runs version ${built ?? 'built here'}, the one built on this machine.`}{' '}
          <button type="button" className="link" onClick={() => pick(built ?? '')}>Show {built ?? 'the described version'}</button>
          {' '}<PullButton servable={other.servable} version={other.version} />
        </p>
      ) : null}
      <div className="meta-grid">
        <dl>
          <dt>Name</dt><dd data-testid="servable-name">{d.name}</dd>
          <dt>Version</dt><dd data-testid="servable-version"><VersionSwitch s={s} shown={shownVersion} onPick={pick} /></dd>
          <dt>Type</dt><dd>{(other ? other.type : meta.servable?.type) || '—'}</dd>
          <dt>Creators</dt><dd>{(other ? other.creators : (meta.datacite?.creators ?? []).map((c) => c.creatorName ?? '')).filter(Boolean).join('; ') || '—'}</dd>
          <dt>Domains</dt><dd>{(other ? other.domains : meta.dlhub?.domains ?? []).join(', ') || '—'}</dd>
          <dt>Where</dt><dd>{other ? <span className="badge catalog">Catalog record{other.local ? '' : ' (not built here)'}</span> : d.source === 'catalog' ? <span className="badge catalog">Catalog record (not built here)</span> : <span className="badge local">On this machine{d.image ? ` · image ${d.image.tag}` : ' · host runtime'}</span>}</dd>
          {other ? null : <><dt>Hardware</dt><dd><FitBadge name={d.name} /></dd></>}
          {other ? null : <><dt>Cached answers</dt><dd>{d.deterministic ? 'yes (deterministic)' : 'no (not deterministic)'}</dd></>}
        </dl>
        {other ? (other.description ? <p className="description">{other.description}</p> : null) : meta.datacite?.descriptions?.[0]?.description ? <p className="description">{meta.datacite.descriptions[0].description}</p> : null}
      </div>

      <h2>Run</h2>
      {other ? <p className="muted">Version {other.version} is not the one built here: switch back to {built ?? 'it'} to run{other.servable.includes('/') ? `, or pull ${other.version}` : ''}.</p> : !canRun ? <p className="muted">This servable is known from the catalog only. Build it here (drop its folder on the window) to run it.</p> : null}
      <form
        className="run-form"
        onSubmit={(e) => {
          e.preventDefault();
          void s.run();
        }}
        onKeyDown={(e) => {
          // Ctrl+Enter (Cmd+Enter) runs from any field, the multi-line ones included.
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void s.run();
          }
        }}
      >
        <div className="field">
          <label htmlFor="method">Method</label>
          <select id="method" value={s.method} onChange={(e) => s.setMethod(e.target.value)}>
            {Object.keys(methods).map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
          {method ? <p className="muted small">{method.description ? `${method.description}. ` : ''}Input: <code>{typeText(method.input)}</code> → output: <code>{typeText(method.output)}</code></p> : null}
        </div>
        <div className="field">
          <label htmlFor="input">{field.kind === 'table' ? `Input rows${field.columns ? ` (${field.columns} values each; paste from a spreadsheet)` : ''}` : field.label}</label>
          {field.kind === 'file' ? (
            <FileDrop s={s} />
          ) :  field.kind === 'boolean' ? (
            <select id="input" value={text} onChange={(e) => s.setText(e.target.value)}>
              <option value="">choose…</option>
              <option value="true">true</option>
              <option value="false">false</option>
            </select>
          ) : field.kind === 'number' || field.kind === 'integer' || field.kind === 'string' ? (
            <input id="input" type="text" inputMode={field.kind === 'string' ? 'text' : 'decimal'} value={text} placeholder={field.placeholder} onChange={(e) => s.setText(e.target.value)} aria-invalid={s.fieldError ? true : undefined} aria-describedby={s.fieldError ? 'input-error' : undefined} />
          ) : (
            <textarea id="input" rows={field.kind === 'table' ? 5 : 3} value={text} placeholder={field.placeholder} spellCheck={false} onChange={(e) => s.setText(e.target.value)} aria-invalid={s.fieldError ? true : undefined} aria-describedby={s.fieldError ? 'input-error' : undefined} />
          )}
          {s.fieldError ? <p id="input-error" className="field-error" role="alert">{s.fieldError}</p> : null}
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={s.running || !canRun} aria-keyshortcuts="Control+Enter">{s.running ? 'Running…' : 'Run'}</button>
          <button type="button" disabled={s.running || !canRun} onClick={() => void s.run({ noCache: true })}>Run without cache</button>
          <button type="button" disabled={!canRun} onClick={() => void s.submit()}>Run as task</button>
        </div>
      </form>
      {s.submitted ? <p className="notice" role="status">Task <code>{s.submitted.id}</code> submitted. Follow it on <a href="#/tasks">Tasks</a>.</p> : null}
      {s.runError ? <ErrorBox error={s.runError} title="The run failed" /> : null}
      {s.result ? (
        <div className="result" data-testid="result">
          <h2>Result</h2>
          <p className="result-meta">
            <span data-testid="elapsed">{s.result.elapsedMs.toFixed(s.result.elapsedMs < 10 ? 2 : 0)} ms</span>
            {s.result.inferenceMs !== undefined ? <span className="muted"> (model {s.result.inferenceMs.toFixed(2)} ms)</span> : null}
            {' · '}
            {cached ? <span className="badge cache-hit" data-testid="cache-hit">Cache hit</span> : <span className="badge" data-testid="computed">Computed</span>}
            {' · '}<span className="muted">runtime {s.result.runtime}</span>
          </p>
          <ValueView value={s.result.output} />
          <h3>As code</h3>
          <CopyCode call={{ name: d.name, method: s.result.method, input: s.lastInput, baseUrl: location.origin.startsWith('http') ? location.origin : 'http://127.0.0.1:8765' }} />
        </div>
      ) : null}

      {canRun ? <BatchPanel name={d.name} method={s.method} spec={field} canRun={canRun} /> : null}

      <h2>Methods</h2>
      {other ? (
        <p data-testid="other-methods">Version {other.version} has {other.methods.length === 0 ? 'no methods listed' : other.methods.map((m, i) => <span key={m}>{i > 0 ? ', ' : ''}<code>{m}</code></span>)}.</p>
      ) : <table className="methods">
        <thead><tr><th scope="col">Method</th><th scope="col">Input</th><th scope="col">Output</th><th scope="col">Description</th></tr></thead>
        <tbody>
          {Object.entries(methods).map(([m, info]) => (
            <tr key={m}><td><code>{m}</code></td><td>{typeText(info.input)}</td><td>{typeText(info.output)}</td><td>{info.description ?? ''}</td></tr>
          ))}
        </tbody>
      </table>}
    </section>
  );
}
