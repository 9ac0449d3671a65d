import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { MetadataError } from '../errors.js';
import type { MetadataProblem } from '../errors.js';
import { assetPath } from './assets.js';
import type { ServableMetadata } from './metadata.js';
import { loadedFile } from './servable-files.js';
import { NAME_MAX_LENGTH, NAME_PATTERN, VERSION_MAX_LENGTH, VERSION_PATTERN } from './names.js';
import { toProblems } from './problems.js';

const SCHEMA_FILES = ['servable/argument_type.json', 'servable/method.json', 'general/files.json', 'datacite.json', 'dlhub.json'];

let compiled: { servable: ValidateFunction; argument: ValidateFunction } | undefined;

function readSchema(rel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(assetPath('schemas', ...rel.split('/')), 'utf8')) as Record<string, unknown>;
}

/** dlhub.json's name and version rules, taken from servable/names.ts so schema, packager and registry cannot drift. */
function withNameRules(schema: Record<string, unknown>): Record<string, unknown> {
  const props = schema['properties'] as Record<string, Record<string, unknown>>;
  props['name'] = { ...props['name'], pattern: NAME_PATTERN, maxLength: NAME_MAX_LENGTH };
  props['version'] = { ...props['version'], pattern: VERSION_PATTERN, maxLength: VERSION_MAX_LENGTH };
  return schema;
}

/** The one ajv instance, compiled on first use: schemas/servable.json and the schemas it refers to. */
function validators(): { servable: ValidateFunction; argument: ValidateFunction } {
  if (compiled) return compiled;
  // Required here, not imported: loading ajv costs a fresh `dlhub search` or memo-hit `dlhub run` ~30 ms they never need.
  const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvClass };
  // verbose puts the failing sub-schema on each error, where our `fix` annotations live.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'fix', schemaType: 'string' });
  for (const rel of SCHEMA_FILES) ajv.addSchema(rel === 'dlhub.json' ? withNameRules(readSchema(rel)) : readSchema(rel));
  const servable = ajv.compile(readSchema('servable.json'));
  const argument = ajv.getSchema('https://schemas.dlhub.org/desktop/servable/argument_type.json');
  if (!argument) throw new MetadataError('The argument_type schema did not load.', [], 'Reinstall DLHub Desktop: schemas/servable/argument_type.json is damaged.');
  compiled = { servable, argument };
  return compiled;
}

// Rules the runner relies on that span several fields, so JSON Schema would state them poorly.
function crossFieldProblems(doc: ServableMetadata): MetadataProblem[] {
  const out: MetadataProblem[] = [];
  const { shim, methods } = doc.servable;
  const loaded = loadedFile(doc);
  if (loaded && loaded.path === undefined) {
    const example = loaded.role === 'pickle' ? 'object.pkl' : 'model.pkl';
    out.push({ field: `dlhub.files.${loaded.role}`, rule: 'required', message: `dlhub.files.${loaded.role} is required for a ${shim} servable`, fix: `name the ${loaded.role} file relative to the servable folder, e.g. "files": {"${loaded.role}": "${example}"}` });
  }
  const serialization = doc.servable.options?.serialization_method;
  if (shim === 'sklearn.ScikitLearnServable' && serialization !== undefined && serialization !== 'pickle' && serialization !== 'joblib') {
    out.push({ field: 'servable.options.serialization_method', rule: 'enum', message: `servable.options.serialization_method is ${JSON.stringify(serialization)}, which is not pickle or joblib`, fix: 'set it to "pickle" or "joblib", whichever library saved the model' });
  }
  if (shim === 'python.PythonStaticMethodServable') {
    for (const [name, method] of Object.entries(methods)) {
      for (const key of ['module', 'method_name'] as const) {
        if (typeof method.method_details?.[key] !== 'string') {
          const field = `servable.methods.${name}.method_details.${key}`;
          out.push({ field, rule: 'required', message: `${field} is required for a Python static method`, fix: key === 'module' ? 'give the module that holds the function, e.g. "module": "app" for app.py' : 'give the function name, e.g. "method_name": "summarize"' });
        }
      }
    }
  }
  return out;
}

function fail(problems: MetadataProblem[], source: string | undefined): never {
  const where = source ? `${source} is not valid servable metadata` : 'The servable metadata is not valid';
  const list = problems.map((p) => `  - ${p.message} [${p.rule}]; fix: ${p.fix}`).join('\n');
  throw new MetadataError(`${where} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${list}`, problems);
}

/** Check a dlhub.json document against schemas/servable.json and the runner's cross-field rules; throws MetadataError listing every problem. */
export function validateMetadata(doc: unknown, source?: string): ServableMetadata {
  const { servable } = validators();
  if (!servable(doc)) fail(toProblems(servable.errors ?? []), source);
  const metadata = doc as ServableMetadata;
  const extra = crossFieldProblems(metadata);
  if (extra.length > 0) fail(extra, source);
  return metadata;
}

// DLHub Desktop's additions to DLHub's schema: valid here, unknown to a DLHub service.
const DESKTOP_ADDITIONS = [['dlhub', 'network'], ['servable', 'deterministic']] as const;

/** Strict publish mode: the document must be valid AND hold only fields DLHub's own schemas define (see dlhub-export.ts). */
export function validateForPublish(doc: unknown, source?: string): ServableMetadata {
  const md = validateMetadata(doc, source);
  const extra = DESKTOP_ADDITIONS.filter(([block, field]) => field in (md[block] as object));
  if (extra.length > 0) {
    fail(extra.map(([block, field]) => ({ field: `${block}.${field}`, rule: 'publish', message: `${block}.${field} is a DLHub Desktop field that DLHub's schema does not define`, fix: 'remove it, or export with `dlhub describe NAME --dlhub`' })), source);
  }
  return md;
}

/** Check one argument type description (a method's input or output) on its own. */
export function validateArgumentType(type: unknown, field = 'type'): void {
  const { argument } = validators();
  if (argument(type)) return;
  const problems = toProblems(argument.errors ?? []).map((p) => {
    const at = p.field === 'the document' ? field : `${field}.${p.field}`;
    return { ...p, field: at, message: p.message.startsWith(p.field) ? at + p.message.slice(p.field.length) : p.message };
  });
  fail(problems, field);
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Read and validate a dlhub.json file; JSON syntax errors name the line and column. */
export function loadMetadataFile(path: string): ServableMetadata {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `No metadata file at ${path}.` : `Cannot read ${path}: ${(err as Error).message}`;
    throw new MetadataError(message, [{ field: '(file)', rule: 'readable', message, fix: 'create it with `dlhub init DIR`, or point to the folder that holds dlhub.json' }],
      'Create dlhub.json with `dlhub init DIR`.');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message;
    const pos = /position (\d+)/.exec(reason);
    const { line, column } = lineColumn(text, pos ? Number(pos[1]) : text.length);
    const detail = reason.replace(/ in JSON at position \d+.*$/, '');
    const message = `${path}:${line}:${column}: invalid JSON: ${detail}`;
    throw new MetadataError(message, [{ field: '(syntax)', rule: 'json', message: `line ${line}, column ${column}: ${detail}`, fix: `fix the JSON at line ${line}, column ${column} (look for a missing comma, quote or bracket, or a trailing comma)` }]);
  }
  return validateMetadata(doc, path);
}
