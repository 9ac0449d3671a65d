/**
 * Liberal reading of catalog records as DLHub's search service writes them (strict where we
 * publish, liberal where we read). The service adds fields its published schema does not list
 * (dlhub.build_location, ecr_arn, ecr_uri, funcx_id, shorthand_name, user_id, identifier, ...),
 * writes publication_date as a string of milliseconds, leaves publicationYear empty and writes
 * ndarray shapes as ["None"]. Such a record is normalized, its added fields are kept, and it is
 * refused only where it cannot be indexed: no name, or no type.
 */
import { readFileSync } from 'node:fs';
import { MetadataError } from '../errors.js';
import { checkRecordDepth } from './record-depth.js';
import { assetPath } from '../servable/assets.js';
import { SHIM_TYPES } from '../servable/metadata.js';
import type { ServableMetadata } from '../servable/metadata.js';

/** A record read liberally: `stored` keeps every field (normalized), `strict` is what the published schema knows. */
export interface NormalizedRecord {
  /** The whole record, normalized, with the service's added fields where they were: what the catalog keeps and shows. */
  stored: Record<string, unknown>;
  /** The same record without the fields DLHub's published schema does not define: what is validated and indexed. */
  strict: ServableMetadata;
  /** The added fields that `strict` leaves out, by dotted path (e.g. "dlhub.ecr_uri"). */
  serviceFields: Record<string, unknown>;
  /** Whether anything was changed or set aside (when not, the original line can be stored as is). */
  changed: boolean;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

let known: Record<'datacite' | 'dlhub' | 'servable', Set<string>> | undefined;

/** Field names each block of DLHub's published schema defines, read from schemas/ so they cannot drift. */
function knownFields(): Record<'datacite' | 'dlhub' | 'servable', Set<string>> {
  if (known) return known;
  const read = (f: string): Obj => JSON.parse(readFileSync(assetPath('schemas', f), 'utf8')) as Obj;
  const props = (schema: unknown): Set<string> => new Set(Object.keys(isObj(schema) && isObj(schema['properties']) ? schema['properties'] : {}));
  const servable = read('servable.json');
  known = {
    datacite: props(read('datacite.json')),
    dlhub: props(read('dlhub.json')),
    servable: props(isObj(servable['properties']) ? servable['properties']['servable'] : undefined),
  };
  return known;
}

function refuse(field: string, message: string, fix: string): never {
  throw new MetadataError(`The record cannot be indexed: ${message}.`, [{ field, rule: 'required', message, fix }]);
}

/**
 * A timestamp in seconds or milliseconds, as a number or a string of digits, in milliseconds;
 * undefined when it is not a usable time. Values under 1e11 are seconds (1e11 ms is 1973).
 */
export function normalizeTimestamp(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return Math.round(n < 1e11 ? n * 1000 : n);
}

/** A shape dimension as DLHub writes it ("None", "3", -1) in our form (null, 3, null); the same value when already ours. */
function normalizeDim(d: unknown): unknown {
  if (d === 'None' || d === 'none' || d === 'null' || d === -1) return null;
  if (typeof d === 'string' && /^\d+$/.test(d)) return Number(d);
  return d;
}

/** Walk an argument type (input/output) and fix shapes and DLHub's string item types, in place. */
// Argument types nest (list of tuple of ...); past this depth a record is left as it is and the
// schema check decides, so a hostile record cannot exhaust the stack here.
const MAX_TYPE_DEPTH = 64;

function normalizeArgument(arg: unknown, depth = 0): boolean {
  if (!isObj(arg) || depth > MAX_TYPE_DEPTH) return false;
  let changed = false;
  const shape = arg['shape'];
  if (Array.isArray(shape)) {
    for (let i = 0; i < shape.length; i++) {
      const d = normalizeDim(shape[i]);
      if (d !== shape[i]) {
        shape[i] = d;
        changed = true;
      }
    }
  }
  // Older SDK versions wrote item_type as a bare string ("float"); the schema wants {"type": "float"}.
  if (typeof arg['item_type'] === 'string') {
    arg['item_type'] = { type: arg['item_type'] };
    changed = true;
  }
  changed = normalizeArgument(arg['item_type'], depth + 1) || changed;
  if (Array.isArray(arg['element_types'])) for (const el of arg['element_types']) changed = normalizeArgument(el, depth + 1) || changed;
  if (isObj(arg['properties'])) for (const p of Object.values(arg['properties'])) changed = normalizeArgument(p, depth + 1) || changed;
  return changed;
}

/** Unwrap a Globus Search entry ({"content": {...}} or a gmeta result with one entry) to the record itself. */
function unwrap(doc: unknown): unknown {
  if (isObj(doc) && !('dlhub' in doc)) {
    if (isObj(doc['content'])) return doc['content'];
    const entries = doc['entries'];
    if (Array.isArray(entries) && entries.length === 1 && isObj(entries[0]) && isObj(entries[0]['content'])) return entries[0]['content'];
  }
  return doc;
}

/**
 * Normalize one record as DLHub's service writes it. Throws MetadataError (naming the field and a
 * fix) only when it has no name or no type; everything else is kept, normalized where it has a
 * known meaning. The caller validates `strict` and stores `stored`. With `inPlace` the input
 * object itself is normalized (no copy), for a caller that owns it.
 */
export function normalizeDlhubRecord(input: unknown, opts: { inPlace?: boolean } = {}): NormalizedRecord {
  // One depth rule for every record the catalog takes (record-depth.ts), checked before any recursive step.
  checkRecordDepth(input);
  const source = unwrap(input);
  if (!isObj(source)) refuse('(record)', 'it is not a JSON object', 'write one metadata record (an object with datacite, dlhub and servable blocks) per line');
  let changed = source !== input;
  // A caller that just parsed the line owns the object and lets it be normalized in place (bulk import).
  const stored = opts.inPlace ? source : structuredClone(source);
  const dlhub = isObj(stored['dlhub']) ? stored['dlhub'] : (stored['dlhub'] = {});
  const datacite = isObj(stored['datacite']) ? stored['datacite'] : (stored['datacite'] = {});
  const servable = isObj(stored['servable']) ? stored['servable'] : undefined;

  // shorthand_name is "owner/name"; it gives the owner (and the name when missing).
  const shorthand = typeof dlhub['shorthand_name'] === 'string' ? dlhub['shorthand_name'] : '';
  const slash = shorthand.indexOf('/');
  if (slash > 0) {
    if (typeof dlhub['owner'] !== 'string' || dlhub['owner'] === '') {
      dlhub['owner'] = shorthand.slice(0, slash);
      changed = true;
    }
    if (typeof dlhub['name'] !== 'string' || dlhub['name'] === '') {
      dlhub['name'] = shorthand.slice(slash + 1);
      changed = true;
    }
  }
  if (typeof dlhub['name'] !== 'string' || dlhub['name'] === '') {
    refuse('dlhub.name', 'dlhub.name is missing', 'give the servable a name at dlhub.name (or dlhub.shorthand_name as "owner/name")');
  }
  if (!servable) refuse('servable', 'it has no servable block, so no type', 'give servable.type and servable.shim, e.g. "Scikit-learn estimator" and "sklearn.ScikitLearnServable"');
  if (typeof servable['type'] !== 'string' || servable['type'] === '') {
    const fromShim = typeof servable['shim'] === 'string' ? (SHIM_TYPES as Record<string, string>)[servable['shim']] : undefined;
    if (fromShim === undefined) refuse('servable.type', 'servable.type is missing', 'give the type, e.g. "servable": {"type": "Keras Model", ...}');
    servable['type'] = fromShim;
    changed = true;
  }
  if (typeof servable['shim'] !== 'string' || servable['shim'] === '') {
    const shim = Object.entries(SHIM_TYPES).find(([, type]) => type === servable['type'])?.[0];
    if (shim !== undefined) {
      servable['shim'] = shim;
      changed = true;
    }
  }

  if ('publication_date' in dlhub) {
    const ms = normalizeTimestamp(dlhub['publication_date']);
    if (ms !== dlhub['publication_date']) {
      if (ms === undefined) delete dlhub['publication_date'];
      else dlhub['publication_date'] = ms;
      changed = true;
    }
  }
  // An empty or unreadable year means "unknown"; a numeric year becomes the schema's string.
  if ('publicationYear' in datacite) {
    const y = datacite['publicationYear'];
    const year = typeof y === 'number' && Number.isInteger(y) ? String(y) : typeof y === 'string' ? y.trim() : '';
    if (!/^\d{4}$/.test(year)) {
      delete datacite['publicationYear'];
      changed = true;
    } else if (year !== y) {
      datacite['publicationYear'] = year;
      changed = true;
    }
  }
  if (!Array.isArray(datacite['titles']) || datacite['titles'].length === 0) {
    datacite['titles'] = [{ title: dlhub['name'] }];
    changed = true;
  }
  if (!Array.isArray(datacite['creators'])) {
    datacite['creators'] = [];
    changed = true;
  }
  if (isObj(servable['methods'])) {
    for (const m of Object.values(servable['methods'])) {
      if (!isObj(m)) continue;
      changed = normalizeArgument(m['input']) || changed;
      changed = normalizeArgument(m['output']) || changed;
    }
  }

  // The strict copy leaves out what DLHub's published schema does not define; `stored` keeps it.
  const fields = knownFields();
  const serviceFields: Record<string, unknown> = {};
  const strict: Obj = {};
  for (const [block, value] of Object.entries(stored)) {
    if (block === 'datacite' || block === 'dlhub' || block === 'servable') {
      const kept: Obj = {};
      for (const [k, v] of Object.entries(value as Obj)) {
        if (fields[block].has(k)) kept[k] = v;
        else serviceFields[`${block}.${k}`] = v;
      }
      strict[block] = kept;
    } else {
      serviceFields[block] = value;
    }
  }
  return { stored, strict: strict as unknown as ServableMetadata, serviceFields, changed: changed || Object.keys(serviceFields).length > 0 };
}
