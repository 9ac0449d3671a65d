import { useEffect, useRef } from 'react';
import { useApp } from '../components/context.js';
import { ErrorBox } from '../components/error-box.js';
import { CatalogHubBar, PullButton } from '../components/hub-panels.js';
import { FitBadge } from '../components/fit-badge.js';
import { looksAdvanced } from '../stores/catalog.js';
import { formatHash } from '../stores/nav.js';

const FACET_LABELS: Record<string, string> = { type: 'Type', domains: 'Domain', creators: 'Creator', year: 'Year' };

/** Where in the query the parser stopped, drawn under the query text. */
function QueryError({ query, position, message, hint }: { query: string; position: number | undefined; message: string; hint: string | undefined }) {
  // The hint repeats the query with a caret under it (for a terminal); the caret is drawn above, the advice kept.
  const advice = (hint ?? '').split('\n').filter((l) => l.trim() !== '' && l !== query && !/^\s*\^\s*$/.test(l)).join(' ');
  return (
    <div className="query-error" role="alert" data-testid="query-error">
      {position !== undefined ? (
        <pre aria-hidden="true">
          {query}
          {'\n'}
          {' '.repeat(Math.max(0, Math.min(position, query.length)))}^
        </pre>
      ) : null}
      <p>{message}</p>
      {advice ? <p className="hint">{advice}</p> : null}
    </div>
  );
}

/** Catalog: one search box (free text or field syntax), facets, results as you type. */
export function CatalogScreen() {
  const query = useApp((s) => s.catalog, (c) => c.query);
  const allVersions = useApp((s) => s.catalog, (c) => c.allVersions);
  const result = useApp((s) => s.catalog, (c) => c.result);
  const error = useApp((s) => s.catalog, (c) => c.error);
  const setQuery = useApp((s) => s.catalog, (c) => c.setQuery);
  const setAllVersions = useApp((s) => s.catalog, (c) => c.setAllVersions);
  const addFacet = useApp((s) => s.catalog, (c) => c.addFacet);
  const go = useApp((s) => s.nav, (n) => n.go);
  const input = useRef<HTMLInputElement>(null);

  const refresh = useApp((s) => s.catalog, (c) => c.refresh);
  useEffect(() => {
    // Each visit searches again (a build, publish or import since the last one may have changed the
    // catalog); the last results stay on screen until the new ones arrive. Coming back to the window
    // does too, for a change made from the command line meanwhile. Later searches run as the user types.
    void refresh();
    input.current?.focus();
    const onFocus = (): void => void refresh();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, []);

  const advanced = looksAdvanced(query);
  const queryProblem = error && error.code === 'QUERY_INVALID' ? error : undefined;
  const hits = result?.hits ?? [];
  return (
    <section className="screen catalog" aria-labelledby="catalog-title">
      <h1 id="catalog-title">Catalog</h1>
      <CatalogHubBar />
      <div className="search-row">
        <label htmlFor="search" className="visually-hidden">Search servables</label>
        <input
          id="search"
          ref={input}
          type="search"
          value={query}
          placeholder='Search: iris, or dlhub.domains:biology AND servable.type:"Scikit-learn estimator"'
          autoComplete="off"
          spellCheck={false}
          aria-invalid={queryProblem ? true : undefined}
          aria-describedby="search-help"
          onChange={(e) => void setQuery(e.target.value)}
          onKeyDown={(e) => {
            // Down arrow goes from the search box to the first result; Enter opens it.
            if (e.key === 'ArrowDown') {
              const first = document.querySelector<HTMLAnchorElement>('[data-testid="hits"] a');
              if (first) {
                e.preventDefault();
                first.focus();
              }
            }
          }}
          aria-keyshortcuts="/"
        />
        <label className="check">
          <input type="checkbox" checked={allVersions} onChange={(e) => void setAllVersions(e.target.checked)} /> All versions
        </label>
      </div>
      <p id="search-help" className="muted small">
        {advanced ? <span className="tag">Field syntax</span> : <span className="tag quiet">Free text</span>} Words match any field; <code>field:value</code>, <code>AND</code>, <code>OR</code>, <code>NOT</code> and quotes search fields. <kbd>/</kbd> comes back here, <kbd>↓</kbd> goes to the results.
      </p>
      {queryProblem ? (
        <QueryError query={query} position={typeof queryProblem.details?.['position'] === 'number' ? queryProblem.details['position'] : undefined} message={queryProblem.message} hint={queryProblem.hint} />
      ) : error && error.code !== 'SERVICE_UNAVAILABLE' ? (
        <ErrorBox error={error} title="Search failed" />
      ) : null}
      <div className="catalog-body">
        <aside className="facets" aria-label="Narrow the results">
          {result
            ? Object.entries(result.facets).map(([facet, buckets]) =>
                buckets.length === 0 ? null : (
                  <div key={facet} className="facet">
                    <h2>{FACET_LABELS[facet] ?? facet}</h2>
                    <ul>
                      {buckets.slice(0, 8).map((b) => (
                        <li key={String(b.value)}>
                          <button type="button" className="link" onClick={() => void addFacet(facet, b.value)}>
                            {String(b.value)} <span className="count">{b.count}</span>
                          </button>
                        </li>
                      ))}
                    </ul>
                  </div>
                ),
              )
            : null}
        </aside>
        <div className="results">
          {result ? <p className="muted small" aria-live="polite">{result.total} servable{result.total === 1 ? '' : 's'}{result.query ? ` match "${result.query}"` : ''}{queryProblem ? ' (the last query that could be read)' : ''}</p> : null}
          {result && hits.length === 0 ? (
            query.trim() === '' ? (
              <div className="empty">
                <h2>No servables yet</h2>
                <p>Publish a model: drop its folder on this window (or open <a href="#/publish">Publish</a>). A catalog from another machine comes in with <code>dlhub catalog import FILE</code>.</p>
              </div>
            ) : (
              <div className="empty">
                <h2>Nothing matches</h2>
                <p>Try fewer or shorter words, or clear the search to see everything.</p>
              </div>
            )
          ) : null}
          <ul className="hits" data-testid="hits">
            {hits.map((h) => {
              const target = h.local ? h.name : h.servable;
              // An older version (listed with All versions) opens on its own record.
              const route = h.latest ? { screen: 'servable' as const, name: target } : { screen: 'servable' as const, name: target, version: h.version };
              return (
                <li key={`${h.servable}@${h.version}`} className="hit">
                  <a
                    href={formatHash(route)}
                    onClick={(e) => {
                      e.preventDefault();
                      go(route);
                    }}
                  >
                    <span className="hit-title">{h.title || h.name}</span>
                  </a>
                  <span className={h.local ? 'badge local' : 'badge catalog'}>{h.local ? 'On this machine' : 'Catalog record'}</span>
                  {h.local ? null : <PullButton servable={h.servable} version={h.version} />}
                  {h.latest ? <FitBadge name={target} /> : null}
                  <div className="hit-meta muted small">
                    <span>{h.servable}</span> · <span>v{h.version}</span>
                    {h.type ? <> · <span>{h.type}</span></> : null}
                    {h.domains.length > 0 ? <> · <span>{h.domains.join(', ')}</span></> : null}
                  </div>
                  {h.description ? <p className="hit-desc">{h.description}</p> : null}
                </li>
              );
            })}
          </ul>
        </div>
      </div>
    </section>
  );
}
