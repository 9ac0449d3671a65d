// What a client generator needs from the OpenAPI document: named value components, every error
// status of an operation declared, the token-free paths, NDJSON answers said as such, and no
// reference that leads nowhere.
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';
import { OPERATIONS, OP_NAMES, buildOpenApi } from '../../../main/contract/index.js';
import { HTTP_STATUS } from '../../../main/errors.js';

type Json = Record<string, unknown>;
const doc = buildOpenApi() as { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };
const opOf = (name: (typeof OP_NAMES)[number]): Json => doc.paths[OPERATIONS[name].http.path]?.[OPERATIONS[name].http.method.toLowerCase()] as Json;
const responses = (name: (typeof OP_NAMES)[number]): Record<string, Json> => opOf(name)['responses'] as Record<string, Json>;

function walk(v: unknown, visit: (o: Json) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, visit);
  else if (typeof v === 'object' && v !== null) {
    visit(v as Json);
    for (const x of Object.values(v)) walk(x, visit);
  }
}

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 with nothing a linter\'s recommended rules warn about', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`)).toEqual([]);
  }, 60_000);

  it('names NdArray, Bytes and Value as components, and values reference them', () => {
    const { NdArray, Bytes, Value } = doc.components.schemas;
    expect(NdArray?.['properties']).toHaveProperty('$ndarray');
    expect(Bytes?.['properties']).toHaveProperty('$bytes');
    expect(JSON.stringify(Value)).toContain('#/components/schemas/NdArray');
    expect(JSON.stringify(Value)).toContain('#/components/schemas/Bytes');
    expect(doc.components.schemas['RunOutcome']?.['properties']).toMatchObject({ output: { $ref: '#/components/schemas/Value' } });
    const body = (opOf('runServable')['requestBody'] as { content: Record<string, { schema: Json }> }).content['application/json']?.schema;
    expect(body?.['properties']).toMatchObject({ input: { $ref: '#/components/schemas/Value' } });
  });

  it('has no $id left and every $ref names a component that exists', () => {
    const refs = new Set<string>();
    walk(doc, (o) => {
      expect(o).not.toHaveProperty('$id');
      if (typeof o['$ref'] === 'string') refs.add(o['$ref']);
    });
    expect(refs.size).toBeGreaterThan(3);
    for (const ref of refs) expect(Object.keys(doc.components.schemas).map((k) => `#/components/schemas/${k}`)).toContain(ref);
  });

  it('declares each operation\'s error statuses with the error schema, each code once', () => {
    for (const name of OP_NAMES) {
      const row = OPERATIONS[name];
      expect(new Set(row.errors).size, `${name} lists a code twice`).toBe(row.errors.length);
      const codes = [...new Set(['USAGE', 'UNAUTHORIZED', 'INTERNAL', ...row.errors])] as (keyof typeof HTTP_STATUS)[];
      for (const code of codes) {
        const declared = responses(name)[String(HTTP_STATUS[code])];
        expect(declared, `${name} ${code}`).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } });
        expect(declared?.['description'], `${name} ${code}`).toContain(code);
      }
    }
    expect(responses('getResult')['504']?.['description']).toMatch(/^[^]*TIMEOUT(?![^]*TIMEOUT)/);
  });

  it('lists /health and /openapi.json, which need no token', () => {
    for (const path of ['/health', '/openapi.json']) expect(doc.paths[path]?.['get']).toMatchObject({ security: [], responses: { 200: {} } });
  });

  it('says progress and stream operations answer in NDJSON lines', () => {
    for (const name of OP_NAMES) {
      const content = (responses(name)['200'] as { content: Record<string, unknown> }).content;
      const kind = OPERATIONS[name].kind as string;
      if (kind === 'answer') expect(Object.keys(content), name).toEqual(['application/json']);
      if (kind === 'progress') expect(Object.keys(content).sort(), name).toEqual(['application/json', 'application/x-ndjson']);
      if (kind === 'stream') expect(Object.keys(content), name).toEqual(['application/x-ndjson']);
    }
    expect(OP_NAMES.some((n) => (OPERATIONS[n].kind as string) === 'progress')).toBe(true);
  });

  it('says which spellings a query boolean accepts', () => {
    const params = opOf('searchCatalog')['parameters'] as { name: string; schema: Json; description?: string }[];
    const flag = params.find((p) => p.name === 'allVersions');
    expect(flag?.schema).toMatchObject({ type: 'boolean' });
    expect(flag?.description).toMatch(/True.*1.*False.*0|True, TRUE, 1/);
  });
});
