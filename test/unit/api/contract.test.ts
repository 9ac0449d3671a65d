// The contract is data: the OpenAPI document is generated from it, requests are validated from it,
// and it can be imported without engine code.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATIONS, OP_NAMES, buildOpenApi } from '../../../main/contract/index.js';
import { validateRequest } from '../../../main/api/validate.js';
import { UsageError } from '../../../main/errors.js';

describe('operations table', () => {
  it('schemas/openapi.json is the document generated from the table (run `npm run gen:openapi` when this fails)', () => {
    const checkedIn = JSON.parse(readFileSync(resolve('schemas/openapi.json'), 'utf8')) as unknown;
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('main/api/generated/ holds the routes and validators compiled from the table (run `npm run gen:openapi` when this fails)', async () => {
    const { generatedContractFiles } = await import('../../../main/api/gen-contract.js');
    for (const [rel, text] of Object.entries(generatedContractFiles())) expect(readFileSync(resolve(rel), 'utf8'), rel).toBe(text);
  });

  it('has every operation of the CLI, the tasks and the batches, each with one distinct HTTP route', () => {
    for (const op of ['initServable', 'buildServable', 'runServable', 'describeServable', 'listServables', 'removeServable', 'cacheStats', 'cacheClear', 'searchCatalog', 'exportCatalog', 'importCatalog', 'submitTask', 'getTask', 'getResult', 'cancelTask', 'listTasks', 'status', 'batchRun', 'getBatchResult']) {
      expect(OP_NAMES).toContain(op);
    }
    const routes = OP_NAMES.map((n) => `${OPERATIONS[n].http.method} ${OPERATIONS[n].http.path}`);
    expect(new Set(routes).size).toBe(routes.length);
    const doc = buildOpenApi() as { paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.paths['/v1/servables/{name}/run']?.['post']?.operationId).toBe('runServable');
    expect(doc.paths['/v1/tasks/{id}/result']?.['get']?.operationId).toBe('getResult');
  });

  it('the contract module imports no engine, runtime or storage code', async () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // Type-only imports vanish at run time; only value imports count.
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*from\s+'([^']+)'/gm)) {
        const spec = m[1] as string;
        if (!spec.startsWith('.')) continue;
        visit(resolve(file, '..', spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(resolve('main/contract/index.ts'));
    const outside = [...seen].filter((f) => !f.includes('/main/contract/') && !f.endsWith('/main/errors.ts'));
    expect(seen.size).toBeGreaterThan(3);
    expect(outside).toEqual([]);
  });
});

describe('request validation', () => {
  const bad = (op: Parameters<typeof validateRequest>[0], req: unknown): UsageError => {
    try {
      validateRequest(op, req);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return err as UsageError;
    }
    throw new Error(`accepted ${JSON.stringify(req)}`);
  };

  it('refuses null, arrays and non-array inputs with a USAGE error naming the field', () => {
    expect(bad('runServable', null).message).toMatch(/send a JSON object/);
    expect(bad('runServable', [1, 2]).message).toMatch(/send a JSON object/);
    expect(bad('runServable', { name: 'noop', inputs: 5 }).message).toMatch(/^inputs must be array/);
    expect(bad('runServable', { name: 'noop', input: 1, inputs: [1] }).message).toMatch(/not both/);
    expect(bad('runServable', { input: 1 }).message).toMatch(/name is required/);
    expect(bad('runServable', { name: 'noop', noCache: 'yes' }).message).toMatch(/^noCache must be boolean/);
    expect(bad('runServable', { name: 'noop', bogus: 1 }).message).toMatch(/bogus is not a field of runServable/);
    expect(bad('searchCatalog', { query: 'x', pageSize: 0 }).message).toMatch(/^pageSize must be >= 1/);
    expect(bad('batchRun', { tasks: [{ name: 'a', inputs: {} }] }).message).toMatch(/^tasks\.0\.inputs must be array/);
    expect(bad('runServable', { name: 'noop', inputs: 5 }).code).toBe('USAGE');
  });

  it('accepts what the CLI sends, undefined fields included', () => {
    expect(validateRequest('runServable', { name: 'noop', input: null, method: undefined, noCache: false })).toMatchObject({ name: 'noop' });
    expect(validateRequest('listServables', {})).toEqual({});
  });

  it('coerces text from query strings to the schema types', () => {
    expect(validateRequest('searchCatalog', { query: 'x', page: '2', advanced: 'true' }, true)).toEqual({ query: 'x', page: 2, advanced: true });
  });

  it('reads True/1 and False/0 as booleans in a query string, as Python and Perl send them', () => {
    for (const [text, flag] of [['True', true], ['1', true], ['TRUE', true], ['False', false], ['0', false], ['false', false]] as const) {
      expect(validateRequest('searchCatalog', { query: 'x', allVersions: text }, true)).toEqual({ query: 'x', allVersions: flag });
    }
    expect(bad('searchCatalog', { query: 'x', allVersions: 'yes' }).code).toBe('USAGE');
  });
});

describe('runtime names', () => {
  it('requests name a runtime from the one list, RUNTIME_NAMES', async () => {
    const { RUNTIME_NAMES, RunRequest } = await import('../../../main/contract/index.js');
    const runtime = JSON.parse(JSON.stringify(RunRequest.properties.runtime)) as { anyOf: { const: string }[] };
    expect(runtime.anyOf.map((s) => s.const)).toEqual([...RUNTIME_NAMES]);
  });
});
