import { NotFoundError } from '../../errors.js';
import type { Catalog } from '../../catalog/catalog.js';
import { normalizeDlhubRecord } from '../../catalog/dlhub-record.js';
import { getLocal, listLocal } from '../../servable/registry.js';
import type { HomePaths } from '../../storage/home.js';
import type { ServableDescription, ServableSummary } from '../operations.js';

/** Full metadata and methods of a servable built here, else of one the catalog knows (a hub record, an import). */
export function describeServable(paths: HomePaths, catalog: () => Catalog, name: string): ServableDescription {
  let s: ReturnType<typeof getLocal>;
  try {
    s = getLocal(paths, name);
  } catch (err) {
    const entry = err instanceof NotFoundError && err.code === 'SERVABLE_NOT_FOUND' ? catalogEntry(catalog(), name) : undefined;
    if (!entry) throw err;
    const { serviceFields } = normalizeDlhubRecord(structuredClone(entry.metadata));
    return {
      name: entry.servable,
      metadata: entry.metadata,
      methods: entry.metadata.servable.methods ?? {},
      image: undefined,
      deterministic: entry.metadata.servable.deterministic !== false,
      source: 'catalog',
      ...(Object.keys(serviceFields).length > 0 ? { serviceFields } : {}),
    };
  }
  return {
    name: s.name,
    metadata: s.metadata,
    methods: s.metadata.servable.methods ?? {},
    image: s.image,
    deterministic: s.metadata.servable.deterministic !== false,
    ...(s.substitutions.length > 0 ? { substitutions: s.substitutions } : {}),
  };
}

/** The catalog's newest record of `owner/name`, or of a bare name when exactly one owner has it. */
export function catalogEntry(catalog: Catalog, name: string): ReturnType<Catalog['get']> {
  const exact = catalog.get(name);
  if (exact || name.includes('/')) return exact;
  const owners = new Set(
    catalog.search(`dlhub.name:"${name}"`, { advanced: true, pageSize: 20 }).hits.map((h) => h.servable).filter((k) => k.endsWith(`/${name}`)),
  );
  if (owners.size > 1) {
    throw new NotFoundError('SERVABLE_NOT_FOUND', `No servable "${name}" on this machine, and ${owners.size} catalog records have that name.`, {
      hint: `Name one as owner/name: ${[...owners].sort().join(', ')}.`,
    });
  }
  const [only] = owners;
  return only === undefined ? undefined : catalog.get(only);
}

/** Every servable prepared on this machine, in brief. */
export function servableSummaries(paths: HomePaths): ServableSummary[] {
  return listLocal(paths).map((s) => ({
    name: s.name,
    version: s.version,
    type: s.metadata.servable.type,
    title: s.metadata.datacite.titles?.[0]?.title,
    methods: Object.keys(s.metadata.servable.methods ?? {}),
    image: s.image?.tag,
    preparedAt: s.preparedAt,
  }));
}
