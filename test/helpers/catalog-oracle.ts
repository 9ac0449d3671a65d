/**
 * Brute-force oracle for catalog search: reads the raw metadata documents directly and scans strings,
 * sharing no code with main/catalog, so agreement on many random queries means the index is exact.
 */
import type { ServableMetadata } from '../../main/servable/metadata.js';

/** A catalog record as the oracle sees it. */
export interface OracleRecord {
  key: string; // servable@version
  md: ServableMetadata;
  local: boolean;
  latest: boolean;
}

/** A query as a tree, rendered to text for the catalog and evaluated here by scanning. */
export type OQuery =
  | { op: 'and' | 'or'; kids: OQuery[]; implicit?: boolean }
  | { op: 'not'; kid: OQuery }
  | { op: 'term'; field: string | null; value: string; quoted: boolean }
  | { op: 'range'; field: string; lo: string | null; hi: string | null; loInc: boolean; hiInc: boolean };

const str = (v: unknown): string[] => (typeof v === 'string' && v !== '' ? [v] : []);

/** Raw values of a field, read straight from the metadata document. */
export function rawValues(r: OracleRecord, field: string): string[] {
  const { datacite: dc, dlhub: d, servable: s } = r.md;
  const methods = Object.entries(s.methods);
  const m = /^servable\.methods\.(\w+)\.(input|output)\.type$/.exec(field);
  if (m) return str(s.methods[m[1] as string]?.[m[2] as 'input' | 'output']?.type);
  switch (field) {
    case 'datacite.titles.title': return str(dc.titles[0]?.title);
    case 'datacite.descriptions.description': return str((dc.descriptions ?? []).map((x) => x.description).join('\n'));
    case 'datacite.creators.creatorName': return dc.creators.map((c) => c.creatorName ?? `${c.familyName}${c.givenName ? `, ${c.givenName}` : ''}`);
    case 'datacite.publicationYear': return dc.publicationYear ? [String(Number(dc.publicationYear))] : d.publication_date ? [String(new Date(d.publication_date).getUTCFullYear())] : [];
    case 'datacite.identifier.identifier': return str(dc.identifier?.identifier);
    case 'datacite.subjects.subject': return [...((dc['subjects'] as { subject: string }[] | undefined) ?? []).map((x) => x.subject), ...str(s.model_type)];
    case 'dlhub.name': return [d.name];
    case 'dlhub.owner': return str(d.owner);
    case 'dlhub.version': return [d.version ?? '0'];
    case 'dlhub.domains': return d.domains ?? [];
    case 'dlhub.publication_date': return d.publication_date === undefined ? [] : [String(d.publication_date)];
    case 'dlhub.visible_to': return d.visible_to ?? [];
    case 'dlhub.local': return [String(r.local)];
    case 'servable.type': return [s.type];
    case 'servable.shim': return [s.shim];
    case 'servable.model_type': return str(s.model_type);
    case 'servable.methods': return methods.map(([k]) => k);
    case 'servable.methods.input.type': return methods.flatMap(([, v]) => str(v.input?.type));
    case 'servable.methods.output.type': return methods.flatMap(([, v]) => str(v.output?.type));
    default: throw new Error(`oracle: unknown field ${field}`);
  }
}

/** The fields a bare word searches. */
export const ORACLE_TEXT_FIELDS = ['datacite.titles.title', 'datacite.descriptions.description', 'datacite.creators.creatorName', 'dlhub.domains',
  'servable.type', 'servable.methods', 'servable.methods.input.type', 'servable.methods.output.type', 'datacite.subjects.subject', 'dlhub.name'];
const NUMERIC = new Set(['datacite.publicationYear', 'dlhub.publication_date']);

const words = (s: string): string[] => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

function globRe(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern.toLowerCase()) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 's');
}

function termHits(value: string, q: { value: string; quoted: boolean }): boolean {
  if (!q.quoted && /[*?]/.test(q.value)) {
    const re = globRe(q.value);
    return re.test(value.toLowerCase()) || words(value).some((w) => re.test(w));
  }
  const want = words(q.value);
  if (want.length === 0) return false;
  return ` ${words(value).join(' ')} `.includes(` ${want.join(' ')} `);
}

function rangeHits(value: string, q: Extract<OQuery, { op: 'range' }>): boolean {
  const numeric = NUMERIC.has(q.field);
  const v: number | string = numeric ? Number(value) : value.toLowerCase();
  const conv = (b: string): number | string => (numeric ? Number(b) : b.toLowerCase());
  if (q.lo !== null && (q.loInc ? v < conv(q.lo) : v <= conv(q.lo))) return false;
  if (q.hi !== null && (q.hiInc ? v > conv(q.hi) : v >= conv(q.hi))) return false;
  return true;
}

/** Does the record match the query tree? */
export function oracleMatch(r: OracleRecord, q: OQuery): boolean {
  switch (q.op) {
    case 'and': return q.kids.every((k) => oracleMatch(r, k));
    case 'or': return q.kids.some((k) => oracleMatch(r, k));
    case 'not': return !oracleMatch(r, q.kid);
    case 'term': return (q.field === null ? ORACLE_TEXT_FIELDS : [q.field]).some((f) => rawValues(r, f).some((v) => termHits(v, q)));
    case 'range': return rawValues(r, q.field).some((v) => rangeHits(v, q));
  }
}

/** The query as text a user would type. */
export function render(q: OQuery): string {
  switch (q.op) {
    case 'and': case 'or': return `(${q.kids.map(render).join(q.op === 'and' && q.implicit ? ' ' : ` ${q.op.toUpperCase()} `)})`;
    case 'not': return `NOT ${render(q.kid)}`;
    case 'term': {
      const v = q.quoted ? `"${q.value.replace(/(["\\])/g, '\\$1')}"` : q.value;
      return q.field === null ? v : `${q.field}:${v}`;
    }
    case 'range': return `${q.field}:${q.loInc ? '[' : '{'}${q.lo ?? '*'} TO ${q.hi ?? '*'}${q.hiInc ? ']' : '}'}`;
  }
}

/** Plain Levenshtein distance. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Free text: every word matches some word of a text field exactly, as a prefix (the last word while typing) or within 1 edit (5+ letters) or 2 (8+); phrases exactly. */
export function oracleFreeText(r: OracleRecord, text: string): boolean {
  const phrases = [...text.matchAll(/"([^"]*)("|$)/g)].map((m) => m[1] as string).filter((p) => words(p).length > 0);
  const rest = text.replace(/"[^"]*("|$)/g, ' ');
  const ws = words(rest);
  // Still typing a word: the text ends in a word character and no phrase is left open.
  const typing = /[^\s"]$/.test(text) && (text.match(/"/g) ?? []).length % 2 === 0;
  const vocab = new Set(ORACLE_TEXT_FIELDS.flatMap((f) => rawValues(r, f).flatMap(words)));
  const wordOk = (w: string, last: boolean): boolean => {
    const fuzz = w.length >= 8 ? 2 : w.length >= 5 ? 1 : 0;
    for (const v of vocab) if (v === w || (last && typing && v.startsWith(w)) || (fuzz > 0 && Math.abs(v.length - w.length) <= fuzz && levenshtein(v, w) <= fuzz)) return true;
    return false;
  };
  return ws.every((w, i) => wordOk(w, i === ws.length - 1))
    && phrases.every((p) => words(p).every((w) => vocab.has(w)) && ORACLE_TEXT_FIELDS.some((f) => rawValues(r, f).some((v) => termHits(v, { value: p, quoted: true }))));
}
