import { UsageError } from '../errors.js';
import type { SearchOptions, SearchResult } from './search.js';

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'TO']);

/** A value as query text: left bare when it is one word (wildcards kept), else quoted with escapes. */
export function queryValue(value: string | number): string {
  const s = String(value);
  if (/^".*"$/s.test(s) && s.length >= 2) return s;
  if (s !== '' && /^[^\s()[\]{}:"\\]+$/.test(s) && !KEYWORDS.has(s)) return s;
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * DLHub's query helper (`client.query.match_term(...).match_domains(...).search()`): each call adds a
 * clause, clauses are joined with AND, and the result is the same text a user could type with --advanced.
 */
export class QueryHelper {
  private readonly clauses: string[] = [];
  private versions = false;

  /** `run` is the catalog's search, called by search(). */
  constructor(private readonly run?: (text: string, opts: SearchOptions) => SearchResult) {}

  private add(clause: string): this {
    this.clauses.push(clause);
    return this;
  }

  private many(field: string, values: string | readonly string[], matchAll: boolean): this {
    const list = typeof values === 'string' ? [values] : values;
    const parts = list.map((v) => `${field}:${queryValue(v)}`);
    if (parts.length === 0) return this;
    return this.add(parts.length === 1 ? (parts[0] as string) : `(${parts.join(matchAll ? ' AND ' : ' OR ')})`);
  }

  /** A free-text term, or with two arguments `field:value` (as the DLHub SDK's match_term('servable.type', '"Keras Model"')). */
  matchTerm(termOrField: string, value?: string): this {
    return value === undefined ? this.add(queryValue(termOrField)) : this.matchField(termOrField, value);
  }

  /** `field:value`; lists match any element, case-insensitively. */
  matchField(field: string, value: string | number): this {
    return this.add(`${field}:${queryValue(value)}`);
  }

  /** Exclude records where `field` matches `value`. */
  excludeField(field: string, value: string | number): this {
    return this.add(`NOT ${field}:${queryValue(value)}`);
  }

  /** `field:[start TO stop]`; null is an open end. */
  matchRange(field: string, start: string | number | null, stop: string | number | null, inclusive = true): this {
    const [open, close] = inclusive ? ['[', ']'] : ['{', '}'];
    const b = (v: string | number | null): string => (v === null ? '*' : queryValue(v));
    return this.add(`${field}:${open}${b(start)} TO ${b(stop)}${close}`);
  }

  /** Records in these domains (all of them by default, any with matchAll false). */
  matchDomains(domains: string | readonly string[], matchAll = true): this {
    return this.many('dlhub.domains', domains, matchAll);
  }

  /** Records by these creators (all by default). */
  matchAuthors(authors: string | readonly string[], matchAll = true): this {
    return this.many('datacite.creators.creatorName', authors, matchAll);
  }

  /** Records published in these years, inclusive; null leaves an end open. */
  matchYears(start: number | null, stop: number | null = start, inclusive = true): this {
    return this.matchRange('datacite.publicationYear', start, stop, inclusive);
  }

  /** Records of this servable.type, e.g. "Keras Model" (any of several). */
  matchType(types: string | readonly string[]): this {
    return this.many('servable.type', types, false);
  }

  /** Records owned by this user. */
  matchOwner(owner: string): this {
    return this.matchField('dlhub.owner', owner);
  }

  /** The record with this DOI. */
  matchDoi(doi: string): this {
    return this.matchField('datacite.identifier.identifier', doi);
  }

  /** Return every version, not only the newest. */
  allVersions(on = true): this {
    this.versions = on;
    return this;
  }

  /** The query text built so far (empty matches everything). */
  toString(): string {
    return this.clauses.join(' AND ');
  }

  /** Run the query through the catalog, as an advanced search. */
  search(opts: Omit<SearchOptions, 'advanced' | 'allVersions'> = {}): SearchResult {
    if (!this.run) throw new UsageError('USAGE', 'This query helper is not bound to a catalog, so it cannot search.', { hint: 'Get a bound helper from catalog.query(), or pass toString() to catalog.search(text, { advanced: true }).' });
    return this.run(this.toString(), { ...opts, advanced: true, allVersions: this.versions });
  }
}
