import { useEffect, useRef } from 'react';
import { useApp, useAppContext } from '../components/context.js';
import { ErrorBox } from '../components/error-box.js';
import { PublishAfterBuild } from '../components/hub-panels.js';
import { PublishFromGit } from '../components/publish-from-git.js';
import { readFileList } from '../lib/dropped.js';
import { FIELD_HELP, FIELD_ORDER } from '../lib/metadata-form.js';

const readBytes = async (b: Blob): Promise<Uint8Array> => new Uint8Array(await b.arrayBuffer());

/** Publish: drop a folder, see what was detected, fill in the metadata, build with live progress. */
export function PublishScreen() {
  const p = useApp((s) => s.publish, (st) => st);
  const go = useApp((s) => s.nav, (n) => n.go);
  // Signed in to a hub, a build ends on "Publish to hub" (or Open); otherwise the servable opens by itself.
  const hubUser = useApp((s) => s.hub, (h) => h.status?.user);
  const refreshHub = useApp((s) => s.hub, (h) => h.refresh);
  const { mode } = useAppContext();
  const picker = useRef<HTMLInputElement>(null);
  const logEnd = useRef<HTMLLIElement>(null);

  useEffect(() => {
    // The folder picker takes folders (a non-standard attribute React does not know).
    picker.current?.setAttribute('webkitdirectory', '');
  }, [p.phase]);
  useEffect(() => {
    logEnd.current?.scrollIntoView({ block: 'nearest' });
  }, [p.log.length]);
  useEffect(() => {
    void refreshHub();
  }, []);
  useEffect(() => {
    if (p.phase === 'built' && p.built && !hubUser) {
      const name = p.built.name;
      const t = setTimeout(() => go({ screen: 'servable', name }), 1200);
      return () => clearTimeout(t);
    }
    return undefined;
  }, [p.phase, p.built, hubUser]);

  const last = p.log[p.log.length - 1];
  return (
    <section className="screen publish" aria-labelledby="publish-title">
      <h1 id="publish-title">Publish a model</h1>
      {p.phase === 'idle' || p.phase === 'error' ? (
        <div className="dropzone" data-testid="dropzone">
          <p className="drop-big">Drop a model folder anywhere on this window</p>
          <p className="muted">A scikit-learn pickle (<code>model.pkl</code>), a Keras, PyTorch or ONNX file, or a <code>.py</code> file with a function. The type is detected for you.</p>
          <label className="button" htmlFor="folder-picker">Choose a folder…</label>
          <input
            id="folder-picker"
            ref={picker}
            className="visually-hidden"
            type="file"
            multiple
            onChange={(e) => {
              if (e.target.files && e.target.files.length > 0) void p.dropFiles(readFileList(e.target.files), readBytes);
              e.target.value = '';
            }}
          />
          {mode === 'browser' ? <p className="muted small">The folder is copied to the service's staging folder ($DLHUB_HOME/staging): at most 5,000 files and 32 MiB.</p> : null}
        </div>
      ) : null}
      {p.phase === 'idle' || p.phase === 'error' ? <PublishFromGit /> : null}
      {p.error ? <ErrorBox error={p.error} title="This folder could not be published" /> : null}
      {p.phase === 'uploading' ? <p role="status" className="notice">Copying {p.label} to the service…</p> : null}
      {p.phase === 'detecting' ? <p role="status" className="notice">Detecting the model in {p.label}…</p> : null}

      {p.phase === 'form' || p.phase === 'building' || p.phase === 'built' ? (
        <div className="publish-body">
          <div className="detected" data-testid="detected">
            {p.ownMetadata ? (
              <p><strong>{p.label}</strong> has its own <code>dlhub.json</code>: it is built as it is.</p>
            ) : p.detected ? (
              <p>
                Detected <strong data-testid="detected-type">{p.detected.detected.type}</strong> from <code>{p.detected.detected.file}</code>{' '}
                <span className="muted">({p.detected.detected.reason})</span>
              </p>
            ) : null}
          </div>
          {!p.ownMetadata ? (
            <form
              className="metadata-form"
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                void p.build();
              }}
            >
              {FIELD_ORDER.map((f) => {
                const help = FIELD_HELP[f];
                const problem = p.fieldErrors[f];
                const id = `meta-${f}`;
                const common = {
                  id,
                  value: p.fields[f],
                  disabled: p.phase !== 'form',
                  'aria-invalid': problem ? true : undefined,
                  'aria-describedby': `${id}-help`,
                };
                return (
                  <div key={f} className="field">
                    <label htmlFor={id}>{help.label}</label>
                    {f === 'creators' || f === 'description' ? (
                      <textarea {...common} rows={f === 'creators' ? 2 : 3} onChange={(e) => p.setField(f, e.target.value)} />
                    ) : (
                      <input {...common} type="text" onChange={(e) => p.setField(f, e.target.value)} />
                    )}
                    <p id={`${id}-help`} className={problem ? 'field-error' : 'muted small'}>{problem ?? help.help}</p>
                  </div>
                );
              })}
              <div className="actions">
                <button type="submit" className="primary" disabled={p.phase !== 'form'}>Build</button>
                <button type="button" onClick={() => p.reset()} disabled={p.phase === 'building'}>Start over</button>
              </div>
            </form>
          ) : (
            <div className="actions">
              <button type="button" className="primary" disabled={p.phase !== 'form'} onClick={() => void p.build()}>Build</button>
              <button type="button" onClick={() => p.reset()} disabled={p.phase === 'building'}>Start over</button>
            </div>
          )}
          {p.phase === 'building' || p.phase === 'built' || p.log.length > 0 ? (
            <div className="build" aria-live="polite">
              <h2>Build</h2>
              {p.phase === 'building' ? (
                <>
                  <progress data-testid="build-progress" max={last && last.total > 0 ? last.total : undefined} value={last && last.total > 0 ? last.step : undefined} />
                  <p className="muted small">{last ? `${last.phase}: step ${last.step} of ${last.total}` : 'Starting…'}</p>
                </>
              ) : null}
              {p.phase === 'built' && p.built ? (
                <p className="notice" role="status" data-testid="built">
                  Built <strong>{p.built.name}</strong>
                  {p.built.image ? ` (image ${p.built.image.tag}, ${p.built.image.seconds.toFixed(1)} s)` : p.built.imageSkipped ? ` (${p.built.imageSkipped})` : ''}.{hubUser ? '' : ' Opening it…'}
                </p>
              ) : null}
              {p.phase === 'built' && p.built && hubUser ? <PublishAfterBuild name={p.built.name} onOpen={() => go({ screen: 'servable', name: p.built?.name ?? '' })} /> : null}
              <ol className="build-log" data-testid="build-log">
                {p.log.map((e, i) => <li key={i}><span className="muted">[{e.phase} {e.step}/{e.total}]</span> {e.message}</li>)}
                <li ref={logEnd} className="log-end" aria-hidden="true" />
              </ol>
            </div>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
