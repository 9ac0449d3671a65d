// Regression tests for what a hostile-input probe broke in the catalog: exponential wildcards, a saved index
// that never loaded, huge words and queries, deeply nested records and queries, and words from Object.prototype.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { loadIndexFile, saveIndexFile } from '../../../main/catalog/index-file.js';
import { globMatch } from '../../../main/catalog/query/match.js';
import { parseQuery } from '../../../main/catalog/query/parser.js';
import { MAX_RECORD_DEPTH } from '../../../main/catalog/record-depth.js';
import { fuzzOf } from '../../../main/catalog/search.js';
import { DlhubError, MetadataError, QueryError } from '../../../main/errors.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { allKeys, tempHome, testRecords } from '../../helpers/catalog-fixtures.js';

let home: ReturnType<typeof tempHome>;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

function queryError(run: () => unknown): QueryError {
  try {
    run();
  } catch (err) {
    if (err instanceof QueryError) return err;
    throw err;
  }
  throw new Error('expected a QueryError');
}

function named(md: ServableMetadata, name: string, patch: (m: ServableMetadata) => void = () => undefined): ServableMetadata {
  const m = structuredClone(md);
  m.dlhub.name = name;
  patch(m);
  return m;
}

// A record with `value` as its first method's default parameters: the one free-form object DLHub metadata has.
function withParameters(md: ServableMetadata, value: unknown): ServableMetadata {
  const m = structuredClone(md);
  const method = Object.values(m.servable.methods)[0] as Record<string, unknown>;
  method['parameters'] = value;
  return m;
}

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('wildcards', () => {
  it('match like a glob, in time linear in the pattern count, even where a regular expression backtracks for ever', () => {
    expect(globMatch('ir*s', 'iris')).toBe(true);
    expect(globMatch('i?is', 'iris')).toBe(true);
    expect(globMatch('*e*e*zz', 'eezz')).toBe(true);
    expect(globMatch('*e*e*zz', 'ezz')).toBe(false);
    expect(globMatch('a*', '')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*b?c', 'aXXbYc')).toBe(true);
    expect(globMatch('a*b?c', 'aXXbYcd')).toBe(false);
    // ^.*a.*a.*a.*a.*a.*a.*a.*a.*a.*b$ over 5,000 a's does not finish as a regular expression.
    expect(globMatch('*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
  });

  it('answer a pathological pattern over a long field value', () => {
    const c = Catalog.open(home.paths);
    try {
      const [base] = testRecords(1);
      c.upsert(named(base as ServableMetadata, 'aaaa', (m) => (m.datacite.titles = [{ title: 'a'.repeat(3000) }])));
      for (const md of testRecords(50)) c.upsert(md);
      expect(c.search('title:*a*a*a*a*a*a*a*a*b', { advanced: true }).total).toBe(0);
      expect(c.search('*e*e*e*e*e*zz', { advanced: true }).total).toBe(0);
      expect(c.search('title:*a*a*a*a*a*a*a*a*a', { advanced: true }).hits.map((h) => h.name)).toEqual(['aaaa']);
    } finally {
      c.close();
    }
  });

  it('are bounded per term and per query, with an error naming the limit', () => {
    const perTerm = queryError(() => parseQuery(`x${'*x'.repeat(11)}`));
    expect(perTerm.message).toMatch(/11, over the limit of 10 per term at position 0/);
    const words = Array.from({ length: 11 }, (_, i) => `w${i}*a*b*c`).join(' OR ');
    const perQuery = queryError(() => parseQuery(words));
    expect(perQuery.message).toMatch(/over the limit of 30/);
    expect(perQuery.position).toBe(words.indexOf('w10'));
    expect(() => parseQuery(words.slice(0, words.indexOf(' OR w10')))).not.toThrow();
    expect(() => parseQuery(`dlhub.name:${'*a'.repeat(10)}`)).not.toThrow();
  });
});

describe('terms per query', () => {
  it('are bounded (each costs a pass over the catalog), with an error naming the limit; per-method fields more tightly', () => {
    const many = Array.from({ length: 51 }, (_, i) => `w${i}`);
    const adv = queryError(() => parseQuery(many.join(' OR ')));
    expect(adv.message).toMatch(/over the limit of 50/);
    expect(adv.position).toBe(many.join(' OR ').indexOf('w50'));
    expect(() => parseQuery(many.slice(0, 50).join(' OR '))).not.toThrow();
    const c = Catalog.open(home.paths);
    try {
      const free = queryError(() => c.search(many.join(' ')));
      expect(free.message).toMatch(/over the limit of 50 at position/);
      expect(c.search(many.slice(0, 50).join(' ')).total).toBe(0);
    } finally {
      c.close();
    }
    const scans = Array.from({ length: 9 }, (_, i) => `servable.methods.m${i}.input.type:ndarray`).join(' OR ');
    expect(queryError(() => parseQuery(scans)).message).toMatch(/per-method fields .* over the limit of 8/);
    expect(() => parseQuery(Array.from({ length: 9 }, () => 'servable.methods.input.type:ndarray').join(' OR '))).not.toThrow();
  });
});

describe('saved index with empty sections', () => {
  it('saves and loads a file whose sections include empty ones (no checksum reset)', () => {
    const file = join(home.paths.root, 'index.bin');
    saveIndexFile(file, { json: { a: 1 }, sections: [Int32Array.of(1, 2, 3), new Int32Array(0), new Uint8Array(0), Float64Array.of(4.5)] }, 7);
    const loaded = loadIndexFile(file);
    expect(loaded).toMatchObject({ ok: true, generation: 7 });
    if (!loaded.ok) return;
    expect(loaded.payload.json).toEqual({ a: 1 });
    expect(loaded.payload.sections.map((s) => s.length)).toEqual([12, 0, 0, 8]);
  });

  it('is loaded, not rebuilt, at the next open: empty catalog, and records with empty optional fields', () => {
    let c = Catalog.open(home.paths);
    c.close();
    c = Catalog.open(home.paths);
    expect(c.indexStatus).toMatchObject({ source: 'loaded' });
    const [base] = testRecords(1);
    for (let i = 0; i < 30; i++) {
      c.upsert(named(base as ServableMetadata, `bare-${i}`, (m) => {
        delete m.dlhub.domains;
        delete m.datacite.subjects;
        delete m.datacite.descriptions;
      }));
    }
    c.flush();
    c.close();
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.reason).toBeUndefined();
      expect(c.indexStatus.source).toBe('loaded');
      expect(c.search('dlhub.name:bare-7', { advanced: true }).hits.map((h) => h.name)).toEqual(['bare-7']);
    } finally {
      c.close();
    }
  });
});

describe('field words answered from the text index', () => {
  it('give the same records on a loaded index (records decoded per field) as on a rebuilt one', () => {
    let c = Catalog.open(home.paths);
    for (const md of testRecords(300, 5)) c.upsert(md);
    c.close();
    const queries = [
      'servable.type:"Keras Model"', 'servable.type:"keras model" AND dlhub.domains:chemistry', 'dlhub.domains:"materials science"',
      'datacite.creators.creatorName:"Ward, Logan"', 'title:crys* OR description:neural', 'crystal', 'servable.methods.input.type:ndarray',
      'datacite.subjects.subject:"neural network"', 'NOT servable.type:"torch model"', 'servable.type:model',
    ];
    const answers = (cat: Catalog): string[][] => queries.map((q) => allKeys(cat, q, { advanced: true, allVersions: true }).sort());
    c = Catalog.open(home.paths);
    let loaded: string[][];
    try {
      expect(c.indexStatus.source).toBe('loaded');
      loaded = answers(c);
    } finally {
      c.close();
    }
    rmSync(home.paths.catalogIndex);
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('rebuilt');
      expect(loaded).toEqual(answers(c));
      expect(loaded.filter((a) => a.length > 0).length).toBeGreaterThan(6);
    } finally {
      c.close();
    }
  });
});

describe('long queries and words', () => {
  it('refuses a query over 4,096 characters with an error naming the limit, free text or advanced', () => {
    const c = Catalog.open(home.paths);
    try {
      for (const advanced of [false, true]) {
        const err = queryError(() => c.search('x'.repeat(100_000), { advanced }));
        expect(err.message).toMatch(/100000 characters, over the limit of 4096/);
        expect(err.code).toBe('QUERY_INVALID');
      }
    } finally {
      c.close();
    }
  });

  it('matches a long word exactly, without fuzzy or prefix expansion', () => {
    expect(fuzzOf('abcdefgh')).toBe(2);
    expect(fuzzOf('a'.repeat(33))).toBe(0);
    const c = Catalog.open(home.paths);
    try {
      const long = 'q'.repeat(4000);
      const [base] = testRecords(1);
      c.upsert(named(base as ServableMetadata, 'longword', (m) => (m.datacite.titles = [{ title: `model ${long}` }])));
      for (const md of testRecords(20)) c.upsert(md);
      // The last word of free text is a prefix and fuzzy-matched while typing; at this length it is exact only.
      expect(c.search(long).hits.map((h) => h.name)).toEqual(['longword']);
      expect(c.search(`${long}x`).total).toBe(0);
      expect(c.search(long.slice(0, 3999)).total).toBe(0);
    } finally {
      c.close();
    }
  });
});

describe('deeply nested records', () => {
  it('are refused at import with a per-line error naming the depth limit; the other lines are imported', async () => {
    const recs = testRecords(3);
    const deep = withParameters(named(recs[0] as ServableMetadata, 'deep'), { a: 'leaf' });
    // Written as text: JSON.stringify of a value this deep would overflow the stack of the test itself.
    const deepLine = JSON.stringify(deep).replace('"leaf"', `${'{"a":'.repeat(5000)}"x"${'}'.repeat(5000)}`);
    const file = join(home.paths.root, 'in.jsonl');
    writeFileSync(file, [JSON.stringify(recs[0]), deepLine, JSON.stringify(recs[1])].join('\n'));
    const c = Catalog.open(home.paths);
    try {
      const report = await c.import(file);
      expect(report.imported).toBe(2);
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]?.line).toBe(2);
      expect(report.errors[0]?.problems[0]?.message).toMatch(new RegExp(`the limit is ${MAX_RECORD_DEPTH}`));
      expect(() => c.upsert(withParameters(deep, nested(5000)))).toThrow(/the limit is 64/);
      expect(() => c.upsert(withParameters(deep, nested(5000)))).toThrow(MetadataError);
      // A record well inside the limit still goes in.
      expect(c.upsert(withParameters(named(recs[2] as ServableMetadata, 'shallow'), nested(20))).servable).toMatch(/shallow$/);
    } finally {
      c.close();
    }
  });

  it('already stored make export fail with a typed error, leaving no partial file and any earlier export intact', async () => {
    const c = Catalog.open(home.paths);
    for (const md of testRecords(40)) c.upsert(md);
    const file = join(home.paths.root, 'out.jsonl');
    expect(await c.export(file)).toBeGreaterThan(0);
    const earlier = readFileSync(file, 'utf8');
    c.close();
    // A record stored before depth was bounded on the way in.
    const db = new Database(home.paths.stateDb);
    const row = db.prepare('SELECT id, metadata FROM catalog_records ORDER BY id DESC LIMIT 1').get() as { id: number; metadata: string };
    const md = withParameters(JSON.parse(row.metadata) as ServableMetadata, { a: 'leaf' });
    const deepJson = JSON.stringify(md).replace('"leaf"', `${'['.repeat(200_000)}1${']'.repeat(200_000)}`);
    db.prepare('UPDATE catalog_records SET metadata = ? WHERE id = ?').run(deepJson, row.id);
    db.close();
    const again = Catalog.open(home.paths);
    try {
      const fresh = join(home.paths.root, 'fresh.jsonl');
      for (const target of [file, fresh]) {
        const err = await again.export(target, { allVersions: true }).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(DlhubError);
        expect((err as DlhubError).code).toBe('CATALOG_ERROR');
        expect((err as DlhubError).message).toMatch(/Cannot export the record of /);
      }
      expect(existsSync(fresh)).toBe(false);
      expect(readFileSync(file, 'utf8')).toBe(earlier);
      expect(readdirSync(home.paths.root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      again.close();
    }
  });
});

describe('export errors', () => {
  it('name the file the user gave, with a typed error, when its folder does not exist', async () => {
    const c = Catalog.open(home.paths);
    try {
      const target = join(home.paths.root, 'missing-folder', 'out.jsonl');
      const err = await c.export(target).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DlhubError);
      expect((err as DlhubError).code).toBe('CATALOG_ERROR');
      expect((err as DlhubError).message).toContain(`Cannot write ${target}: ENOENT`);
      expect((err as DlhubError).message).not.toContain('.tmp-');
    } finally {
      c.close();
    }
  });
});

describe('query nesting', () => {
  it('2,000 nested parentheses or 1,000 NOTs give a QueryError with the position and the limit; 10,000 are too long anyway', () => {
    const parens = queryError(() => parseQuery(`${'('.repeat(2000)}a${')'.repeat(2000)}`));
    expect(parens.message).toMatch(/more than 32 levels/);
    expect(parens.position).toBe(32);
    const nots = queryError(() => parseQuery(`${'NOT '.repeat(1000)}a`));
    expect(nots.message).toMatch(/more than 32 levels/);
    expect(nots.position).toBe(32 * 4);
    const fielded = queryError(() => parseQuery(`${'title:('.repeat(500)}a${')'.repeat(500)}`));
    expect(fielded.message).toMatch(/more than 32 levels/);
    expect(queryError(() => parseQuery(`${'('.repeat(10_000)}a${')'.repeat(10_000)}`)).message).toMatch(/over the limit of 4096/);
    expect(() => parseQuery(`${'('.repeat(32)}a${')'.repeat(32)}`)).not.toThrow();
    expect(() => parseQuery(`${'NOT '.repeat(32)}a`)).not.toThrow();
  });
});

describe('words from Object.prototype', () => {
  it('are ordinary words and field names', () => {
    const c = Catalog.open(home.paths);
    try {
      const [base] = testRecords(1);
      c.upsert(named(base as ServableMetadata, 'ctor-words', (m) => (m.datacite.titles = [{ title: 'constructor toString valueOf hasOwnProperty' }])));
      for (const md of testRecords(20)) c.upsert(md);
      for (const advanced of [false, true]) {
        expect(c.search('constructor', { advanced }).hits.map((h) => h.name)).toEqual(['ctor-words']);
        expect(c.search('toString valueOf', { advanced }).hits.map((h) => h.name)).toEqual(['ctor-words']);
        expect(c.search('__proto__', { advanced }).total).toBe(0);
      }
      expect(c.search('dlhub.name:__proto__', { advanced: true }).total).toBe(0);
      expect(c.search('title:constructor', { advanced: true }).total).toBe(1);
      expect(queryError(() => c.search('toString:x', { advanced: true })).message).toMatch(/Unknown field 'toString' at position 0/);
      expect(queryError(() => c.search('constructor:x', { advanced: true })).message).toMatch(/Unknown field 'constructor'/);
      expect(queryError(() => c.search('__proto__:x', { advanced: true })).message).toMatch(/Unknown field '__proto__'/);
    } finally {
      c.close();
    }
  });
});
