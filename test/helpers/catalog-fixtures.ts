import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRecords } from '../../bench/catalog-records.js';
import type { Catalog } from '../../main/catalog/catalog.js';
import type { SearchOptions } from '../../main/catalog/search.js';
import type { ServableMetadata } from '../../main/servable/metadata.js';
import { homePaths } from '../../main/storage/home.js';
import type { HomePaths } from '../../main/storage/home.js';

/** A fresh DLHUB_HOME in a temp folder, and its cleanup. */
export function tempHome(): { paths: HomePaths; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-catalog-test-'));
  return { paths: homePaths(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Generated records plus hand-written edge cases: familyName/givenName creators, accents, no owner, no domains. */
export function testRecords(n: number, seed = 1): ServableMetadata[] {
  const recs = generateRecords(n, seed);
  const base = recs[0] as ServableMetadata;
  const edge = (patch: (m: ServableMetadata) => void): ServableMetadata => {
    const m = structuredClone(base);
    patch(m);
    return m;
  };
  recs.push(
    edge((m) => {
      m.dlhub.name = 'bandgap-predictor';
      m.dlhub.owner = 'curie';
      m.datacite.titles = [{ title: 'Band gap predictor for perovskites' }];
      m.datacite.creators = [{ familyName: 'Müller', givenName: 'Zoë' }, { creatorName: 'Ward, Logan' }];
      m.dlhub.domains = ['Materials Science'];
    }),
    edge((m) => {
      m.dlhub.name = 'no-owner-model';
      delete m.dlhub.owner;
      delete m.dlhub.domains;
      m.datacite.titles = [{ title: 'Keras-based U-Net segmentation (v2)' }];
    }),
  );
  return recs;
}

/** Every hit of a query, across pages: the keys servable@version. */
export function allKeys(catalog: Catalog, text: string, opts: SearchOptions = {}): string[] {
  const out: string[] = [];
  for (let page = 1; ; page++) {
    const r = catalog.search(text, { ...opts, page, pageSize: 1000 });
    out.push(...r.hits.map((h) => `${h.servable}@${h.version}`));
    if (out.length >= r.total || r.hits.length === 0) return out;
  }
}
