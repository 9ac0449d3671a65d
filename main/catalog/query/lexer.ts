import { QueryError } from '../../errors.js';
import { QUERY_LIMITS } from './limits.js';

/** One lexical unit of a query, with its 0-based start position for error messages. */
export interface Token {
  kind: 'word' | 'phrase' | 'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'lbrace' | 'rbrace' | 'colon' | 'and' | 'or' | 'not' | 'eof';
  text: string;
  pos: number;
  /** True when whitespace precedes this token; `field:value` must be written without any. */
  spaced: boolean;
}

// Maps, not object literals: a word like `constructor` or `__proto__` must not find Object.prototype's members.
const PUNCT = new Map<string, Token['kind']>([
  ['(', 'lparen'], [')', 'rparen'], ['[', 'lbracket'], [']', 'rbracket'], ['{', 'lbrace'], ['}', 'rbrace'], [':', 'colon'],
]);
const KEYWORDS = new Map<string, Token['kind']>([['AND', 'and'], ['OR', 'or'], ['NOT', 'not'], ['&&', 'and'], ['||', 'or']]);

/** The query with a caret under `pos`, for an error's hint. */
export function caretHint(query: string, pos: number, advice: string): string {
  return `${query}\n${' '.repeat(Math.max(0, pos))}^\n${advice}`;
}

function isWordChar(c: string): boolean {
  return !/\s/.test(c) && !PUNCT.has(c) && c !== '"';
}

// A quoted phrase; backslash escapes the next character. `lenient` (free text) lets a phrase run to the end while typing.
function readPhrase(query: string, start: number, lenient: boolean): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < query.length && query[i] !== '"') {
    if (query[i] === '\\' && i + 1 < query.length) i++;
    text += query[i];
    i++;
  }
  if (i >= query.length && !lenient) {
    throw new QueryError(`Expected a closing '"' for the phrase that starts at position ${start}`, start,
      caretHint(query, start, 'Close the phrase with a double quote, or escape a literal quote as \\".'));
  }
  return { text, end: i + 1 };
}

/** Refuse a query longer than QUERY_LIMITS.maxLength before any work is done on it. */
export function checkQueryLength(query: string): void {
  const max = QUERY_LIMITS.maxLength;
  if (query.length <= max) return;
  throw new QueryError(`Query too long: ${query.length} characters, over the limit of ${max}, at position ${max}`, max,
    `Shorten the query to at most ${max} characters; search for a few distinctive words, not a whole text.`);
}

/** Split an advanced query into tokens; AND, OR and NOT are operators only in capitals, as in Lucene and Globus Search. */
export function lex(query: string): Token[] {
  checkQueryLength(query);
  const out: Token[] = [];
  let i = 0;
  let spaced = true;
  while (i < query.length) {
    const c = query[i] as string;
    if (/\s/.test(c)) { spaced = true; i++; continue; }
    const punct = PUNCT.get(c);
    if (punct) {
      out.push({ kind: punct, text: c, pos: i, spaced });
      i++;
    } else if (c === '"') {
      const { text, end } = readPhrase(query, i, false);
      out.push({ kind: 'phrase', text, pos: i, spaced });
      i = end;
    } else {
      const start = i;
      let text = '';
      while (i < query.length && (isWordChar(query[i] as string) || query[i] === '\\')) {
        if (query[i] === '\\' && i + 1 < query.length) i++;
        text += query[i];
        i++;
      }
      const raw = query.slice(start, i);
      out.push({ kind: KEYWORDS.get(raw) ?? 'word', text, pos: start, spaced });
    }
    spaced = false;
  }
  out.push({ kind: 'eof', text: '', pos: query.length, spaced });
  return out;
}

/** Split free text (not advanced) into words and quoted phrases; every other character is literal text. */
export function lexFreeText(query: string): Token[] {
  checkQueryLength(query);
  const out: Token[] = [];
  let i = 0;
  while (i < query.length) {
    if (query[i] === '"') {
      const { text, end } = readPhrase(query, i, true);
      out.push({ kind: 'phrase', text, pos: i, spaced: true });
      i = end;
      continue;
    }
    const m = /^[^\s"]+/.exec(query.slice(i));
    if (m) out.push({ kind: 'word', text: m[0], pos: i, spaced: true });
    i += m ? m[0].length : 1;
  }
  out.push({ kind: 'eof', text: '', pos: query.length, spaced: true });
  return out;
}
