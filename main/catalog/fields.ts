import type { CatalogDoc } from './record.js';

/** The minisearch fields: what free text searches, with the boosts that rank title and people first. */
// `name` too: a user who knows a servable's name (iris_svm) types it.
export const TEXT_FIELDS = ['title', 'description', 'creators', 'domains', 'type', 'methods', 'inputTypes', 'outputTypes', 'tags', 'name'] as const;
/** One of the free-text fields. */
export type TextField = (typeof TEXT_FIELDS)[number];
/** Field boosts for ranking: a hit in the title counts more than one in the description. */
export const BOOSTS: Record<TextField, number> = {
  title: 3, name: 3, creators: 2, domains: 2, type: 2, tags: 1.5, methods: 1.5, description: 1, inputTypes: 1, outputTypes: 1,
};

/** A queryable field: its DLHub name, how to read its values from a record, and whether ranges compare numbers. */
export interface FieldSpec {
  name: string;
  numeric: boolean;
  /** The minisearch field that holds the same text, used to rank field hits. */
  textField?: TextField;
  values: (doc: CatalogDoc) => readonly string[];
}

const one = (s: string): readonly string[] => (s === '' ? [] : [s]);
const num = (n: number | null): readonly string[] => (n === null ? [] : [String(n)]);

/** Every field the query language knows, under the names DLHub writes. */
export const FIELDS: readonly FieldSpec[] = [
  { name: 'datacite.titles.title', numeric: false, textField: 'title', values: (d) => one(d.title) },
  { name: 'datacite.descriptions.description', numeric: false, textField: 'description', values: (d) => one(d.description) },
  { name: 'datacite.creators.creatorName', numeric: false, textField: 'creators', values: (d) => d.creators },
  { name: 'datacite.publicationYear', numeric: true, values: (d) => num(d.year) },
  { name: 'datacite.identifier.identifier', numeric: false, values: (d) => one(d.doi) },
  { name: 'datacite.subjects.subject', numeric: false, textField: 'tags', values: (d) => d.tags },
  { name: 'dlhub.name', numeric: false, textField: 'name', values: (d) => one(d.name) },
  { name: 'dlhub.owner', numeric: false, values: (d) => one(d.owner) },
  { name: 'dlhub.version', numeric: false, values: (d) => one(d.version) },
  { name: 'dlhub.domains', numeric: false, textField: 'domains', values: (d) => d.domains },
  { name: 'dlhub.publication_date', numeric: true, values: (d) => num(d.publicationDate) },
  { name: 'dlhub.visible_to', numeric: false, values: (d) => d.visibleTo },
  { name: 'dlhub.local', numeric: false, values: (d) => [String(d.local)] },
  { name: 'servable.type', numeric: false, textField: 'type', values: (d) => one(d.type) },
  { name: 'servable.shim', numeric: false, values: (d) => one(d.shim) },
  { name: 'servable.model_type', numeric: false, values: (d) => one(d.modelType) },
  { name: 'servable.methods', numeric: false, textField: 'methods', values: (d) => d.methods },
  { name: 'servable.methods.input.type', numeric: false, textField: 'inputTypes', values: (d) => d.inputTypes.filter((t) => t !== '') },
  { name: 'servable.methods.output.type', numeric: false, textField: 'outputTypes', values: (d) => d.outputTypes.filter((t) => t !== '') },
];

/** Short names users type; each stands for the DLHub field it points to. */
export const ALIASES: Record<string, string> = {
  title: 'datacite.titles.title',
  description: 'datacite.descriptions.description',
  creator: 'datacite.creators.creatorName',
  author: 'datacite.creators.creatorName',
  'datacite.creators': 'datacite.creators.creatorName',
  year: 'datacite.publicationYear',
  'dlhub.publication_year': 'datacite.publicationYear',
  doi: 'datacite.identifier.identifier',
  tag: 'datacite.subjects.subject',
  tags: 'datacite.subjects.subject',
  name: 'dlhub.name',
  owner: 'dlhub.owner',
  version: 'dlhub.version',
  domain: 'dlhub.domains',
  domains: 'dlhub.domains',
  local: 'dlhub.local',
  type: 'servable.type',
  method: 'servable.methods',
  'servable.methods.name': 'servable.methods',
};

const BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));

// servable.methods.<method>.input.type reads one named method's declared type, as DLHub's documents nest it.
const METHOD_FIELD = /^servable\.methods\.([A-Za-z_][A-Za-z0-9_]*)\.(input|output)\.type$/;

/** The field a query names (case-insensitive for aliases), or undefined when none is known by that name. */
export function resolveField(name: string): FieldSpec | undefined {
  // hasOwn: a field named `constructor` or `__proto__` must not find Object.prototype's members.
  const alias = name.toLowerCase();
  const canonical = Object.hasOwn(ALIASES, alias) ? (ALIASES[alias] as string) : name;
  const known = BY_NAME.get(canonical);
  if (known) return known;
  const m = METHOD_FIELD.exec(name);
  if (!m) return undefined;
  const [, method, side] = m as unknown as [string, string, 'input' | 'output'];
  return {
    name,
    numeric: false,
    textField: side === 'input' ? 'inputTypes' : 'outputTypes',
    values: (d) => {
      const i = d.methods.indexOf(method);
      const t = i < 0 ? '' : (side === 'input' ? d.inputTypes[i] : d.outputTypes[i]) ?? '';
      return one(t);
    },
  };
}

/** Names to suggest when a query names an unknown field. */
export function knownFieldNames(): string[] {
  return [...FIELDS.map((f) => f.name), 'servable.methods.<method>.input.type', 'servable.methods.<method>.output.type'];
}
