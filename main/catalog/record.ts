import type { DataciteCreator, ServableMetadata } from '../servable/metadata.js';

/**
 * The searchable view of one catalog record: the DLHub metadata fields that search, facets and the
 * query language read, flattened once so a query never walks the nested document.
 */
export interface CatalogDoc {
  /** Row id in state.db; stable across updates of the same servable version. */
  id: number;
  /** `owner/name`, or `name` when the record has no owner. */
  servable: string;
  version: string;
  local: boolean;
  latest: boolean;
  name: string;
  owner: string;
  title: string;
  description: string;
  creators: string[];
  domains: string[];
  type: string;
  shim: string;
  modelType: string;
  /** Method names; `inputTypes[i]` and `outputTypes[i]` belong to `methods[i]` ('' when undeclared). */
  methods: string[];
  inputTypes: string[];
  outputTypes: string[];
  tags: string[];
  year: number | null;
  publicationDate: number | null;
  doi: string;
  visibleTo: string[];
}

/** Lowercase word split used by the index, the query evaluator and phrase checks alike, so they agree. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0);
}

/** The catalog's name of a servable: `owner/name`, as DLHub shows it. */
export function servableKey(md: ServableMetadata): string {
  return md.dlhub.owner ? `${md.dlhub.owner}/${md.dlhub.name}` : md.dlhub.name;
}

/** The version a record is filed under; DLHub records without one count as version "0". */
export function recordVersion(md: ServableMetadata): string {
  return md.dlhub.version ?? md.datacite.version ?? '0';
}

/** A string that sorts versions in release order: numeric parts are zero-padded, so 1.10 > 1.9. */
export function versionKey(version: string): string {
  return version.split(/[^A-Za-z0-9]+/).map((p) => (/^\d+$/.test(p) ? p.padStart(12, '0') : p.toLowerCase())).join('.');
}

/** How a creator reads in results and facets: `creatorName`, or "Family, Given". */
export function creatorName(c: DataciteCreator): string {
  if (c.creatorName) return c.creatorName;
  return [c.familyName, c.givenName].filter((s) => s !== undefined && s !== '').join(', ');
}

/** Year of `dlhub.publication_date`, which DLHub writes in milliseconds (older records in seconds). */
function yearOfDate(date: number | undefined): number | null {
  if (date === undefined || !Number.isFinite(date)) return null;
  return new Date(date < 1e11 ? date * 1000 : date).getUTCFullYear();
}

/** Flatten one metadata document into the fields search reads. */
export function toCatalogDoc(md: ServableMetadata, row: { id: number; local: boolean; latest: boolean }): CatalogDoc {
  const { datacite, dlhub, servable } = md;
  const methods = Object.keys(servable.methods ?? {});
  const subjects = (datacite['subjects'] as { subject?: string }[] | undefined) ?? [];
  const tags = subjects.map((s) => s.subject ?? '').filter((s) => s !== '');
  if (servable.model_type) tags.push(servable.model_type);
  const year = datacite.publicationYear ? Number(datacite.publicationYear) : yearOfDate(dlhub.publication_date);
  return {
    id: row.id,
    servable: servableKey(md),
    version: recordVersion(md),
    local: row.local,
    latest: row.latest,
    name: dlhub.name,
    owner: dlhub.owner ?? '',
    title: datacite.titles[0]?.title ?? dlhub.name,
    description: (datacite.descriptions ?? []).map((d) => d.description).join('\n'),
    creators: (datacite.creators ?? []).map(creatorName).filter((n) => n !== ''),
    domains: dlhub.domains ?? [],
    type: servable.type,
    shim: servable.shim,
    modelType: servable.model_type ?? '',
    methods,
    inputTypes: methods.map((m) => servable.methods[m]?.input?.type ?? ''),
    outputTypes: methods.map((m) => servable.methods[m]?.output?.type ?? ''),
    tags,
    year: year !== null && Number.isFinite(year) ? year : null,
    publicationDate: dlhub.publication_date ?? null,
    doi: datacite.identifier?.identifier ?? '',
    visibleTo: dlhub.visible_to ?? [],
  };
}
