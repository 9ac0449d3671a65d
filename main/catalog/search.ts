import type { SearchHit, SearchResult } from '../contract/schemas.js';
import { listSlots } from './facets.js';
import { TEXT_FIELDS } from './fields.js';
import type { TermNode } from './query/ast.js';
import { BARE_FIELDS, evaluate, positiveTerms } from './query/evaluate.js';
import { compileTerm, valueMatches } from './query/match.js';
import { QUERY_LIMITS } from './query/limits.js';
import { parseFreeText, parseQuery } from './query/parser.js';
import type { CatalogDoc } from './record.js';
import { tokenize } from './record.js';
import type { SearchIndex } from './search-index.js';
import type { TextTerm } from './text-index.js';

/** How to search: free text (default) or DLHub's field query syntax, newest versions (default) or all, which page. */
export interface SearchOptions {
  advanced?: boolean;
  allVersions?: boolean;
  /** 1-based. */
  page?: number;
  pageSize?: number;
}

/** One result row, and a page of ranked results with the total and facet counts over every match (wire types, declared in the contract). */
export type { SearchHit, SearchResult };

/**
 * Fuzziness while typing: none for short words, one edit from 5 letters, two from 8, and none past
 * QUERY_LIMITS.maxFuzzyWordLength: an edit-distance search costs memory quadratic in the word (a 40,000-letter word took 1.9 GB).
 */
export function fuzzOf(term: string): number {
  if (term.length > QUERY_LIMITS.maxFuzzyWordLength) return 0;
  return term.length >= 8 ? 2 : term.length >= 5 ? 1 : 0;
}

/**
 * Free text as DLHub's plain search reads it: every word and phrase is required. Words match in any
 * text field exactly, within fuzzOf edits, or, for the word still being typed (the last, when the text
 * does not end in a space), as a prefix. Phrases match exactly: adjacent words in one field value.
 */
function freeTextMatches(index: SearchIndex, text: string, universe: Uint8Array): Matches {
  const terms = parseFreeText(text);
  const phrases = terms.filter((t) => t.phrase && tokenize(t.text).length > 0);
  const words = terms.filter((t) => !t.phrase).flatMap((t) => tokenize(t.text));
  const open = !/[\s"]$/.test(text) && terms.at(-1)?.phrase === false;
  const query: TextTerm[] = words.map((term, i) => ({
    term, prefix: open && i === words.length - 1 && term.length <= QUERY_LIMITS.maxPrefixWordLength, fuzzy: fuzzOf(term),
  }));
  for (const p of phrases) for (const term of tokenize(p.text)) query.push({ term, prefix: false, fuzzy: 0 });
  if (query.length === 0) return { set: Uint8Array.from(universe), scores: null };
  const { set, scores, slots } = index.rank(query, universe, true);
  if (phrases.length === 0) return { set, scores, slots };
  const compiled = phrases.map((p) => compileTerm(p));
  for (const slot of slots) {
    const doc = index.docAt(slot) as CatalogDoc;
    if (!compiled.every((c) => BARE_FIELDS.some((f) => f.values(doc).some((v) => valueMatches(v, c))))) set[slot] = 0;
  }
  return { set, scores };
}

const RANKED_FIELDS = new Set<string>(['title', 'description', 'creators', 'tags']);

// Ranking for field queries: text scores of the positive terms, each in its own text field.
function rankTerms(terms: TermNode[]): TextTerm[] {
  const out: TextTerm[] = [];
  for (const t of terms) {
    // Keyword-like fields (type, domains, methods, argument types) filter; scoring them would cost time and order nothing.
    if (t.field !== null && !RANKED_FIELDS.has(t.field.textField ?? 'none')) continue;
    const fields = t.field?.textField ? { fields: [TEXT_FIELDS.indexOf(t.field.textField)] } : {};
    const c = compileTerm(t);
    if (c.wordPrefix !== null) out.push({ term: c.wordPrefix, prefix: true, fuzzy: 0, ...fields });
    else for (const term of c.tokens) out.push({ term, prefix: false, fuzzy: 0, ...fields });
  }
  return out;
}

/** A matching set (a 0/1 byte per slot) and, when ranked, a score per slot. */
export interface Matches {
  set: Uint8Array;
  scores: Float64Array | null;
  /** The set's slots in ascending order, when the matcher already had them. */
  slots?: Int32Array;
}

/** The exact set of matching slots and their scores: what search() pages and counts. */
export function matchSlots(index: SearchIndex, text: string, opts: SearchOptions = {}): Matches {
  const src = index.source(opts.allVersions ?? false);
  if (!opts.advanced) return freeTextMatches(index, text, src.universe);
  const node = parseQuery(text);
  const set = evaluate(node, src, text);
  const rt = rankTerms(positiveTerms(node));
  return { set, scores: rt.length > 0 ? index.rank(rt, set, false).scores : null };
}

function hitOf(doc: CatalogDoc, score: number): SearchHit {
  return {
    servable: doc.servable, name: doc.name, owner: doc.owner, version: doc.version, title: doc.title, description: doc.description,
    type: doc.type, domains: doc.domains, creators: doc.creators, year: doc.year, doi: doc.doi, methods: doc.methods,
    local: doc.local, latest: doc.latest, score,
  };
}

/** Run a query: ranked by score, then title and name; paged; with facets over every match. */
export function runSearch(index: SearchIndex, text: string, opts: SearchOptions = {}): SearchResult {
  const page = Math.max(1, Math.floor(opts.page ?? 1));
  const pageSize = Math.min(1000, Math.max(1, Math.floor(opts.pageSize ?? 20)));
  const { set, scores, slots } = matchSlots(index, text, opts);
  const k = page * pageSize;
  // Keep only the best k in order; a full sort of tens of thousands of matches would dominate the query.
  // Candidates carry only what ordering reads (title, id): an unranked query ties every match on score, and decoding each
  // whole record to compare titles was most of a fresh advanced search; whole records are decoded for the page alone.
  const top: { slot: number; score: number; title: string; id: number }[] = [];
  const before = (a: (typeof top)[number], b: (typeof top)[number]): boolean =>
    a.score !== b.score ? a.score > b.score : a.title !== b.title ? a.title < b.title : a.id < b.id;
  const matched = slots ?? listSlots(set);
  for (let j = 0; j < matched.length; j++) {
    const slot = matched[j] as number;
    const score = scores ? (scores[slot] as number) : 0;
    // Most matches score below the k-th best: skip them before building a candidate.
    if (top.length === k && score < (top[k - 1] as (typeof top)[number]).score) continue;
    const cand = { slot, score, ...index.orderKey(slot) };
    if (top.length === k && !before(cand, top[k - 1] as typeof cand)) continue;
    let at = top.length;
    while (at > 0 && before(cand, top[at - 1] as typeof cand)) at--;
    top.splice(at, 0, cand);
    if (top.length > k) top.pop();
  }
  return {
    query: text, advanced: opts.advanced ?? false, allVersions: opts.allVersions ?? false, total: matched.length, page, pageSize,
    hits: top.slice((page - 1) * pageSize).map((c) => hitOf(index.docAt(c.slot) as CatalogDoc, c.score)),
    facets: index.facetCounts(matched),
  };
}
