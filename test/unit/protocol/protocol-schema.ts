import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

const SCHEMA_PATH = new URL('../../../schemas/runner-protocol.json', import.meta.url);
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object, 'runner-protocol');

const cache = new Map<string, ValidateFunction>();

/** Throw with ajv's errors unless `header` satisfies `definition` (or the whole schema) of runner-protocol.json. */
export function expectValidMessage(header: unknown, definition?: string): void {
  const ref = definition ? `runner-protocol#/definitions/${definition}` : 'runner-protocol';
  let validate = cache.get(ref);
  if (!validate) {
    validate = ajv.getSchema(ref);
    if (!validate) throw new Error(`no schema ${ref}`);
    cache.set(ref, validate);
  }
  if (!validate(header)) {
    throw new Error(`message does not satisfy ${ref}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(header).slice(0, 500)}`);
  }
}
