import type { ErrorObject, ValidateFunction } from 'ajv';
import { UsageError } from '../errors.js';
import type { OpName, OpRequest } from '../contract/operations.js';
// Compiled from the operations table by `npm run gen:openapi` (ajv standalone code): a fresh process
// loads neither TypeBox nor the ajv compiler to check a request.
import * as bodyValidators from './generated/validate-body.js';
import * as queryValidators from './generated/validate-query.js';
import { QUERY_BOOLEANS } from './generated/routes.js';
import { QUERY_FALSE, QUERY_TRUE } from '../contract/query.js';

function validatorFor(op: OpName, fromQuery: boolean): ValidateFunction {
  const table = (fromQuery ? queryValidators : bodyValidators) as unknown as Record<string, ValidateFunction | undefined>;
  const v = table[op] ?? (bodyValidators as unknown as Record<string, ValidateFunction>)[op];
  if (!v) throw new UsageError('USAGE', `No operation named ${op}.`, { hint: 'Run `npm run gen:openapi` after changing the operations table.' });
  return v;
}

// Query text for a boolean field: True/1 and False/0 as well as true/false (the validator's coercion knows only those two).
function readQueryBooleans(op: OpName, request: Record<string, unknown>): void {
  for (const field of QUERY_BOOLEANS[op] ?? []) {
    const v = request[field];
    if (typeof v !== 'string') continue;
    if (QUERY_TRUE.includes(v)) request[field] = true;
    else if (QUERY_FALSE.includes(v)) request[field] = false;
  }
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
  if (fromQuery) readQueryBooleans(op, request as Record<string, unknown>);
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
