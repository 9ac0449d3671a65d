// Fuzzing the catalog: the query parser and search take random text and grammar-shaped queries and either
// answer or throw a QueryError, never another error and never slowly; catalog import takes random lines and mutated
// records and imports or reports every line, never throwing. Fixed numRuns and seeds keep the budget bounded.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { globMatch } from '../../../main/catalog/query/match.js';
import { parseFreeText, parseQuery } from '../../../main/catalog/query/parser.js';
import { QueryError } from '../../../main/errors.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { tempHome, testRecords } from '../../helpers/catalog-fixtures.js';

// Parses, or throws a QueryError: anything else (TypeError, RangeError, a stack overflow) fails the property.
function parsesOrQueryError(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (err) {
    if (err instanceof QueryError) return true;
    throw err;
  }
}

const FIELDS = [
  'title', 'description', 'creator', 'year', 'doi', 'tag', 'name', 'owner', 'version', 'domain', 'local', 'type', 'method',
  'datacite.publicationYear', 'dlhub.publication_date', 'servable.methods.run.input.type', 'dlhub.name', 'servable.shim',
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'nosuch.field', '*',
];
const WORDS = ['iris', 'crystal', 'Keras', 'chem*', '*e*e*zz', 'a?c', '*', '2019', '-1e3', 'constructor', '__proto__', 'toString', 'valueOf', 'ü', '🙂', 'TO', 'and', 'x\\:y', ''];

// A query built from the grammar: mostly well-formed, with the joins, spaces and brackets sometimes wrong.
const { query } = fc.letrec<{ query: string; clause: string; value: string; range: string }>((tie) => ({
  value: fc.oneof(
    fc.constantFrom(...WORDS),
    fc.stringMatching(/^[a-z0-9*?]{1,12}$/),
    fc.string({ maxLength: 12 }).map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`),
    fc.string({ maxLength: 12 }),
  ),
  range: fc
    .tuple(fc.constantFrom('[', '{'), fc.oneof(fc.constantFrom('*', '2018', 'a', '"x y"', 'NaN'), fc.integer().map(String)), fc.constantFrom(' TO ', ' to ', ' '),
      fc.oneof(fc.constantFrom('*', '2020', 'z', 'Infinity'), fc.integer().map(String)), fc.constantFrom(']', '}', ''))
    .map(([o, lo, to, hi, c]) => `${o}${lo}${to}${hi}${c}`),
  clause: fc.oneof(
    { depthSize: 'small' },
    tie('value'),
    fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(':', ': ', ''), fc.oneof(tie('value'), tie('range'))).map(([f, c, v]) => `${f}${c}${v}`),
    tie('query').map((q) => `(${q})`),
    tie('query').map((q) => `(${q}`),
    fc.tuple(fc.constantFrom(...FIELDS), tie('query')).map(([f, q]) => `${f}:(${q})`),
    tie('clause').map((c) => `NOT ${c}`),
  ),
  query: fc
    .tuple(tie('clause'), fc.array(fc.tuple(fc.constantFrom(' AND ', ' OR ', ' ', ' && ', ' || ', 'AND', ' NOT ', ' ) '), tie('clause')), { maxLength: 4 }))
    .map(([first, rest]) => first + rest.map(([op, c]) => op + c).join('')),
}));

describe('query parser fuzz', () => {
  it('random text: parses or throws QueryError, advanced and free text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: fc.constantFrom('(', ')', 'NOT ', '"', '\\', ':', '*', '[', ' TO ', '}', 'a') , maxLength: 400 })), (text) => {
        expect(parsesOrQueryError(() => parseQuery(text))).toBe(true);
        expect(parsesOrQueryError(() => parseFreeText(text))).toBe(true);
      }),
      { numRuns: 1500, seed: 9 },
    );
  });

  it('grammar-shaped queries, and repeats of them up to a few KB: parse or QueryError', () => {
    fc.assert(
      fc.property(query, fc.integer({ min: 1, max: 60 }), (q, times) => {
        expect(parsesOrQueryError(() => parseQuery(q))).toBe(true);
        expect(parsesOrQueryError(() => parseQuery(Array.from({ length: times }, () => q).join(' OR ')))).toBe(true);
      }),
      { numRuns: 800, seed: 10 },
    );
  });

  it('well-formed queries over known fields (any word, Object.prototype names included) always parse', () => {
    const known = FIELDS.filter((f) => !['constructor', '__proto__', 'toString', 'hasOwnProperty', 'nosuch.field', '*'].includes(f));
    const word = fc.oneof(fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'iris', 'a*b?'), fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/));
    const clause = fc.oneof(
      word,
      fc.tuple(fc.constantFrom(...known), word).map(([f, w]) => `${f}:${w}`),
      fc.tuple(fc.constantFrom(...known), word, word).map(([f, a, b]) => `${f}:"${a} ${b}"`),
      fc.tuple(fc.constantFrom(...known), fc.nat(3000), fc.nat(3000)).map(([f, a, b]) => `${f}:[${a} TO ${b}}`),
    );
    const wellFormed = fc
      .tuple(clause, fc.array(fc.tuple(fc.constantFrom(' AND ', ' OR ', ' ', ' AND NOT ', ' OR NOT '), clause), { maxLength: 5 }), fc.nat(3))
      .map(([first, rest, wrap]) => `${'('.repeat(wrap)}${first}${')'.repeat(wrap)}${rest.map(([op, c]) => op + c).join('')}`);
    fc.assert(fc.property(wellFormed, (q) => void parseQuery(q)), { numRuns: 1000, seed: 14 });
  });

  it('deep nesting of groups, field groups and NOTs, within and past the length limit: parse or QueryError, never a stack overflow', () => {
    const nest = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1000, max: 6000 })), fc.constantFrom('(', 'title:(', 'NOT ', 'NOT (')).map(([d, open]) => {
      const close = open.includes('(') ? ')' : '';
      return `${open.repeat(d)}iris${close.repeat(d)}`;
    });
    fc.assert(fc.property(nest, (q) => parsesOrQueryError(() => parseQuery(q))), { numRuns: 60, seed: 15 });
  });

  it('wildcard matching agrees with the regular-expression reading of the glob on short inputs', () => {
    const toRegex = (p: string): RegExp => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '.'), maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: 12 }), (p, t) => {
        expect(globMatch(p, t)).toBe(toRegex(p).test(t));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });
});

describe('search fuzz', () => {
  let home: ReturnType<typeof tempHome>;
  let catalog: Catalog;
  beforeAll(() => {
    home = tempHome();
    catalog = Catalog.open(home.paths);
    for (const md of testRecords(150)) catalog.upsert(md);
  });
  afterAll(() => {
    catalog.close();
    home.cleanup();
  });

  it('grammar-shaped and random queries answer or throw QueryError against a real catalog', () => {
    fc.assert(
      fc.property(fc.oneof(query, fc.string({ maxLength: 100 })), fc.boolean(), fc.boolean(), (q, advanced, allVersions) => {
        expect(parsesOrQueryError(() => catalog.search(q, { advanced, allVersions }))).toBe(true);
      }),
      { numRuns: 800, seed: 12 },
    );
  });
});

// One import line: random JSON, garbage text, or a valid record with a few random mutations.
function mutated(records: ServableMetadata[]): fc.Arbitrary<string> {
  const pathsOf = (v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] => {
    out.push(at);
    if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) pathsOf(c, [...at, Array.isArray(v) ? Number(k) : k], out);
    return out;
  };
  const junk = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom('__proto__', 'constructor', '', 'x'.repeat(5000), -1, 1e308, null, [], {}),
    // Deep nesting as a marker, expanded in the line's text: JSON.stringify of it would overflow the test's own stack.
    fc.integer({ min: 60, max: 3000 }).map((d) => `\u0000deep${d}`),
  );
  const mutation = fc.tuple(fc.nat(), fc.constantFrom('set', 'delete', 'key'), junk, fc.constantFrom('__proto__', 'constructor', 'extra', 'toString'));
  return fc.tuple(fc.constantFrom(...records), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([md, muts]) => {
    const doc = structuredClone(md) as unknown as Record<string, unknown>;
    for (const [n, op, v, k] of muts) {
      const paths = pathsOf(doc).filter((p) => p.length > 0);
      const path = paths[n % paths.length] as (string | number)[];
      let parent = doc as Record<string | number, unknown>;
      for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
      const last = path[path.length - 1] as string | number;
      if (op === 'delete') delete parent[last];
      else if (op === 'set') parent[last] = v;
      else if (parent[last] !== null && typeof parent[last] === 'object') Object.defineProperty(parent[last], k, { value: v, enumerable: true });
    }
    return JSON.stringify(doc).replace(/"\\u0000deep(\d+)"/g, (_, d: string) => `${'['.repeat(Number(d))}${']'.repeat(Number(d))}`);
  });
}

describe('catalog import fuzz', () => {
  it('imports or reports every line with a reason; nothing throws', async () => {
    const records = testRecords(8, 3);
    const line = fc.oneof(
      { weight: 3, arbitrary: mutated(records) },
      { weight: 1, arbitrary: fc.constantFrom(...records).map((r) => JSON.stringify(r)) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n\u2028\u2029]/g, ' ')) },
    );
    const home = tempHome();
    const catalog = Catalog.open(home.paths);
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), async (lines) => {
          const file = join(home.paths.root, `in-${run++}.jsonl`);
          writeFileSync(file, lines.join('\n'));
          const report = await catalog.import(file);
          expect(report.imported + report.skipped).toBe(lines.filter((l) => l.trim() !== '').length);
          expect(report.errors).toHaveLength(report.skipped);
          for (const e of report.errors) {
            expect(e.problems.length).toBeGreaterThan(0);
            for (const p of e.problems) expect(p.message).not.toBe('');
          }
        }),
        { numRuns: 80, seed: 13 },
      );
      // Whatever went in can be searched and exported.
      expect(catalog.search('', { allVersions: true }).total).toBe(catalog.size);
      await catalog.export(join(home.paths.root, 'out.jsonl'), { allVersions: true });
    } finally {
      catalog.close();
      home.cleanup();
    }
  });
});
