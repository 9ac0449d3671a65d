// The publish screen's metadata form: its fields and the check of each as the user types, with the
// rules of the servable schema (schemas/dlhub.json, schemas/datacite.json). Pure, so it is tested alone.

/** The fields a person fills in before building. */
export interface MetadataFields {
  name: string;
  title: string;
  creators: string;
  description: string;
  domains: string;
  version: string;
  license: string;
}

/** Field names, in the order shown. */
export const FIELD_ORDER: (keyof MetadataFields)[] = ['name', 'title', 'creators', 'description', 'domains', 'version', 'license'];

/** What each field is called and what to write. */
export const FIELD_HELP: Record<keyof MetadataFields, { label: string; help: string }> = {
  name: { label: 'Name', help: 'lowercase letters, digits, "-", "_" or ".", e.g. iris-classifier' },
  title: { label: 'Title', help: 'what the model is, in a few words' },
  creators: { label: 'Creators', help: 'one per line, as "Family, Given"' },
  description: { label: 'Description', help: 'what it does and on what data' },
  domains: { label: 'Domains', help: 'comma-separated, e.g. biology, materials' },
  version: { label: 'Version', help: 'e.g. 1.0.0' },
  license: { label: 'License', help: 'an SPDX name such as Apache-2.0, or a URL' },
};

/** The problem with one field's value, or undefined when it is fine. */
export function checkField(field: keyof MetadataFields, value: string): string | undefined {
  const v = value.trim();
  switch (field) {
    case 'name':
      if (v === '') return 'A name is needed: it is how you run the servable.';
      if (v.length > 64) return 'At most 64 characters.';
      if (!/^[a-z0-9_-][a-z0-9._-]*$/.test(v)) return 'Use lowercase letters, digits, "-", "_" or "." (not starting with a dot).';
      return undefined;
    case 'title':
      return v === '' ? 'A title is needed.' : undefined;
    case 'creators':
      return creatorList(value).length === 0 ? 'Name at least one creator, as "Family, Given".' : undefined;
    case 'version':
      return v === '' ? 'A version is needed, e.g. 1.0.0.' : /\s/.test(v) ? 'A version has no spaces.' : undefined;
    case 'domains':
      return domainList(value).some((d) => d.length > 100) ? 'A domain is at most 100 characters.' : undefined;
    default:
      return undefined;
  }
}

/** Every field's problem, by field. */
export function checkAll(fields: MetadataFields): Partial<Record<keyof MetadataFields, string>> {
  const out: Partial<Record<keyof MetadataFields, string>> = {};
  for (const f of FIELD_ORDER) {
    const problem = checkField(f, fields[f]);
    if (problem) out[f] = problem;
  }
  return out;
}

/** Creators, one per line. */
export function creatorList(text: string): string[] {
  return text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
}

/** Domains, comma-separated. */
export function domainList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A folder name made into a servable name (as `dlhub init` does). */
export function nameFromLabel(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[.-]+/, '').replace(/-+$/, '').slice(0, 64) || 'servable';
}
