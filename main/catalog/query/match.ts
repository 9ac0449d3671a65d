import { QueryError } from '../../errors.js';
import { tokenize } from '../record.js';
import type { RangeNode, TermNode } from './ast.js';
import { caretHint } from './lexer.js';

/**
 * What one term means against one field value, shared by the indexed evaluator (to verify candidates) and
 * by full scans. Semantics: matching is case-insensitive on words (runs of letters and digits); a single
 * word matches a value containing that word; several words (a phrase, or `iris-classifier`) match when
 * they appear next to each other in one value; a wildcard (`*` any run, `?` one character) matches a
 * whole word or the whole value.
 */
export interface CompiledTerm {
  tokens: string[];
  /** The lowercased wildcard pattern, matched by globMatch. */
  glob: string | null;
  /** The pattern's longest run without wildcards: a value without it cannot match, and a substring test is native speed. */
  literal: string;
  /** For a wildcard `abc*` over letters and digits only: the prefix, which the word vocabulary alone can answer. */
  wordPrefix: string | null;
}

/** Prepare a term for matching. */
export function compileTerm(node: TermNode): CompiledTerm {
  if (!node.wildcard) return { tokens: tokenize(node.text), glob: null, literal: '', wordPrefix: null };
  const lower = node.text.toLowerCase();
  const prefix = /^([\p{L}\p{N}]+)\*$/u.exec(lower);
  const literal = lower.split(/[*?]/).reduce((a, b) => (b.length > a.length ? b : a), '');
  return { tokens: [], glob: lower, literal, wordPrefix: prefix ? (prefix[1] as string) : null };
}

/** globMatch for a compiled term, skipping at native speed a text that lacks the pattern's longest literal run. */
export function globMatches(term: CompiledTerm, text: string): boolean {
  return term.glob !== null && (term.literal === '' || text.includes(term.literal)) && globMatch(term.glob, text);
}

/**
 * Does `text` match the wildcard `pattern` as a whole (`*` any run, `?` one UTF-16 unit)? Greedy with one
 * backtrack point: on a mismatch only the last `*` takes one more character, so the cost is at most
 * text length times pattern length, never exponential. A regular expression such as ^.*e.*e.*e.*zz$
 * backtracks into every earlier `*` and took 15 s over 50,000 records.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && c !== 42 && (c === 63 || c === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (p < pattern.length && c === 42) {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

/** True when `tokens` holds `seq` as a contiguous run. */
export function containsRun(tokens: readonly string[], seq: readonly string[]): boolean {
  outer: for (let i = 0; i + seq.length <= tokens.length; i++) {
    for (let j = 0; j < seq.length; j++) if (tokens[i + j] !== seq[j]) continue outer;
    return true;
  }
  return false;
}

/** Does one field value match the term? */
export function valueMatches(value: string, term: CompiledTerm): boolean {
  if (term.glob !== null) {
    const lower = value.toLowerCase();
    if (term.literal !== '' && !lower.includes(term.literal)) return false;
    // The literal is known to be in `lower`: match the whole value directly, then its words (each checked for it).
    return globMatch(term.glob, lower) || tokenize(value).some((t) => globMatches(term, t));
  }
  if (term.tokens.length === 0) return false;
  return containsRun(tokenize(value), term.tokens);
}

/** A range's bounds, checked: numeric fields need numbers. */
export interface CompiledRange {
  numeric: boolean;
  lo: number | string | null;
  hi: number | string | null;
  loInclusive: boolean;
  hiInclusive: boolean;
}

/** Prepare a range; throws QueryError when a numeric field gets a bound that is not a number. */
export function compileRange(node: RangeNode, query: string): CompiledRange {
  const conv = (b: string | null): number | string | null => {
    if (b === null) return null;
    if (!node.field.numeric) return b.toLowerCase();
    const n = Number(b);
    if (b.trim() === '' || !Number.isFinite(n)) {
      throw new QueryError(`Expected a number for the range of ${node.field.name}, found '${b}' at position ${node.pos}`, node.pos,
        caretHint(query, node.pos, `${node.field.name} holds numbers: write e.g. ${node.field.name}:[2018 TO 2020].`));
    }
    return n;
  };
  return { numeric: node.field.numeric, lo: conv(node.lo), hi: conv(node.hi), loInclusive: node.loInclusive, hiInclusive: node.hiInclusive };
}

/** Is `v` (a number for numeric ranges, a lowercased value otherwise) inside the range? */
export function inRange(v: number | string, r: CompiledRange): boolean {
  if (r.lo !== null && (r.loInclusive ? v < r.lo : v <= r.lo)) return false;
  if (r.hi !== null && (r.hiInclusive ? v > r.hi : v >= r.hi)) return false;
  return true;
}

/** Does one field value fall in the range? */
export function valueInRange(value: string, r: CompiledRange): boolean {
  if (!r.numeric) return inRange(value.toLowerCase(), r);
  const n = Number(value);
  return value !== '' && Number.isFinite(n) && inRange(n, r);
}
