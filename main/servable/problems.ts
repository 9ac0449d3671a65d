import type { ErrorObject } from 'ajv';
import type { MetadataProblem } from '../errors.js';

// Fixes for required fields, keyed by field path with array indices written as [*].
const REQUIRED_FIXES: Record<string, string> = {
  datacite: 'add a "datacite" block with at least titles and creators, e.g. "datacite": {"titles": [{"title": "Iris classifier"}], "creators": [{"creatorName": "Curie, Marie"}]}',
  dlhub: 'add a "dlhub" block with at least a name, e.g. "dlhub": {"name": "iris-classifier"}',
  servable: 'add a "servable" block with type, shim and methods; `dlhub init DIR` writes one for you',
  'datacite.titles': 'add a title under datacite.titles, e.g. "titles": [{"title": "Iris species classifier"}]',
  'datacite.creators': 'add the authors under datacite.creators, e.g. "creators": [{"creatorName": "Curie, Marie"}] (an empty list is allowed)',
  'datacite.creators[*].creatorName': 'add creatorName as "Family, Given", e.g. "creatorName": "Curie, Marie"',
  'datacite.titles[*].title': 'add the title text, e.g. {"title": "Iris species classifier"}',
  'dlhub.name': 'add a short lowercase name, e.g. "name": "iris-classifier"',
  'servable.type': 'add the human-readable type, e.g. "type": "Scikit-learn estimator"',
  'servable.shim': 'add the runner shim, e.g. "shim": "sklearn.ScikitLearnServable" or "python.PythonStaticMethodServable"',
  'servable.methods': 'add at least one method, e.g. "methods": {"run": {"input": {"type": "python object"}, "output": {"type": "python object"}}}',
  'servable.methods.*.input.shape': 'add the array shape, with null for any size, e.g. "shape": [null, 4]',
};

const SIMPLE_KEY = /^[A-Za-z_$][\w$]*$/;

function keyPath(base: string, key: string): string {
  if (/^\d+$/.test(key)) return `${base}[${key}]`;
  if (!SIMPLE_KEY.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/** `/datacite/creators/0` -> `datacite.creators[0]`. */
export function pointerToField(pointer: string): string {
  if (pointer === '') return '';
  return pointer.split('/').slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, key) => keyPath(acc, key), '');
}

function genericPath(field: string): string {
  return field.replace(/\[\d+\]/g, '[*]');
}

function lookupRequiredFix(field: string, parent: string, missing: string): string {
  const generic = genericPath(field);
  const byMethod = generic.replace(/^servable\.methods\.[^.[]+/, 'servable.methods.*');
  return REQUIRED_FIXES[generic] ?? REQUIRED_FIXES[byMethod]
    ?? `add "${missing}" under ${parent || 'the top level of dlhub.json'}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function schemaFix(err: ErrorObject): string | undefined {
  const parent = err.parentSchema as { fix?: unknown } | undefined;
  return typeof parent?.fix === 'string' ? parent.fix : undefined;
}

/** Turn one ajv error into a problem naming the field, the rule and a concrete fix; undefined for wrapper errors. */
export function toProblem(err: ErrorObject): MetadataProblem | undefined {
  const at = pointerToField(err.instancePath);
  const where = at || 'the document';
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'if':
    case 'propertyNames':
    case 'anyOf':
      return undefined; // ajv also reports the specific failure inside; that one names the field
    case 'required': {
      const missing = String(p.missingProperty);
      const field = keyPath(at, missing);
      return { field, rule: 'required', message: `${field} is required but missing`, fix: lookupRequiredFix(field, at, missing) };
    }
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      const field = keyPath(at, extra);
      const known = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return {
        field, rule: 'additionalProperties', message: `${field} is not a field DLHub knows at ${where}`,
        fix: known.length > 0 ? `remove it or correct its spelling; the fields allowed here are: ${known.join(', ')}` : 'remove it',
      };
    }
    case 'type':
      return { field: where, rule: 'type', message: `${where} must be ${String(p.type).replace(',', ' or ')}, but it is ${kindOf(err.data)}`, fix: schemaFix(err) ?? `change ${where} to ${String(p.type).replace(',', ' or ')}` };
    case 'enum':
      return { field: where, rule: 'enum', message: `${where} is ${show(err.data)}, which is not one of the allowed values`, fix: schemaFix(err) ?? `use one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'pattern': {
      const field = err.propertyName !== undefined ? keyPath(at, err.propertyName) : where;
      const what = err.propertyName !== undefined ? `the name ${show(err.propertyName)}` : show(err.data);
      return { field, rule: 'pattern', message: `${field}: ${what} is not allowed here`, fix: schemaFix(err) ?? `match the pattern ${String(p.pattern)}` };
    }
    case 'maxLength': {
      const field = err.propertyName !== undefined ? keyPath(at, err.propertyName) : where;
      return { field, rule: 'maxLength', message: `${field} is longer than ${String(p.limit)} characters`, fix: `shorten it to at most ${String(p.limit)} characters` };
    }
    case 'minLength':
      return { field: where, rule: 'minLength', message: `${where} is empty`, fix: schemaFix(err) ?? `write at least ${String(p.limit)} character(s)` };
    case 'minItems':
      return { field: where, rule: 'minItems', message: `${where} needs at least ${String(p.limit)} item(s)`, fix: lookupRequiredFix(where, where, where) };
    case 'minProperties':
      return { field: where, rule: 'minProperties', message: `${where} is empty`, fix: lookupRequiredFix(where, where, where) };
    case 'minimum':
      return { field: where, rule: 'minimum', message: `${where} is ${show(err.data)} but must be at least ${String(p.limit)}`, fix: schemaFix(err) ?? `use a value of ${String(p.limit)} or more` };
    default:
      return { field: where, rule: err.keyword, message: `${where} ${err.message ?? 'is invalid'}`, fix: schemaFix(err) ?? `correct ${where} to satisfy "${err.keyword}"` };
  }
}

/** Convert and de-duplicate ajv errors. */
export function toProblems(errors: readonly ErrorObject[]): MetadataProblem[] {
  const seen = new Set<string>();
  const out: MetadataProblem[] = [];
  for (const err of errors) {
    const problem = toProblem(err);
    if (!problem) continue;
    const key = `${problem.field}|${problem.rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(problem);
  }
  return out;
}
