// The OpenAPI 3.1 document of the HTTP API, generated from the operations table: what a client
// generator (openapi-typescript, Perl's OpenAPI::Client, Python's validators) reads.
import { HTTP_STATUS, type ErrorCode } from '../errors.js';
import { OPERATIONS, OP_NAMES, type OperationSpec } from './operations.js';
import { QUERY_FALSE, QUERY_TRUE } from './query.js';
import { BytesWire, ErrorEnvelope, NdArrayWire, ProgressEvent, Value } from './schemas.js';

type Json = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';
const NDJSON = 'application/x-ndjson';
/** Codes any operation may answer with, besides its row's: a bad request, a missing token, a fault. */
const DOOR_ERRORS: readonly ErrorCode[] = ['USAGE', 'UNAUTHORIZED', 'INTERNAL'];

/**
 * A plain JSON copy of a schema whose named parts (those with an `$id`) become components, each kept
 * once in `components` and referenced where it is used; references by id become component references.
 */
function hoisted(schema: unknown, components: Record<string, Json>): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const out: Json = {};
    for (const [k, child] of Object.entries(v as Json)) if (k !== '$id') out[k] = walk(child);
    if (typeof out['$ref'] === 'string' && !out['$ref'].startsWith('#')) out['$ref'] = COMPONENT + out['$ref'];
    const id = (v as Json)['$id'];
    if (typeof id !== 'string') return out;
    components[id] ??= out;
    return { $ref: COMPONENT + id };
  };
  // JSON round trip first: drops TypeBox's symbol keys and `undefined` fields.
  return walk(JSON.parse(JSON.stringify(schema)) as unknown);
}

// Request fields that travel in the path, and for GET/DELETE in the query string.
function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

const envelope = { $ref: `${COMPONENT}ErrorEnvelope` };
// Even the token-free paths refuse a Host or Origin that is not the API's own loopback address.
const placeRefused = { description: 'UNAUTHORIZED: the Host or Origin header is not this API\'s loopback address', content: { 'application/json': { schema: envelope } } };

/** The error answers of one operation: one per HTTP status its codes map to, each naming its codes. */
function errorResponses(op: OperationSpec): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...DOOR_ERRORS, ...op.errors])) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = { description: `a typed error; error.code is ${codes.join(' or ')}`, content: { 'application/json': { schema: envelope } } };
  }
  return out;
}

/** The 200 answer of one operation: `{result}`, or for progress and stream operations NDJSON lines. */
function okResponse(op: OperationSpec, result: unknown): Json {
  const whole = { type: 'object', properties: { result }, required: ['result'], additionalProperties: false };
  const last = [whole, envelope];
  if (op.kind === 'answer') return { description: 'the answer', content: { 'application/json': { schema: whole } } };
  if (op.kind === 'progress') {
    return {
      description: `the answer; with \`Accept: ${NDJSON}\` one JSON object a line instead: {"progress": ProgressEvent} lines as the work goes on, then one {"result"} or {"error"} line`,
      content: {
        'application/json': { schema: whole },
        [NDJSON]: { schema: { description: 'one line', oneOf: [{ type: 'object', properties: { progress: { $ref: `${COMPONENT}ProgressEvent` } }, required: ['progress'], additionalProperties: false }, ...last] } },
      },
    };
  }
  return {
    description: 'one JSON object a line: an {"item"} line per item as it comes, until the caller closes the connection; a last {"result": null} or {"error"} line when the stream ends',
    content: {
      [NDJSON]: {
        schema: {
          description: 'one line',
          oneOf: [{ type: 'object', properties: { item: result }, required: ['item'], additionalProperties: false }, { type: 'object', properties: { result: { type: 'null' } }, required: ['result'], additionalProperties: false }, envelope],
        },
      },
    },
  };
}

function isBooleanSchema(s: unknown): boolean {
  return typeof s === 'object' && s !== null && (s as Json)['type'] === 'boolean';
}

/** The OpenAPI 3.1 document of the HTTP API, generated from the operations table. */
export function buildOpenApi(): Json {
  const components: Record<string, Json> = {};
  for (const named of [NdArrayWire, BytesWire, Value, ErrorEnvelope, ProgressEvent]) hoisted(named, components);
  const paths: Record<string, Record<string, Json>> = {};
  for (const name of OP_NAMES) {
    const op: OperationSpec = OPERATIONS[name];
    const req = hoisted(op.request, components) as Json;
    const props = (req['properties'] ?? {}) as Record<string, Json>;
    const required = new Set((req['required'] ?? []) as string[]);
    const inPath = pathParams(op.http.path);
    const parameters: Json[] = inPath.map((p) => ({ name: p, in: 'path', required: true, schema: props[p] ?? { type: 'string' } }));
    const body: Json = { ...req, properties: { ...props }, required: [...required].filter((r) => !inPath.includes(r)) };
    for (const p of inPath) delete (body['properties'] as Json)[p];
    const bodyless = op.http.method !== 'POST';
    if (bodyless) {
      for (const [field, schema] of Object.entries(body['properties'] as Json)) {
        const flag = isBooleanSchema(schema) ? { description: `a boolean: ${QUERY_TRUE.join(', ')} or ${QUERY_FALSE.join(', ')}` } : {};
        parameters.push({ name: field, in: 'query', required: required.has(field), schema, ...flag });
      }
    }
    if ((body['required'] as string[]).length === 0) delete body['required'];
    const operation: Json = {
      operationId: name,
      summary: op.summary,
      'x-dlhub-kind': op.kind,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(bodyless ? {} : { requestBody: { required: true, content: { 'application/json': { schema: body } } } }),
      responses: {
        200: okResponse(op, hoisted(op.response, components)),
        ...errorResponses(op),
        default: { description: 'another typed error (e.g. SERVICE_UNAVAILABLE while the service stops)', content: { 'application/json': { schema: envelope } } },
      },
    };
    (paths[op.http.path] ??= {})[op.http.method.toLowerCase()] = operation;
  }
  paths['/health'] = {
    get: {
      operationId: 'health',
      summary: 'Is the service up (no token needed)',
      security: [],
      responses: {
        401: placeRefused,
        200: {
          description: 'the service answers',
          content: { 'application/json': { schema: { type: 'object', properties: { result: { type: 'object', properties: { ok: { const: true }, pid: { type: 'integer' } }, required: ['ok', 'pid'] } }, required: ['result'] } } },
        },
      },
    },
  };
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document (no token needed)',
      security: [],
      responses: { 200: { description: 'the OpenAPI document', content: { 'application/json': { schema: { type: 'object' } } } }, 401: placeRefused },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'DLHub Desktop local API',
      version: '1',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description: [
        'Served by `dlhub serve --http 127.0.0.1:PORT` on loopback only. Every call but GET /health and GET /openapi.json needs',
        '`Authorization: Bearer <token>` (the scheme name in any case), the token being created at each start in $DLHUB_HOME/run/api-token (mode 0600).',
        'The Host header must name the loopback address and port; a browser Origin other than that address is refused.',
        'Values (the Value schema): JSON travels as itself; bytes as {"$bytes": "<base64>"} (Bytes); n-dimensional arrays as',
        '{"$ndarray": {"dtype": "float32", "shape": [2, 2], "data": "<base64 of little-endian C-order elements>"}} (NdArray).',
        'An object whose only key is $bytes or $ndarray is reserved for these. Answers are {"result": …}; errors are',
        `{"error": {code, name, message, hint, details}} with the HTTP status of the code: ${Object.entries(HTTP_STATUS).map(([c, n]) => `${c} ${n}`).join(', ')}.`,
        'An unknown path answers 404 NOT_FOUND; a known path asked with another method answers 405 METHOD_NOT_ALLOWED with an Allow header.',
        `Query-string booleans accept ${QUERY_TRUE.join(', ')} and ${QUERY_FALSE.join(', ')}.`,
        `Operations of kind "progress" (x-dlhub-kind) answer once, or with \`Accept: ${NDJSON}\` send their progress events first, one JSON object a line;`,
        `operations of kind "stream" always answer in ${NDJSON} lines.`,
      ].join(' '),
    },
    servers: [{ url: 'http://127.0.0.1:{port}', variables: { port: { default: '8765' } } }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
    security: [{ bearer: [] }],
    paths,
  };
}
