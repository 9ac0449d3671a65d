import { FIELDS } from '../fields.js';
import type { FieldSpec } from '../fields.js';
import type { FieldPostings } from '../postings.js';
import { numberRange } from '../postings.js';
import type { CatalogDoc } from '../record.js';
import type { QueryNode, RangeNode, TermNode } from './ast.js';
import { compileRange, compileTerm, globMatches, inRange, valueInRange, valueMatches } from './match.js';
import type { CompiledTerm } from './match.js';

/** What the evaluator reads: records by slot, the slots in scope, and per-field postings (undefined: scan). */
export interface EvalSource {
  readonly slotCount: number;
  /** 1 for each slot in scope (live, and newest version unless all versions were asked for). */
  readonly universe: Uint8Array;
  doc(slot: number): CatalogDoc | undefined;
  postings(field: FieldSpec): FieldPostings | undefined;
  /**
   * Mark the slots whose `field` holds the word (or a word starting with it, with `prefix`) from the ranked text index,
   * without building the field's postings; false when the field is not in that index.
   */
  markWord?(field: FieldSpec, word: string, prefix: boolean, out: Uint8Array): boolean;
  /** The values of a field backed by the text index (see markWord) for one slot, without decoding the whole record. */
  textValues?(field: FieldSpec, slot: number): readonly string[];
}

/** Fields a bare term (no field:) searches: the same text fields minisearch indexes. */
export const BARE_FIELDS: readonly FieldSpec[] = FIELDS.filter((f) => f.textField !== undefined);

/**
 * Evaluate a parsed query to the exact set of matching slots (a 0/1 byte per slot).
 * A bare term matches a record when it matches (see match.ts) a value of any free-text field;
 * NOT x is every record in scope that x does not match.
 */
export function evaluate(node: QueryNode, src: EvalSource, query: string): Uint8Array {
  const out = new Uint8Array(src.slotCount);
  switch (node.kind) {
    case 'all':
      out.set(src.universe);
      return out;
    case 'and': {
      const [first, ...rest] = node.children.map((c) => evaluate(c, src, query));
      if (first) out.set(first);
      for (const s of rest) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) & (s[i] as number);
      return out;
    }
    case 'or':
      for (const s of node.children.map((c) => evaluate(c, src, query))) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) | (s[i] as number);
      return out;
    case 'not': {
      const inner = evaluate(node.child, src, query);
      for (let i = 0; i < out.length; i++) out[i] = (src.universe[i] as number) & ((inner[i] as number) ^ 1);
      return out;
    }
    case 'term':
      for (const field of node.field ? [node.field] : BARE_FIELDS) termInField(node, field, src, out);
      return mask(out, src.universe);
    case 'range':
      rangeInField(node, src, query, out);
      return mask(out, src.universe);
  }
}

function mask(out: Uint8Array, universe: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) & (universe[i] as number);
  return out;
}

function mark(out: Uint8Array, slots: readonly number[] | undefined): void {
  if (slots) for (const s of slots) out[s] = 1;
}

function fieldHas(doc: CatalogDoc | undefined, field: FieldSpec, test: (value: string) => boolean): boolean {
  return doc !== undefined && field.values(doc).some(test);
}

// Fields without postings (a named method's input type) are answered by scanning the records in scope.
function scan(src: EvalSource, field: FieldSpec, out: Uint8Array, test: (value: string) => boolean): void {
  for (let s = 0; s < src.slotCount; s++) if (src.universe[s] && fieldHas(src.doc(s), field, test)) out[s] = 1;
}

// A word, a prefix (abc*) or adjacent words, answered from the ranked text index when the field is in it. False: not handled.
function termFromText(term: CompiledTerm, field: FieldSpec, src: EvalSource, out: Uint8Array): boolean {
  const markWord = src.markWord?.bind(src);
  if (!markWord) return false;
  if (term.wordPrefix !== null) return markWord(field, term.wordPrefix, true, out);
  if (term.glob !== null) return false;
  if (term.tokens.length <= 1) return term.tokens.length === 0 || markWord(field, term.tokens[0] as string, false, out);
  // Several words: records holding all of them in the field, then checked for adjacency in one value.
  const all = new Uint8Array(out.length);
  if (!markWord(field, term.tokens[0] as string, false, all)) return false;
  for (const w of term.tokens.slice(1)) {
    const next = new Uint8Array(out.length);
    markWord(field, w, false, next);
    for (let i = 0; i < all.length; i++) all[i] = (all[i] as number) & (next[i] as number);
  }
  const seen = new Map<string, boolean>();
  const check = (v: string): boolean => {
    let ok = seen.get(v);
    if (ok === undefined) seen.set(v, (ok = valueMatches(v, term)));
    return ok;
  };
  const values = src.textValues?.bind(src) ?? ((f: FieldSpec, s: number): readonly string[] => { const d = src.doc(s); return d ? f.values(d) : []; });
  for (let s = 0; s < all.length; s++) if (all[s] && src.universe[s] && values(field, s).some(check)) out[s] = 1;
  return true;
}

function termInField(node: TermNode, field: FieldSpec, src: EvalSource, out: Uint8Array): void {
  const term = compileTerm(node);
  if (termFromText(term, field, src, out)) return;
  const p = src.postings(field);
  if (!p) return scan(src, field, out, (v) => valueMatches(v, term));
  if (term.glob !== null) return globInField(term, p, out);
  const [first, ...others] = term.tokens;
  if (first === undefined) return;
  const candidates = p.words.get(first);
  if (!candidates) return;
  if (others.length === 0) return mark(out, candidates);
  // Several words: every one must be in the field; then check they stand next to each other in one value.
  if (others.some((w) => !p.words.has(w))) return;
  // Few distinct values (types, domains): check each value once and take its records.
  if (p.values.size < candidates.length) {
    for (const [v, slots] of p.values) if (valueMatches(v, term)) mark(out, slots);
    return;
  }
  // Otherwise check the candidates, each distinct value once.
  const seen = new Map<string, boolean>();
  const check = (v: string): boolean => {
    let ok = seen.get(v);
    if (ok === undefined) seen.set(v, (ok = valueMatches(v, term)));
    return ok;
  };
  for (const s of candidates) {
    if (!out[s] && src.universe[s] && fieldHas(src.doc(s), field, check)) out[s] = 1;
  }
}

function globInField(term: CompiledTerm, p: FieldPostings, out: Uint8Array): void {
  if (term.wordPrefix !== null) {
    // abc* over a whole value that starts with letters is the same as abc* over its first word, so words suffice.
    const prefix = term.wordPrefix;
    for (const [w, slots] of p.words) if (w.startsWith(prefix)) mark(out, slots);
    return;
  }
  for (const [w, slots] of p.words) if (globMatches(term, w)) mark(out, slots);
  for (const [v, slots] of p.values) if (globMatches(term, v)) mark(out, slots);
}

function rangeInField(node: RangeNode, src: EvalSource, query: string, out: Uint8Array): void {
  const r = compileRange(node, query);
  const p = src.postings(node.field);
  if (!p) return scan(src, node.field, out, (v) => valueInRange(v, r));
  if (r.numeric && p.numbers) return mark(out, numberRange(p, r.lo as number | null, r.loInclusive, r.hi as number | null, r.hiInclusive));
  for (const [v, slots] of p.values) if (inRange(v, r)) mark(out, slots);
}

/** Terms that count towards ranking: those not under a NOT. */
export function positiveTerms(node: QueryNode): TermNode[] {
  switch (node.kind) {
    case 'term': return [node];
    case 'and': case 'or': return node.children.flatMap(positiveTerms);
    default: return [];
  }
}
