import { HTTP_STATUS } from '../errors.js';
import { OPERATIONS, OP_NAMES } from './operations.js';
import { ErrorEnvelope, ProgressEvent } from './schemas.js';

type Json = Record<string, unknown>;

/** Copy a TypeBox schema as plain JSON (drops TypeBox's symbol keys; `undefined` fields vanish). */
function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

// Request fields that travel in the path, and for GET/DELETE in the query string.
function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

/** The OpenAPI 3.1 document of the HTTP API, generated from the operations table. */
export function buildOpenApi(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const name of OP_NAMES) {
    const op = OPERATIONS[name];
    const req = plain(op.request);
    const props = (req['properties'] ?? {}) as Record<string, Json>;
    const required = new Set((req['required'] ?? []) as string[]);
    const inPath = pathParams(op.http.path);
    const parameters: Json[] = inPath.map((p) => ({ name: p, in: 'path', required: true, schema: props[p] ?? { type: 'string' } }));
    const body: Json = { ...req, properties: { ...props }, required: [...required].filter((r) => !inPath.includes(r)) };
    for (const p of inPath) delete (body['properties'] as Json)[p];
    const bodyless = op.http.method !== 'POST';
    if (bodyless) {
      for (const [field, schema] of Object.entries(body['properties'] as Json)) {
        parameters.push({ name: field, in: 'query', required: required.has(field), schema });
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
        200: { description: 'the answer', content: { 'application/json': { schema: { type: 'object', properties: { result: plain(op.response) }, required: ['result'] } } } },
        default: {
          description: `a typed error; codes: ${['USAGE', 'UNAUTHORIZED', 'INTERNAL', ...op.errors].join(', ')}`,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
        },
      },
    };
    (paths[op.http.path] ??= {})[op.http.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'DLHub Desktop local API',
      version: '1',
      description: [
        'Served by `dlhub serve --http 127.0.0.1:PORT` on loopback only. Every call but GET /openapi.json needs',
        '`Authorization: Bearer <token>`, the token being created at each start in $DLHUB_HOME/run/api-token (mode 0600).',
        'The Host header must name the loopback address and port; a browser Origin other than that address is refused.',
        'Values: JSON travels as itself; bytes as {"$bytes": "<base64>"}; n-dimensional arrays as',
        '{"$ndarray": {"dtype": "float32", "shape": [2, 2], "data": "<base64 of little-endian C-order elements>"}}.',
        'An object whose only key is $bytes or $ndarray is reserved for these. Answers are {"result": …}; errors are',
        `{"error": {code, name, message, hint, details}} with the HTTP status of the code: ${Object.entries(HTTP_STATUS).map(([c, n]) => `${c} ${n}`).join(', ')}.`,
        'Operations of kind "progress" answer once over HTTP (their progress events exist on in-process doors only).',
      ].join(' '),
    },
    servers: [{ url: 'http://127.0.0.1:{port}', variables: { port: { default: '8765' } } }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { ErrorEnvelope: plain(ErrorEnvelope), ProgressEvent: plain(ProgressEvent) },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
