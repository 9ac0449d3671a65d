// The hub's OpenAPI 3.1 document, generated from its operations table (served at /openapi.json and
// written to schemas/hub-openapi.json by `npm run hub -- openapi`).
import { HTTP_STATUS, type ErrorCode } from '../main/errors.js';
import { HUB_OPERATIONS, type HubOpName, type HubOperationSpec } from './contract.js';

type Json = Record<string, unknown>;

const DOOR_ERRORS: readonly ErrorCode[] = ['USAGE', 'UNAUTHORIZED', 'RATE_LIMITED', 'INPUT_TOO_LARGE', 'INTERNAL'];

function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema), (k, v: unknown) => (k === '$id' ? undefined : v)) as Json;
}

const ErrorEnvelope = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, name: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' }, details: { type: 'object' } } } },
};

function operation(op: HubOpName, spec: HubOperationSpec): Json {
  const params = [...spec.http.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const request = plain(spec.request);
  const props = (request['properties'] ?? {}) as Record<string, Json>;
  const required = new Set((request['required'] ?? []) as string[]);
  const fromQuery = spec.http.method === 'GET' || spec.http.method === 'DELETE';
  const parameters = [
    ...params.map((p) => ({ name: p, in: 'path', required: true, schema: props[p] ?? { type: 'string' } })),
    ...(fromQuery ? Object.entries(props).filter(([k]) => !params.includes(k)).map(([k, s]) => ({ name: k, in: 'query', required: required.has(k), schema: s })) : []),
  ];
  const errors: Record<string, Json> = {};
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...DOOR_ERRORS, ...spec.errors])) byStatus.set(HTTP_STATUS[code], [...(byStatus.get(HTTP_STATUS[code]) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    errors[String(status)] = { description: `error.code is ${codes.join(' or ')}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } };
  }
  const result = plain(spec.response);
  return {
    operationId: op,
    summary: spec.summary,
    ...(spec.access === 'user' ? { security: [{ bearer: [] }] } : { security: [{}, { bearer: [] }] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(!fromQuery ? { requestBody: { required: true, content: { 'application/json': { schema: request } } } } : {}),
    responses: {
      200: { description: spec.bare ? 'the bare token object of the distribution token spec' : '{result}', content: { 'application/json': { schema: spec.bare ? result : { type: 'object', required: ['result'], properties: { result } } } } },
      ...errors,
    },
  };
}

/** The hub's OpenAPI document. */
export function buildHubOpenApi(): Json {
  const paths: Record<string, Json> = {};
  for (const op of Object.keys(HUB_OPERATIONS) as HubOpName[]) {
    const spec: HubOperationSpec = HUB_OPERATIONS[op];
    const at = (paths[spec.http.path] ??= {});
    at[spec.http.method.toLowerCase()] = operation(op, spec);
  }
  paths['/health'] = { get: { operationId: 'health', summary: 'Whether the hub answers', security: [{}], responses: { 200: { description: '{result:{ok:true}}' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'DLHub hub', version: '1', description: 'Accounts, publishing, visibility, the change feed and the registry token service of a DLHub hub. Answers are {result}; errors are {error:{code,message,hint}} with a status by meaning.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } }, schemas: { ErrorEnvelope } },
    paths,
  };
}
