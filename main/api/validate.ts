import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { UsageError } from '../errors.js';
import { OPERATIONS, type OpName, type OpRequest } from './contract/operations.js';

// One compiler for bodies (exact types) and one for query strings (where every value arrives as text).
let bodyAjv: Ajv | undefined;
let queryAjv: Ajv | undefined;
const bodyValidators = new Map<OpName, ValidateFunction>();
const queryValidators = new Map<OpName, ValidateFunction>();

function compiler(coerce: boolean): Ajv {
  // TypeBox marks schemas with symbol keys, which ajv ignores; `strict: false` lets descriptions and `not` through quietly.
  return new Ajv({ strict: false, allErrors: false, coerceTypes: coerce, useDefaults: false });
}

function validatorFor(op: OpName, fromQuery: boolean): ValidateFunction {
  const cache = fromQuery ? queryValidators : bodyValidators;
  let v = cache.get(op);
  if (!v) {
    const ajv = fromQuery ? (queryAjv ??= compiler(true)) : (bodyAjv ??= compiler(false));
    // Compiled on first use: a CLI command pays only for the one operation it calls.
    v = ajv.compile(OPERATIONS[op].request);
    cache.set(op, v);
  }
  return v;
}

function describe(op: OpName, err: ErrorObject | undefined): string {
  if (!err) return `The request for ${op} does not match its schema.`;
  const field = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (err.keyword === 'additionalProperties') {
    const extra = String((err.params as { additionalProperty?: unknown }).additionalProperty);
    return `${field ? `${field}.` : ''}${extra} is not a field of ${op}.`;
  }
  if (err.keyword === 'required') {
    return `${field ? `${field}.` : ''}${String((err.params as { missingProperty?: unknown }).missingProperty)} is required by ${op}.`;
  }
  if (err.keyword === 'not' && !field) return `Give either "input" or "inputs" to ${op}, not both.`;
  if (!field) return `The request body of ${op} ${err.message ?? 'is invalid'}: send a JSON object.`;
  return `${field} ${err.message ?? 'is invalid'} (in ${op}).`;
}

/**
 * Check a request against its operation's schema; a mismatch is a USAGE error naming the field.
 * `fromQuery` coerces text values (query strings and path parts) to the schema's types first.
 */
export function validateRequest<K extends OpName>(op: K, request: unknown, fromQuery = false): OpRequest<K> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new UsageError('USAGE', `The request body of ${op} is ${request === null ? 'null' : Array.isArray(request) ? 'an array' : `a ${typeof request}`}: send a JSON object.`, {
      hint: `See the ${op} request schema in /openapi.json.`,
      details: { field: '', rule: 'type' },
    });
  }
  const v = validatorFor(op, fromQuery);
  if (!v(request)) {
    const first = v.errors?.[0];
    throw new UsageError('USAGE', describe(op, first), {
      hint: `See the ${op} request schema in /openapi.json (or \`dlhub --help\`).`,
      details: { field: first?.instancePath ?? '', rule: first?.keyword ?? '' },
    });
  }
  return request;
}
