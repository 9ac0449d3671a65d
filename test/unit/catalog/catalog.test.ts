import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { MetadataError, QueryError } from '../../../main/errors.js';
import type { ServableMetadata } from '../../../main/servable/metadata.js';
import { allKeys, tempHome, testRecords } from '../../helpers/catalog-fixtures.js';

let home: ReturnType<typeof tempHome>;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

function version(md: ServableMetadata, v: string, patch: Partial<ServableMetadata['dlhub']> = {}): ServableMetadata {
  const m = structuredClone(md);
  m.dlhub = { ...m.dlhub, version: v, ...patch };
  return m;
}

describe('catalog store', () => {
  it('returns the newest version by default and every version on request, with local builds marked', () => {
    const [base] = testRecords(1);
    const c = Catalog.open(home.paths);
    try {
      const md = version(base!, '1.9.0', { name: 'zeolite-screen', owner: 'kyle' });
      c.upsert(md);
      c.upsert(version(md, '1.10.0'), { local: true }); // 1.10 is newer than 1.9
      c.upsert(version(md, '1.2.0'));
      expect(c.get('kyle/zeolite-screen')?.version).toBe('1.10.0');
      expect(c.versions('kyle/zeolite-screen').map((e) => e.version)).toEqual(['1.10.0', '1.9.0', '1.2.0']);
      const newest = c.search('dlhub.name:zeolite-screen', { advanced: true });
      expect(newest.hits.map((h) => [h.version, h.local, h.latest])).toEqual([['1.10.0', true, true]]);
      expect(allKeys(c, 'dlhub.name:zeolite-screen', { advanced: true, allVersions: true }).sort()).toEqual(['kyle/zeolite-screen@1.10.0', 'kyle/zeolite-screen@1.2.0', 'kyle/zeolite-screen@1.9.0']);
      expect(c.search('local:true', { advanced: true }).total).toBe(1);
      // Removing the newest makes the next one newest, in search too.
      expect(c.remove('kyle/zeolite-screen', '1.10.0')).toBe(1);
      expect(c.search('dlhub.name:zeolite-screen', { advanced: true }).hits.map((h) => h.version)).toEqual(['1.9.0']);
      expect(c.remove('kyle/zeolite-screen')).toBe(2);
      expect(c.search('dlhub.name:zeolite-screen', { advanced: true, allVersions: true }).total).toBe(0);
    } finally {
      c.close();
    }
  });

  it('replaces a record on upsert, refuses a duplicate on add, and rejects invalid metadata naming the field', () => {
    const [md] = testRecords(1);
    const c = Catalog.open(home.paths);
    try {
      c.add(md!);
      expect(() => c.add(md!)).toThrow(/already in the catalog/);
      const renamed = structuredClone(md!);
      renamed.datacite.titles = [{ title: 'Completely different zirconium title' }];
      c.upsert(renamed);
      expect(c.search('zirconium').total).toBe(1);
      expect(c.search(md!.datacite.titles[0]!.title).hits.some((h) => h.title === md!.datacite.titles[0]!.title)).toBe(false);
      const bad = structuredClone(md!) as unknown as { dlhub: { name: string } };
      bad.dlhub.name = 'Bad Name!';
      let err: unknown;
      try {
        c.upsert(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MetadataError);
      expect((err as MetadataError).problems.map((p) => p.field)).toContain('dlhub.name');
      expect(() => c.search('servable.type:', { advanced: true })).toThrow(QueryError);
    } finally {
      c.close();
    }
  });

  it('pages ranked results and reports the total', () => {
    const c = Catalog.open(home.paths);
    try {
      for (const md of testRecords(120)) c.upsert(md);
      const all = allKeys(c, '', {});
      const p1 = c.search('', { pageSize: 7, page: 1 });
      const p2 = c.search('', { pageSize: 7, page: 2 });
      expect(p1.total).toBe(all.length);
      expect(p1.hits).toHaveLength(7);
      expect([...p1.hits, ...p2.hits].map((h) => `${h.servable}@${h.version}`)).toEqual(all.slice(0, 14));
      const ranked = c.search('crystal');
      for (let i = 1; i < ranked.hits.length; i++) expect(ranked.hits[i - 1]!.score).toBeGreaterThanOrEqual(ranked.hits[i]!.score);
    } finally {
      c.close();
    }
  });

  it('runs the query helper through the same parser and search as typed text', () => {
    const c = Catalog.open(home.paths);
    try {
      for (const md of testRecords(300)) c.upsert(md);
      const helper = c.query().matchType('Keras Model').matchDomains('chemistry').matchYears(2016, 2022);
      const viaHelper = helper.search({ pageSize: 1000 });
      const typed = c.search('servable.type:"Keras Model" AND dlhub.domains:chemistry AND datacite.publicationYear:[2016 TO 2022]', { advanced: true, pageSize: 1000 });
      expect(viaHelper.total).toBeGreaterThan(0);
      expect(viaHelper.hits).toEqual(typed.hits);
      expect(c.query().matchType('Keras Model').allVersions().search().total).toBeGreaterThan(c.query().matchType('Keras Model').search().total);
    } finally {
      c.close();
    }
  });
});

describe('queries in sequence', () => {
  it('answer the same whatever ran before them (no score or set carries over)', () => {
    const c = Catalog.open(home.paths);
    try {
      for (const md of testRecords(300)) c.upsert(md);
      const queries: [string, boolean][] = [
        ['crystal neural', false], ['spectr', false], ['"band gap"', false], ['servable.type:"Torch Model" OR crystal', true],
        ['datacite.titles.title:crystal OR dlhub.domains:chemistry', true], ['NOT dlhub.domains:physics', true], ['', false],
      ];
      const forward = queries.map(([q, advanced]) => c.search(q, { advanced, pageSize: 1000 }));
      const backward = [...queries].reverse().map(([q, advanced]) => c.search(q, { advanced, pageSize: 1000 })).reverse();
      queries.forEach(([q], i) => expect(backward[i], q).toEqual(forward[i]));
      // A record matched only by the filter side of an OR is not ranked by the text side.
      const mixed = forward[4]!;
      expect(mixed.hits.some((h) => h.score === 0)).toBe(true);
      for (const h of mixed.hits) if (!/crystal/i.test(h.title)) expect(h.score, h.title).toBe(0);
    } finally {
      c.close();
    }
  });
});

describe('saved index', () => {
  it('is loaded at the next open, not rebuilt, and gives the same answers', () => {
    let c = Catalog.open(home.paths);
    for (const md of testRecords(200)) c.upsert(md);
    const before = c.search('servable.type:"Torch Model" OR crystal', { advanced: true, pageSize: 1000 });
    c.close();
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('loaded');
      expect(c.search('servable.type:"Torch Model" OR crystal', { advanced: true, pageSize: 1000 })).toEqual(before);
    } finally {
      c.close();
    }
  });

  it('keeps every record and facet exact through load, change and save cycles (compared with a rebuild)', () => {
    const recs = testRecords(260);
    let c = Catalog.open(home.paths);
    for (const md of recs.slice(0, 200)) c.upsert(md);
    c.close();
    // Loaded from disk, then changed: new records land beside records still only in the saved columns.
    c = Catalog.open(home.paths);
    expect(c.indexStatus.source).toBe('loaded');
    for (const md of recs.slice(200)) c.upsert(md);
    c.remove(`${recs[3]!.dlhub.owner}/${recs[3]!.dlhub.name}`);
    expect(c.flush()).toBe(true);
    c.close();
    const queries: [string, boolean][] = [['', false], ['crystal', false], ['servable.type:"Torch Model" OR dlhub.domains:chemistry', true], ['datacite.descriptions.description:energy', true]];
    c = Catalog.open(home.paths);
    const loaded = queries.map(([q, advanced]) => c.search(q, { advanced, allVersions: true, pageSize: 1000 }));
    expect(c.indexStatus.source).toBe('loaded');
    c.close();
    rmSync(home.paths.catalogIndex);
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('rebuilt');
      queries.forEach(([q, advanced], i) => expect(loaded[i], q).toEqual(c.search(q, { advanced, allVersions: true, pageSize: 1000 })));
    } finally {
      c.close();
    }
  });

  it('answers exact, as-you-type prefix and misspelt words from a loaded index, with words added since, as a rebuild does', () => {
    const recs = testRecords(230);
    let c = Catalog.open(home.paths);
    for (const md of recs.slice(0, 200)) c.upsert(md);
    c.close();
    // Loaded, then new words arrive (a name sharing a prefix with loaded words, and one unlike any): both vocabularies answer.
    c = Catalog.open(home.paths);
    expect(c.indexStatus.source).toBe('loaded');
    recs.slice(200).forEach((md, i) => c.upsert(version(md, md.dlhub.version ?? '1.0.0', { name: i % 2 === 0 ? `crystalloid-${i}` : `zqxwvut-${i}` })));
    const texts = ['crystal', 'cryst', 'crystl', 'crystalloid', 'crystaloid', 'zqxwv', 'zqxwvu', 'zqxwvt ', 'perovskite', 'perovskit', 'prevoskite', 'energ', 'neural net', 'c'];
    const shape = (q: string): [string, number][] => c.search(q, { allVersions: true, pageSize: 1000 }).hits.map((h) => [h.servable, +h.score.toFixed(9)]);
    const loaded = texts.map(shape);
    expect(loaded.filter((hits) => hits.length > 0).length).toBeGreaterThan(10);
    expect(loaded[texts.indexOf('zqxwv')]!.map(([s]) => s).filter((s) => !s.includes('zqxwvut-'))).toEqual([]);
    expect(loaded[texts.indexOf('zqxwv')]!.length).toBeGreaterThanOrEqual(15);
    expect(loaded[texts.indexOf('crystaloid')]!.map(([s]) => s)).toEqual(expect.arrayContaining([expect.stringContaining('crystalloid-0')]));
    c.close();
    rmSync(home.paths.catalogIndex);
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('rebuilt');
      texts.forEach((q, i) => expect(loaded[i], q).toEqual(shape(q)));
    } finally {
      c.close();
    }
  });

  it('is not rewritten at close for a few changes: the next open replays them from the change log', () => {
    const recs = testRecords(120);
    let c = Catalog.open(home.paths);
    for (const md of recs.slice(0, 100)) c.upsert(md);
    c.close();
    const saved = statSync(home.paths.catalogIndex).mtimeMs;
    c = Catalog.open(home.paths);
    for (const md of recs.slice(100)) c.upsert(md);
    const expected = c.search('crystal OR servable.type:"Keras Model"', { advanced: true, allVersions: true, pageSize: 1000 });
    c.close();
    expect(statSync(home.paths.catalogIndex).mtimeMs).toBe(saved);
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('caught-up');
      expect(c.search('crystal OR servable.type:"Keras Model"', { advanced: true, allVersions: true, pageSize: 1000 })).toEqual(expected);
    } finally {
      c.close();
    }
    // The reader that caught up saved what it had read whole, so the next fresh open loads the file as it is.
    expect(statSync(home.paths.catalogIndex).mtimeMs).toBeGreaterThan(saved);
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('loaded');
      expect(c.search('crystal OR servable.type:"Keras Model"', { advanced: true, allVersions: true, pageSize: 1000 })).toEqual(expected);
    } finally {
      c.close();
    }
  });

  it('catches up when another process changed the catalog after the index was saved', () => {
    const recs = testRecords(100);
    const a = Catalog.open(home.paths);
    for (const md of recs.slice(0, 50)) a.upsert(md);
    a.close();
    const b = Catalog.open(home.paths);
    const c = Catalog.open(home.paths);
    try {
      for (const md of recs.slice(50)) b.upsert(md);
      b.remove(`${recs[0]!.dlhub.owner}/${recs[0]!.dlhub.name}`);
      // c sees b's writes on its next search, without reopening.
      expect(allKeys(c, '', { allVersions: true }).sort()).toEqual(allKeys(b, '', { allVersions: true }).sort());
    } finally {
      b.close();
      c.close();
    }
    const d = Catalog.open(home.paths);
    try {
      expect(['loaded', 'caught-up']).toContain(d.indexStatus.source);
      expect(d.size).toBe(new Set(recs.map((r) => `${r.dlhub.owner}/${r.dlhub.name}@${r.dlhub.version}`)).size - recs.filter((r) => r.dlhub.name === recs[0]!.dlhub.name && r.dlhub.owner === recs[0]!.dlhub.owner).length);
    } finally {
      d.close();
    }
  });

  it('finds a damaged block that is read only when a query needs it, rebuilds, answers right, and saves a sound file', () => {
    // Enough records that the description column spans many blocks, the marked one in the middle of it.
    const recs = testRecords(800);
    const marked = structuredClone(recs[400]!);
    marked.datacite.descriptions = [{ description: 'A zebrafish quokka marker study of grain boundaries.', descriptionType: 'Abstract' }];
    recs[400] = marked;
    let c = Catalog.open(home.paths);
    for (const md of recs) c.upsert(md);
    const expected = c.search('quokka', { pageSize: 1000 });
    expect(expected.hits.map((h) => h.description)).toEqual(['A zebrafish quokka marker study of grain boundaries.']);
    c.close();
    // The description's text sits in a column a search reads only for the records it shows: the open cannot see this damage.
    const file = readFileSync(home.paths.catalogIndex);
    const at = file.indexOf('zebrafish quokka marker');
    expect(at).toBeGreaterThan(0);
    file[at + 3] = 'X'.charCodeAt(0);
    writeFileSync(home.paths.catalogIndex, file);
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('loaded');
      expect(c.search('quokka', { pageSize: 1000 })).toEqual(expected);
      expect(c.indexStatus.source).toBe('rebuilt');
      expect(c.indexStatus.reason).toMatch(/checksum/);
    } finally {
      c.close();
    }
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('loaded');
      expect(c.search('quokka', { pageSize: 1000 })).toEqual(expected);
    } finally {
      c.close();
    }
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)), /truncated/],
    ['one byte flipped', (b: Buffer) => { const c = Buffer.from(b); c[c.length - 10] = (c[c.length - 10]! + 1) % 256; return c; }, /checksum/],
    ['not an index', () => Buffer.from('garbage'), /header/],
  ])('is rebuilt when %s, and answers stay right', (_name, damage, reason) => {
    let c = Catalog.open(home.paths);
    for (const md of testRecords(150)) c.upsert(md);
    const expected = allKeys(c, 'dlhub.domains:physics OR NOT servable.type:"Keras Model"', { advanced: true }).sort();
    c.close();
    writeFileSync(home.paths.catalogIndex, damage(readFileSync(home.paths.catalogIndex)));
    c = Catalog.open(home.paths);
    try {
      expect(c.indexStatus.source).toBe('rebuilt');
      expect(c.indexStatus.reason).toMatch(reason);
      expect(allKeys(c, 'dlhub.domains:physics OR NOT servable.type:"Keras Model"', { advanced: true }).sort()).toEqual(expected);
    } finally {
      c.close();
    }
  });
});

describe('export and import (JSON Lines)', () => {
  it('round-trips the catalog, reports bad lines by number with their problems, and imports the rest', async () => {
    const recs = testRecords(300);
    const src = Catalog.open(home.paths);
    for (const md of recs) src.upsert(md);
    const file = join(home.paths.root, 'usb.jsonl');
    const written = await src.export(file, { allVersions: true });
    expect(written).toBe(src.size);
    const newestOnly = await src.export(join(home.paths.root, 'newest.jsonl'));
    expect(newestOnly).toBe(src.search('').total);
    src.close();

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const badName = JSON.parse(lines[4]!) as ServableMetadata;
    badName.dlhub.name = 'NOT VALID';
    lines[4] = JSON.stringify(badName);
    lines[9] = '{"datacite": {';
    const damaged = join(home.paths.root, 'damaged.jsonl');
    writeFileSync(damaged, `${lines.join('\n')}\n`);

    const other = tempHome();
    const dst = Catalog.open(other.paths);
    try {
      const progress: number[] = [];
      const report = await dst.import(damaged, { onProgress: (p) => progress.push(p.bytesRead) });
      expect(report.imported).toBe(lines.length - 2);
      expect(report.skipped).toBe(2);
      expect(report.errors.map((e) => e.line)).toEqual([5, 10]);
      expect(report.errors[0]!.problems.map((p) => p.field)).toContain('dlhub.name');
      expect(report.errors[1]!.problems[0]!.rule).toBe('json');
      expect(progress.at(-1)).toBe(readFileSync(damaged).length);
      expect(dst.size).toBe(lines.length - 2);
      // The imported catalog answers like the original, minus the two skipped records.
      const skipped = new Set([4, 9].map((i) => { const m = JSON.parse(readFileSync(file, 'utf8').split('\n')[i]!) as ServableMetadata; return `${m.dlhub.owner}/${m.dlhub.name}@${m.dlhub.version}`; }));
      const origin = Catalog.open(home.paths);
      const expected = allKeys(origin, 'crystal OR dlhub.domains:biology', { advanced: true, allVersions: true }).filter((k) => !skipped.has(k)).sort();
      origin.close();
      expect(allKeys(dst, 'crystal OR dlhub.domains:biology', { advanced: true, allVersions: true }).sort()).toEqual(expected);
    } finally {
      dst.close();
      other.cleanup();
    }
  });

  it('says which file it could not read', async () => {
    const c = Catalog.open(home.paths);
    try {
      await expect(c.import(join(home.paths.root, 'missing.jsonl'))).rejects.toThrow(/Cannot read the catalog file .*missing\.jsonl/);
    } finally {
      c.close();
    }
  });
});
