import { QueryError } from '../../errors.js';
import { FIELDS, knownFieldNames, resolveField } from '../fields.js';
import type { FieldSpec } from '../fields.js';
import type { QueryNode, RangeNode, TermNode } from './ast.js';
import { caretHint, lex, lexFreeText } from './lexer.js';
import type { Token } from './lexer.js';
import { QUERY_LIMITS } from './limits.js';

const DESCRIBE: Record<Token['kind'], string> = {
  word: 'a word', phrase: 'a phrase', lparen: "'('", rparen: "')'", lbracket: "'['", rbracket: "']'", lbrace: "'{'",
  rbrace: "'}'", colon: "':'", and: "'AND'", or: "'OR'", not: "'NOT'", eof: 'the end of the query',
};

// The fixed fields have postings; a per-method field (resolveField makes a new spec for each) is answered by a scan.
const INDEXED = new Set<FieldSpec>(FIELDS);

const STARTS_CLAUSE = new Set<Token['kind']>(['word', 'phrase', 'lparen', 'not']);

/** Recursive-descent parser for DLHub's advanced query syntax (Lucene style, as Globus Search reads it). */
class Parser {
  private i = 0;
  private depth = 0;
  private wildcards = 0;
  private terms = 0;
  private scanTerms = 0;
  constructor(private readonly query: string, private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    return this.tokens[this.i++] as Token;
  }
  private fail(message: string, pos: number, advice: string): never {
    throw new QueryError(`${message} at position ${pos}`, pos, caretHint(this.query, pos, advice));
  }

  parse(): QueryNode {
    if (this.peek().kind === 'eof') return { kind: 'all' };
    const node = this.or(null);
    const t = this.peek();
    if (t.kind === 'rparen') this.fail("Unexpected ')' with no '(' before it", t.pos, "Remove the ')' or add the '(' it closes.");
    if (t.kind !== 'eof') this.fail(`Expected AND, OR or the end of the query, found ${DESCRIBE[t.kind]}`, t.pos, 'Join clauses with AND or OR.');
    return node;
  }

  private or(field: FieldSpec | null): QueryNode {
    const children = [this.and(field)];
    while (this.peek().kind === 'or') {
      const op = this.next();
      this.expectClause(op, 'OR');
      children.push(this.and(field));
    }
    return children.length === 1 ? (children[0] as QueryNode) : { kind: 'or', children };
  }

  private and(field: FieldSpec | null): QueryNode {
    const children = [this.unary(field)];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'and') {
        this.next();
        this.expectClause(t, 'AND');
      } else if (!STARTS_CLAUSE.has(t.kind)) break;
      children.push(this.unary(field));
    }
    return children.length === 1 ? (children[0] as QueryNode) : { kind: 'and', children };
  }

  private expectClause(op: Token, name: string): void {
    const t = this.peek();
    if (!STARTS_CLAUSE.has(t.kind)) this.fail(`Expected a term after '${name}', found ${DESCRIBE[t.kind]}`, t.pos, `Put a term, a field:value or a ( group ) after ${name}.`);
    void op;
  }

  // Every level of ( ), NOT and field:( ) recurses once: bounded so 10,000 of them are a QueryError, not a stack overflow.
  private nested<T>(at: Token, inner: () => T): T {
    const max = QUERY_LIMITS.maxDepth;
    if (this.depth >= max) {
      this.fail(`Query nested too deeply: more than ${max} levels of parentheses or NOT`, at.pos, `Use at most ${max} nested groups and NOTs; AND and OR at one level need no parentheses.`);
    }
    this.depth++;
    try {
      return inner();
    } finally {
      this.depth--;
    }
  }

  private unary(field: FieldSpec | null): QueryNode {
    const t = this.peek();
    if (t.kind === 'not') {
      this.next();
      this.expectClause(this.peek(), 'NOT');
      return this.nested(t, () => ({ kind: 'not', child: this.unary(field) }));
    }
    return this.primary(field);
  }

  private primary(field: FieldSpec | null): QueryNode {
    const t = this.next();
    switch (t.kind) {
      case 'lparen': {
        if (this.peek().kind === 'rparen') this.fail("Expected a query inside '( )'", this.peek().pos, 'Put a term inside the parentheses or remove them.');
        const inner = this.nested(t, () => this.or(field));
        const close = this.peek();
        if (close.kind !== 'rparen') this.fail(`Expected ')' to close the '(' at position ${t.pos}, found ${DESCRIBE[close.kind]}`, close.pos, "Add the missing ')'.");
        this.next();
        return inner;
      }
      case 'word':
        if (this.peek().kind === 'colon' && !this.peek().spaced) return this.fielded(t);
        if (field === null && t.text === '*') return { kind: 'all' };
        return this.term(t, field);
      case 'phrase':
        return this.term(t, field);
      case 'colon':
        return this.fail("Expected a field name before ':'", t.pos, 'Write field:value, e.g. dlhub.domains:chemistry, or quote a literal colon.');
      case 'and': case 'or':
        return this.fail(`Expected a term before '${t.text}'`, t.pos, `Put a term on both sides of ${t.text}.`);
      case 'rparen':
        return this.fail("Unexpected ')' with no '(' before it", t.pos, "Remove the ')' or add the '(' it closes.");
      default:
        return this.fail(`Expected a term, found ${DESCRIBE[t.kind]}`, t.pos, 'Write a word, a "quoted phrase", field:value or a ( group ).');
    }
  }

  // Every term and range costs a pass over the records in scope; a field without an index costs a read of every record.
  private countTerm(at: number, field: FieldSpec | null): void {
    const { maxTerms, maxScanTerms } = QUERY_LIMITS;
    if (++this.terms > maxTerms) this.fail(`Too many terms in the query: over the limit of ${maxTerms}`, at, `Use at most ${maxTerms} words, phrases and ranges; a field can take several values as field:(a OR b).`);
    if (field !== null && !INDEXED.has(field) && ++this.scanTerms > maxScanTerms) {
      this.fail(`Too many terms on per-method fields such as ${field.name}: over the limit of ${maxScanTerms}`, at,
        `Use at most ${maxScanTerms} of them; servable.methods.input.type searches every method's input type at once.`);
    }
  }

  private term(t: Token, field: FieldSpec | null): TermNode {
    this.countTerm(t.pos, field);
    const phrase = t.kind === 'phrase';
    const wildcard = !phrase && /[*?]/.test(t.text);
    if (wildcard) this.checkWildcards(t);
    return { kind: 'term', field, text: t.text, phrase, wildcard, pos: t.pos };
  }

  private checkWildcards(t: Token): void {
    const { maxWildcardsPerTerm, maxWildcardsPerQuery, maxWildcardTermLength } = QUERY_LIMITS;
    const count = t.text.replace(/[^*?]/g, '').length;
    this.wildcards += count;
    if (count > maxWildcardsPerTerm) {
      this.fail(`Too many wildcards in '${t.text.slice(0, 40)}': ${count}, over the limit of ${maxWildcardsPerTerm} per term`, t.pos,
        `Use at most ${maxWildcardsPerTerm} * or ? in one term.`);
    }
    if (this.wildcards > maxWildcardsPerQuery) {
      this.fail(`Too many wildcards in the query: over the limit of ${maxWildcardsPerQuery}`, t.pos, `Use at most ${maxWildcardsPerQuery} * or ? in one query.`);
    }
    if (t.text.length > maxWildcardTermLength) {
      this.fail(`Wildcard term too long: ${t.text.length} characters, over the limit of ${maxWildcardTermLength}`, t.pos,
        `Shorten the wildcard term to at most ${maxWildcardTermLength} characters.`);
    }
  }

  private fielded(nameToken: Token): QueryNode {
    if (nameToken.text === '*' && this.tokens[this.i + 1]?.text === '*') {
      this.i += 2;
      return { kind: 'all' };
    }
    const field = resolveField(nameToken.text);
    if (!field) {
      this.fail(`Unknown field '${nameToken.text}'`, nameToken.pos, `Use one of: ${knownFieldNames().join(', ')}.`);
    }
    const colon = this.next();
    const v = this.peek();
    const valuePos = colon.pos + 1;
    if (v.spaced || !(v.kind === 'word' || v.kind === 'phrase' || v.kind === 'lbracket' || v.kind === 'lbrace' || v.kind === 'lparen')) {
      this.fail("Expected a value after ':'", valuePos, `Write ${nameToken.text}:value with no space, e.g. ${nameToken.text}:"some words".`);
    }
    if (v.kind === 'lbracket' || v.kind === 'lbrace') return this.range(field, nameToken.pos);
    if (v.kind === 'lparen') return this.primary(field);
    this.next();
    return this.term(v, field);
  }

  private bound(what: string): string | null {
    const t = this.next();
    if (t.kind !== 'word' && t.kind !== 'phrase') this.fail(`Expected ${what} of the range, found ${DESCRIBE[t.kind]}`, t.pos, 'Write a range as [low TO high]; use * for an open end.');
    return t.kind === 'word' && t.text === '*' ? null : t.text;
  }

  private range(field: FieldSpec, pos: number): RangeNode {
    this.countTerm(pos, field);
    const open = this.next();
    const lo = this.bound('the lower bound');
    const to = this.next();
    if (to.kind !== 'word' || to.text !== 'TO') this.fail(`Expected 'TO' after the lower bound, found ${DESCRIBE[to.kind]}`, to.pos, 'Write a range as [low TO high] with TO in capitals.');
    const hi = this.bound('the upper bound');
    const close = this.next();
    if (close.kind !== 'rbracket' && close.kind !== 'rbrace') this.fail(`Expected ']' or '}' to close the range, found ${DESCRIBE[close.kind]}`, close.pos, "Close the range with ] (inclusive) or } (exclusive).");
    return { kind: 'range', field, lo, hi, loInclusive: open.kind === 'lbracket', hiInclusive: close.kind === 'rbracket', pos };
  }
}

/** Parse an advanced query (`field:value`, phrases, AND/OR/NOT, parentheses, ranges, wildcards); throws QueryError with the position. */
export function parseQuery(query: string): QueryNode {
  return new Parser(query, lex(query)).parse();
}

/** Free text (not advanced): words and quoted phrases, all required; nothing is an operator. */
export function parseFreeText(query: string): TermNode[] {
  const tokens = lexFreeText(query).filter((t) => t.kind !== 'eof');
  const max = QUERY_LIMITS.maxTerms;
  const over = tokens[max];
  if (over) {
    throw new QueryError(`Too many words in the search: over the limit of ${max} at position ${over.pos}`, over.pos,
      caretHint(query, over.pos, `Search for at most ${max} words and phrases.`));
  }
  return tokens.map((t) => ({ kind: 'term', field: null, text: t.text, phrase: t.kind === 'phrase', wildcard: false, pos: t.pos }));
}
