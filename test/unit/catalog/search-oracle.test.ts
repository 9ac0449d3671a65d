import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../../../bench/catalog-records.js';
import { Catalog } from '../../../main/catalog/catalog.js';
import { oracleFreeText, oracleMatch, ORACLE_TEXT_FIELDS, rawValues, render } from '../../helpers/catalog-oracle.js';
import type { OQuery, OracleRecord } from '../../helpers/catalog-oracle.js';
import { allKeys, tempHome, testRecords } from '../../helpers/catalog-fixtures.js';

const FIELDS = [...ORACLE_TEXT_FIELDS, 'datacite.publicationYear', 'datacite.identifier.identifier', 'dlhub.name', 'dlhub.owner', 'dlhub.version',
  'dlhub.publication_date', 'dlhub.visible_to', 'dlhub.local', 'servable.shim', 'servable.model_type', 'servable.methods.predict.input.type', 'servable.methods.run.output.type'];

let home: ReturnType<typeof tempHome>;
let catalog: Catalog;
let records: OracleRecord[];

beforeAll(() => {
  home = tempHome();
  catalog = Catalog.open(home.paths);
  const mds = testRecords(700);
  // Every 10th record is a local build; the rest come "from the hub".
  mds.forEach((md, i) => catalog.upsert(md, { local: i % 10 === 0 }));
  records = mds.map((md) => {
    const e = catalog.get(md.dlhub.owner ? `${md.dlhub.owner}/${md.dlhub.name}` : md.dlhub.name, md.dlhub.version)!;
    return { key: `${e.servable}@${e.version}`, md, local: e.local, latest: e.latest };
  });
});
afterAll(() => {
  catalog.close();
  home.cleanup();
});

function generator(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const wordsOf = (s: string): string[] => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const sampleValue = (field: string): string | null => {
    for (let tries = 0; tries < 5; tries++) {
      const vals = rawValues(pick(records), field);
      if (vals.length > 0) return pick(vals);
    }
    return null;
  };
  const term = (): OQuery => {
    const field = r() < 0.3 ? null : pick(FIELDS);
    const value = sampleValue(field ?? pick(ORACLE_TEXT_FIELDS)) ?? 'zzz';
    const ws = wordsOf(value);
    const roll = r();
    if (roll < 0.08) return { op: 'term', field, value: 'nonexistentword', quoted: false };
    if (ws.length === 0 || roll < 0.3) return { op: 'term', field, value, quoted: true }; // whole value as a phrase
    const i = Math.floor(r() * ws.length);
    const w = ws[i] as string;
    if (roll < 0.45 && ws.length > i + 1) return { op: 'term', field, value: `${w} ${ws[i + 1]}`, quoted: true };
    if (roll < 0.55) return { op: 'term', field, value: `${w.slice(0, Math.max(1, Math.floor(w.length / 2)))}*`, quoted: false };
    if (roll < 0.6 && w.length > 2) return { op: 'term', field, value: `${w[0]}?${w.slice(2)}`, quoted: false };
    if (roll < 0.65 && field !== null) return { op: 'term', field, value: `${value.slice(0, 3).replace(/[\s"():[\]{}\\*?]/g, '')}*`, quoted: false };
    return { op: 'term', field, value: r() < 0.5 ? w : w.toUpperCase(), quoted: false };
  };
  const range = (): OQuery => {
    const roll = r();
    const inc = (): boolean => r() < 0.7;
    if (roll < 0.5) {
      const a = 2014 + Math.floor(r() * 12);
      return { op: 'range', field: 'datacite.publicationYear', lo: r() < 0.15 ? null : String(a), hi: r() < 0.15 ? null : String(a + Math.floor(r() * 4)), loInc: inc(), hiInc: inc() };
    }
    if (roll < 0.75) {
      const a = Date.UTC(2016 + Math.floor(r() * 8), 0, 1);
      return { op: 'range', field: 'dlhub.publication_date', lo: String(a), hi: String(a + 400 * 86400000), loInc: inc(), hiInc: inc() };
    }
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const a = pick([...letters]);
    return { op: 'range', field: pick(['dlhub.name', 'dlhub.owner', 'dlhub.version']), lo: a, hi: r() < 0.2 ? null : `${a}${pick([...letters])}`, loInc: inc(), hiInc: inc() };
  };
  const node = (depth: number): OQuery => {
    const roll = r();
    if (depth >= 3 || roll < 0.35) return r() < 0.8 ? term() : range();
    if (roll < 0.5) return { op: 'not', kid: node(depth + 1) };
    const kids = Array.from({ length: 2 + Math.floor(r() * 2) }, () => node(depth + 1));
    return { op: r() < 0.5 ? 'and' : 'or', kids, implicit: r() < 0.3 };
  };
  return node;
}

describe('advanced queries agree with a brute-force scan', () => {
  it('matches the exact set for 600 random queries over every operator, newest versions and all versions', () => {
    const node = generator(2024);
    let nonEmpty = 0;
    for (let i = 0; i < 600; i++) {
      const q = node(0);
      const text = render(q);
      const allVersions = i % 3 === 0;
      const expected = records.filter((rec) => (allVersions || rec.latest) && oracleMatch(rec, q)).map((rec) => rec.key).sort();
      const got = allKeys(catalog, text, { advanced: true, allVersions }).sort();
      if (expected.length > 0) nonEmpty++;
      expect(got, `query ${i}: ${text}`).toEqual(expected);
    }
    // The generator must produce queries that select something, or the comparison proves little.
    expect(nonEmpty).toBeGreaterThan(300);
  });

  it('counts facets over the whole matching set, not just the page', () => {
    const text = 'servable.type:"Keras Model" OR dlhub.domains:chemistry';
    const q: OQuery = { op: 'or', kids: [{ op: 'term', field: 'servable.type', value: 'Keras Model', quoted: true }, { op: 'term', field: 'dlhub.domains', value: 'chemistry', quoted: true }] };
    const matching = records.filter((rec) => rec.latest && oracleMatch(rec, q));
    const res = catalog.search(text, { advanced: true, pageSize: 5 });
    expect(res.hits).toHaveLength(5);
    expect(res.total).toBe(matching.length);
    const count = (vals: (rec: OracleRecord) => string[]) => {
      const m = new Map<string, number>();
      for (const rec of matching) for (const v of new Set(vals(rec))) m.set(v, (m.get(v) ?? 0) + 1);
      return m;
    };
    const types = count((rec) => [rec.md.servable.type]);
    for (const b of res.facets.type) expect(b.count, b.value).toBe(types.get(b.value));
    const domains = count((rec) => rec.md.dlhub.domains ?? []);
    for (const b of res.facets.domains) expect(b.count, b.value).toBe(domains.get(b.value));
    const years = count((rec) => [rec.md.datacite.publicationYear ?? '']);
    for (const b of res.facets.year) expect(b.count, b.value).toBe(years.get(b.value));
    const creators = count((rec) => rawValues(rec, 'datacite.creators.creatorName'));
    for (const b of res.facets.creators) expect(b.count, b.value).toBe(creators.get(b.value));
    // A facet list shows the most common values first (years newest first), and no value beyond the top 20 outranks a shown one.
    for (const list of [res.facets.type, res.facets.domains, res.facets.creators]) {
      expect(list.map((b) => b.count)).toEqual([...list.map((b) => b.count)].sort((a, b) => b - a));
    }
    expect(res.facets.year.map((b) => Number(b.value))).toEqual([...res.facets.year.map((b) => Number(b.value))].sort((a, b) => b - a));
    const shownCreators = res.facets.creators.length;
    const allCreatorCounts = [...creators.values()].sort((a, b) => b - a);
    expect(res.facets.creators.at(-1)?.count).toBe(allCreatorCounts[shownCreators - 1]);
  });
});

describe('free text agrees with a brute-force scan', () => {
  it('matches exact, fuzzy and as-you-type prefix words and exact phrases for 300 random texts', () => {
    const r = rng(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    let nonEmpty = 0;
    for (let i = 0; i < 300; i++) {
      const rec = pick(records);
      const ws = ORACLE_TEXT_FIELDS.flatMap((f) => rawValues(rec, f)).flatMap((v) => v.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
      const w = () => pick(ws);
      const typo = (s: string) => (s.length >= 5 ? s.slice(0, 2) + s.slice(3) : s);
      const forms = [
        () => w(), () => `${w()} ${w()}`, () => w().slice(0, 3), () => `${w()} ${w().slice(0, 4)}`, () => typo(w()), () => `"${ws.slice(0, 2).join(' ')}"`,
        () => `${w()} `, () => `"${w()} ${w()}" ${w()}`, () => `"${w()}`, () => w().toUpperCase(),
      ];
      const text = pick(forms)();
      const allVersions = i % 4 === 0;
      const expected = records.filter((x) => (allVersions || x.latest) && oracleFreeText(x, text)).map((x) => x.key).sort();
      const got = allKeys(catalog, text, { allVersions }).sort();
      if (expected.length > 0) nonEmpty++;
      expect(got, `text ${i}: ${JSON.stringify(text)}`).toEqual(expected);
    }
    expect(nonEmpty).toBeGreaterThan(250);
  });

  it('ranks a title hit above a description-only hit', () => {
    const res = catalog.search('perovskites');
    expect(res.hits[0]?.title).toBe('Band gap predictor for perovskites');
  });
});
