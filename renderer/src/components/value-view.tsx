// A method's output drawn for reading: a table for rows of values, a list and a small chart for a
// numeric series, an image for image bytes, JSON for anything else.
import { useEffect, useMemo, useState } from 'react';
import { plainValue } from '../client/values.js';

const isScalar = (v: unknown): boolean => v === null || ['number', 'string', 'boolean'].includes(typeof v);

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString();
  if (v === null) return 'null';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function imageType(b: Uint8Array): string | undefined {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'image/gif';
  return undefined;
}

function ImageBytes({ bytes, type }: { bytes: Uint8Array; type: string }) {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const u = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [bytes, type]);
  return url ? <img className="output-image" src={url} alt="Output image" /> : null;
}

/** A line chart of a numeric series (no labels: the list beside it has the numbers). */
export function Sparkline({ values }: { values: number[] }) {
  const w = 240;
  const h = 60;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * w).toFixed(1)},${(h - ((v - min) / span) * (h - 4) - 2).toFixed(1)}`).join(' ');
  return (
    <svg className="sparkline" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={`Chart of ${values.length} values from ${fmt(min)} to ${fmt(max)}`}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

/** Rows shown at most; the rest are counted. */
const MAX_ROWS = 200;

/** An output value. */
export function ValueView({ value }: { value: unknown }) {
  const v = useMemo(() => plainValue(value), [value]);
  if (v instanceof Uint8Array) {
    const type = imageType(v);
    return type ? <ImageBytes bytes={v} type={type} /> : <p className="value-scalar">{v.byteLength} bytes</p>;
  }
  if (isScalar(v)) return <p className="value-scalar" data-testid="output-scalar">{fmt(v)}</p>;
  if (Array.isArray(v) && v.length > 0 && v.every((r) => Array.isArray(r) && r.every(isScalar))) {
    const rows = v as unknown[][];
    const width = Math.max(...rows.map((r) => r.length));
    return (
      <div className="table-wrap">
        <table className="output-table" data-testid="output-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              {Array.from({ length: width }, (_, i) => <th key={i} scope="col">{i}</th>)}
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, MAX_ROWS).map((r, i) => (
              <tr key={i}>
                <th scope="row">{i}</th>
                {r.map((c, j) => <td key={j}>{fmt(c)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length > MAX_ROWS ? <p className="muted">{rows.length - MAX_ROWS} more rows not shown.</p> : null}
      </div>
    );
  }
  if (Array.isArray(v) && v.length > 0 && v.every(isScalar)) {
    const numbers = v.every((x) => typeof x === 'number') ? v : undefined;
    return (
      <div className="series">
        <ol className="number-list" data-testid="output-list" start={0}>
          {v.slice(0, MAX_ROWS).map((x, i) => <li key={i}>{fmt(x)}</li>)}
        </ol>
        {numbers && numbers.length >= 3 ? <Sparkline values={numbers} /> : null}
      </div>
    );
  }
  return <pre className="value-json" data-testid="output-json">{JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `(${x.byteLength} bytes)` : x), 2)}</pre>;
}
