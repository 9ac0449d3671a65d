// Whether a servable fits this machine, as a badge: asked only once the badge is on screen (a
// catalog of thousands never asks for all), the reason on hover and in its details, which also
// list each cluster added.
import { useEffect, useRef } from 'react';
import { useApp } from './context.js';
import { fitBadge, fitPlaces } from '../stores/fit.js';

/** The fit badge of `name` (a local name or a catalog owner/name). */
export function FitBadge({ name }: { name: string }) {
  const entry = useApp((x) => x.fit, (s) => s.entries[name]);
  const want = useApp((x) => x.fit, (s) => s.want);
  const at = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (entry) return undefined;
    const el = at.current;
    if (!el || typeof IntersectionObserver === 'undefined') {
      want(name);
      return undefined;
    }
    const seen = new IntersectionObserver((changes) => {
      if (changes.some((c) => c.isIntersecting)) {
        seen.disconnect();
        want(name);
      }
    });
    seen.observe(el);
    return () => seen.disconnect();
  }, [name, entry === undefined]);

  if (!entry || entry.state === 'asking') return <span ref={at} className="badge fit-asking" data-testid="fit-badge" data-fit="asking">Checking fit…</span>;
  if (entry.state === 'unknown') return <span className="badge" data-testid="fit-badge" data-fit="unknown" title={entry.message}>Fit unknown</span>;
  const badge = fitBadge(entry.report);
  const places = fitPlaces(entry.report);
  return (
    <details className="fit" data-testid="fit-badge" data-fit={badge.fits ? 'yes' : 'no'}>
      <summary className={badge.fits ? 'badge fit-yes' : 'badge fit-no'} title={badge.title}>{badge.label}</summary>
      <ul className="fit-places">
        {places.map((p) => (
          <li key={p.where}>
            <strong>{p.where}</strong>: {p.fits ? `fits, runs on the ${p.device.toUpperCase()}` : 'does not fit'}
            {p.reasons.length + p.notes.length > 0 ? (
              <ul>
                {p.reasons.map((r) => <li key={r}>{r}</li>)}
                {p.notes.map((n) => <li key={n} className="muted">{n}</li>)}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </details>
  );
}
